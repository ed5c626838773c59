//! `kill -9` while consuming, restart: the store ends up equal to an uninterrupted run.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use cryptoviz_store::{EmbeddedStore, EmbeddedStoreConfig};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::record_batch::RecordBatch;

const TICKS: &str = "200000";

/// Small flushes so that the consumer commits many times and a kill lands mid-stream.
fn slow_consumer(cmd: &mut std::process::Command) -> &mut std::process::Command {
    cmd.env("CRYPTOVIZ__CONSUMER__FLUSH_ROWS", "2000")
        .env("CRYPTOVIZ__CONSUMER__POLL_MAX", "1000")
}

fn produce(dir: &Path) {
    let status = cryptoviz(dir)
        .args(["produce", "--simulate", "--ticks", TICKS])
        .status()
        .unwrap();
    assert!(status.success());
}

fn consume_to_the_end(dir: &Path) {
    let status = slow_consumer(&mut cryptoviz(dir))
        .args(["consume", "--exit-when-idle", "1s"])
        .status()
        .unwrap();
    assert!(status.success());
}

async fn table(dir: &Path, sql: &str) -> RecordBatch {
    let store = EmbeddedStore::open(EmbeddedStoreConfig::new(dir.join("store"))).unwrap();
    let batches = store.sql(sql).await.unwrap();
    let schema = batches[0].schema();
    concat_batches(&schema, &batches).unwrap()
}

#[test]
fn kill_9_mid_stream_loses_and_doubles_nothing() {
    let clean = tempfile::tempdir().unwrap();
    let crashed = tempfile::tempdir().unwrap();
    produce(clean.path());
    produce(crashed.path());

    consume_to_the_end(clean.path());

    // Start consuming, wait for the first commits, then kill -9.
    let child = slow_consumer(&mut cryptoviz(crashed.path()))
        .arg("consume")
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let groups = crashed.path().join("log").join("groups");
    let committed = wait_for(Duration::from_secs(30), || {
        std::fs::read_dir(&groups)
            .ok()
            .and_then(|mut d| d.next())
            .map(|_| ())
    });
    assert!(committed.is_some(), "the consumer never committed");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        running.0.try_wait().unwrap().is_none(),
        "the consumer must still be running when killed"
    );
    running.0.kill().unwrap(); // SIGKILL
    running.0.wait().unwrap();
    drop(running);

    consume_to_the_end(crashed.path());

    let rt = tokio::runtime::Runtime::new().unwrap();
    for sql in [
        "SELECT * FROM crypto_market ORDER BY crypto_id, source, time",
        "SELECT * FROM crypto_analytics ORDER BY crypto_id, source, \"window\", time",
    ] {
        let expected = rt.block_on(table(clean.path(), sql));
        let actual = rt.block_on(table(crashed.path(), sql));
        if expected.num_rows() != actual.num_rows() {
            let keys =
                "SELECT crypto_id, CAST(time AS VARCHAR) AS t, status, count FROM crypto_analytics";
            let a = format_rows(&rt.block_on(table(clean.path(), keys)));
            let b = format_rows(&rt.block_on(table(crashed.path(), keys)));
            let missing: Vec<_> = a.iter().filter(|r| !b.contains(r)).collect();
            let extra: Vec<_> = b.iter().filter(|r| !a.contains(r)).collect();
            eprintln!(
                "missing {}: {:?}",
                missing.len(),
                &missing[..missing.len().min(40)]
            );
            eprintln!("extra {}: {:?}", extra.len(), &extra[..extra.len().min(40)]);
        }
        assert!(expected.num_rows() > 0, "{sql}: nothing stored");
        assert_eq!(
            expected.num_rows(),
            actual.num_rows(),
            "{sql}: row counts differ"
        );
        assert!(
            expected == actual,
            "{sql}: stored rows differ after kill -9 and restart"
        );
    }
    let market = rt.block_on(table(
        clean.path(),
        "SELECT count(*) AS n FROM crypto_market",
    ));
    let n = market
        .column(0)
        .as_any()
        .downcast_ref::<datafusion::arrow::array::Int64Array>()
        .unwrap()
        .value(0);
    assert_eq!(n, TICKS.parse::<i64>().unwrap());
}
