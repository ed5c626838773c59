//! A real `influxd` (1.x) for the tests, started on free ports with its own config and data
//! in a temp dir, and killed (by its PID) when dropped. It is looked up at `$INFLUXD`, then
//! `/usr/bin/influxd`; without it the caller gets `None` after a note saying the test is
//! skipped (`CRYPTOVIZ_REQUIRE_TEST_SERVERS` turns that into a failure).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `influxd`, killed (by its PID) when dropped.
pub(crate) struct Influxd {
    child: Child,
    pub(crate) url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Influxd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

fn influxd_binary() -> Option<PathBuf> {
    let p = std::env::var_os("INFLUXD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/influxd"));
    p.exists().then_some(p)
}

/// Starts `influxd` with its own config, data and ports; `None` (after a note) if absent.
/// `data_extra` and `http_extra` are extra lines of those sections of its config.
pub(crate) async fn start_influxd(data_extra: &str, http_extra: &str) -> Option<Influxd> {
    let Some(bin) = influxd_binary() else {
        assert!(
            std::env::var_os("CRYPTOVIZ_REQUIRE_TEST_SERVERS").is_none(),
            "influxd is required here (scripts/tools/install-influxdb.sh) but not installed"
        );
        println!("skipping: influxd not installed (scripts/tools/install-influxdb.sh installs it)");
        return None;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let (http, rpc) = (free_port(), free_port());
    let d = dir.path().display();
    let config = format!(
        r#"reporting-disabled = true
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{d}/meta"
[data]
  dir = "{d}/data"
  wal-dir = "{d}/wal"
  query-log-enabled = false
{data_extra}
[http]
  bind-address = "127.0.0.1:{http}"
  log-enabled = false
{http_extra}
[monitor]
  store-enabled = false
"#
    );
    let config_path = dir.path().join("influxdb.conf");
    std::fs::write(&config_path, config).expect("write config");
    let log = std::fs::File::create(dir.path().join("influxd.log")).expect("log file");
    let child = Command::new(&bin)
        .arg("-config")
        .arg(&config_path)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn influxd");
    let server = Influxd {
        child,
        url: format!("http://127.0.0.1:{http}"),
        _dir: dir,
    };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{}/ping", server.url)).send().await
            && r.status().as_u16() == 204
        {
            return Some(server);
        }
        assert!(
            Instant::now() < deadline,
            "influxd did not answer /ping in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
