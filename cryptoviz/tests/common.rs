//! Helpers for the black-box tests: start the real binary, talk HTTP to it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_cryptoviz");

/// A free port on 127.0.0.1.
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// `cryptoviz` with a clean environment for config and logs.
pub(crate) fn cryptoviz(data_dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data-dir")
        .arg(data_dir)
        .env_remove("CRYPTOVIZ_CONFIG")
        .env("CRYPTOVIZ_LOG", "warn")
        .stdin(Stdio::null());
    for (key, _) in std::env::vars() {
        if key.starts_with("CRYPTOVIZ__") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// `cryptoviz run` with `config` on a free port (no upstream API keys from the environment):
/// the running child and the API's base URL.
pub(crate) fn run_with_config(data_dir: &Path, config: &Path) -> (Running, String) {
    let port = free_port();
    let child = cryptoviz(data_dir)
        .arg("--config")
        .arg(config)
        .args(["run", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env_remove("COINGECKO_API_KEY")
        .env_remove("COINMARKETCAP_API_KEY")
        .spawn()
        .expect("start cryptoviz");
    (Running(child), format!("http://127.0.0.1:{port}"))
}

/// A child process killed (SIGKILL) when dropped, so a failing test leaves nothing behind.
pub(crate) struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    /// Sends SIGTERM and waits for the exit status.
    pub(crate) fn terminate(mut self, within: Duration) -> std::process::ExitStatus {
        let pid = self.0.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.0.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "process did not stop within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// GET `url` as JSON, `None` while the server is not answering.
pub(crate) fn get_json(
    client: &reqwest::blocking::Client,
    url: &str,
) -> Option<(u16, serde_json::Value)> {
    let response = client.get(url).send().ok()?;
    let status = response.status().as_u16();
    Some((status, response.json().ok()?))
}

/// Polls `check` every 20 ms until it returns `Some` or `within` passes.
pub(crate) fn wait_for<T>(within: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every row of `batch`, its values formatted and joined with `|` (for comparing tables).
pub(crate) fn format_rows(batch: &datafusion::arrow::record_batch::RecordBatch) -> Vec<String> {
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let options = FormatOptions::default();
    let formatters: Vec<_> = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
        .collect();
    (0..batch.num_rows())
        .map(|i| {
            formatters
                .iter()
                .map(|f| f.value(i).to_string())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

/// Serves `routes` (path prefix → body) on 127.0.0.1:0 from a background thread; anything
/// else is a 404.
pub(crate) fn serve(routes: Vec<(&'static str, Vec<u8>)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).map_or(true, |n| n == 0) || line == "\r\n" {
                    break;
                }
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("/");
            let (status, body) = routes
                .iter()
                .find(|(prefix, _)| path.starts_with(prefix))
                .map_or((404, b"not found".to_vec()), |(_, b)| (200, b.clone()));
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    url
}
