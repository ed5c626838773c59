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

use cryptoviz_log::{
    Bytes, ConsumedRecord, EmbeddedLog, EmbeddedLogConfig, Log, LogConsumer, Record,
};

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

/// Creates topic `t` with one partition and appends `values` (key `BTC`) in batches of
/// `batch`.
pub async fn append_values(log: &EmbeddedLog, values: &[String], batch: usize) {
    log.ensure_topic("t", 1).await.unwrap();
    for chunk in values.chunks(batch) {
        let recs = chunk
            .iter()
            .map(|v| rec(Some("BTC"), v.clone(), 1))
            .collect();
        log.append("t", recs).await.unwrap();
    }
}

/// Reads `n` records from topic `t` through a fresh consumer of `group`, then checks that
/// nothing more arrives within `quiet`.
pub async fn read_exactly(
    log: &EmbeddedLog,
    group: &str,
    n: usize,
    quiet: Duration,
) -> Vec<ConsumedRecord> {
    let mut c = log.subscribe(group, &["t"]).await.unwrap();
    let got = poll_n(&mut c, n).await;
    assert!(c.poll(10, quiet).await.unwrap().is_empty());
    got
}

pub fn values(rs: &[ConsumedRecord]) -> Vec<String> {
    rs.iter()
        .map(|r| String::from_utf8(r.value.to_vec()).unwrap())
        .collect()
}
