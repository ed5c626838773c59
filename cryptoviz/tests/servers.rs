//! The real servers of the distributed mode for the black-box tests: tansu (a Kafka-protocol
//! broker) and influxd 1.x, each on free 127.0.0.1 ports and killed by PID when dropped.
//! Without them the tests skip with a note, unless `CRYPTOVIZ_REQUIRE_TEST_SERVERS` is set
//! (the test script sets it after installing both).

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

/// A missing server: a failure where servers are required, else a note (the test skips).
fn missing(what: &str, install: &str) {
    assert!(
        std::env::var_os("CRYPTOVIZ_REQUIRE_TEST_SERVERS").is_none(),
        "{what} is required here ({install}) but not installed"
    );
    println!("skipping: {what} not installed ({install})");
}

/// A tansu broker with in-memory storage.
pub(crate) struct Tansu {
    child: Child,
    /// `127.0.0.1:port`.
    pub bootstrap: String,
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Tansu {
    pub(crate) fn start() -> Option<Tansu> {
        let bin = std::env::var_os("TANSU")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tools/tansu")
            });
        if !bin.exists() {
            missing("tansu", "scripts/tools/install-tansu.sh");
            return None;
        }
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(&bin)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        let tansu = Tansu {
            child,
            bootstrap: format!("127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !Command::new(&bin)
            .args(["topic", "list", "--broker", &url])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            assert!(Instant::now() < deadline, "tansu did not come up on {url}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(tansu)
    }
}

/// An influxd 1.x with its own config, data directory and ports.
pub(crate) struct Influxd {
    child: Option<Child>,
    bin: PathBuf,
    dir: tempfile::TempDir,
    /// `http://127.0.0.1:port`.
    pub url: String,
}

impl Drop for Influxd {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Influxd {
    pub(crate) fn start() -> Option<Influxd> {
        let bin = std::env::var_os("INFLUXD")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/influxd"));
        if !bin.exists() {
            missing("influxd", "scripts/tools/install-influxdb.sh");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let (http, rpc) = (free_port(), free_port());
        let d = dir.path().display();
        let config = format!(
            "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n\
             [meta]\n  dir = \"{d}/meta\"\n\
             [data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n\
             [http]\n  bind-address = \"127.0.0.1:{http}\"\n  log-enabled = false\n\
             [monitor]\n  store-enabled = false\n"
        );
        std::fs::write(dir.path().join("influxdb.conf"), config).expect("write config");
        let mut server = Influxd {
            child: None,
            bin,
            dir,
            url: format!("http://127.0.0.1:{http}"),
        };
        server.restart();
        Some(server)
    }

    /// Kills the server (SIGKILL, by PID).
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same data and ports, and waits for `/ping`.
    pub(crate) fn restart(&mut self) {
        self.kill();
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join("influxd.log"))
            .expect("log file");
        self.child = Some(
            Command::new(&self.bin)
                .arg("-config")
                .arg(self.dir.path().join("influxdb.conf"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("spawn influxd"),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.ping() {
            assert!(
                Instant::now() < deadline,
                "influxd did not answer /ping in 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn ping(&self) -> bool {
        reqwest::blocking::get(format!("{}/ping", self.url))
            .is_ok_and(|r| r.status().as_u16() == 204)
    }

    /// The rows of an InfluxQL query as (tags, columns, values) per series.
    pub(crate) fn query(&self, db: &str, q: &str) -> Vec<serde_json::Value> {
        let body: serde_json::Value = reqwest::blocking::Client::new()
            .post(format!("{}/query", self.url))
            .query(&[("db", db), ("epoch", "ms")])
            .form(&[("q", q)])
            .send()
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("{q}: {e}"));
        let error = &body["results"][0]["error"];
        if error
            .as_str()
            .is_some_and(|e| e.starts_with("database not found"))
        {
            return Vec::new(); // nothing written yet
        }
        assert!(error.is_null(), "{q}: {body}");
        body["results"][0]["series"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// `SELECT count(field) FROM measurement`.
    pub(crate) fn count(&self, db: &str, measurement: &str, field: &str) -> u64 {
        self.query(
            db,
            &format!("SELECT count(\"{field}\") FROM \"{measurement}\""),
        )
        .first()
        .and_then(|s| s["values"][0][1].as_u64())
        .unwrap_or(0)
    }

    /// The data directory (for logs on failure).
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }
}
