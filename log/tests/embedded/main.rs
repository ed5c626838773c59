//! Black-box tests of the embedded backend on temp directories.

mod basics;
mod crash;
mod diskfull;
mod groups;
mod recovery;
mod retention;
mod throughput;

use std::sync::Arc;
use std::time::Duration;

use cryptoviz_log::{Bytes, ConsumedRecord, EmbeddedLog, EmbeddedLogConfig, LogConsumer, Record};

pub fn config(dir: &std::path::Path) -> EmbeddedLogConfig {
    EmbeddedLogConfig::new(dir)
}

pub fn open(dir: &std::path::Path) -> Arc<EmbeddedLog> {
    EmbeddedLog::open(config(dir)).unwrap()
}

pub fn rec(key: Option<&str>, value: impl Into<String>, ts: i64) -> Record {
    Record {
        key: key.map(|k| Bytes::copy_from_slice(k.as_bytes())),
        value: Bytes::from(value.into()),
        timestamp_ms: ts,
    }
}

/// Polls until `n` records arrived (or panics after a generous deadline).
pub async fn poll_n(c: &mut Box<dyn LogConsumer>, n: usize) -> Vec<ConsumedRecord> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while out.len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {n} records",
            out.len()
        );
        out.extend(
            c.poll(n - out.len(), Duration::from_millis(200))
                .await
                .unwrap(),
        );
    }
    out
}

pub fn values(rs: &[ConsumedRecord]) -> Vec<String> {
    rs.iter()
        .map(|r| String::from_utf8(r.value.to_vec()).unwrap())
        .collect()
}
