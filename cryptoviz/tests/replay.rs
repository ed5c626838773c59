//! `cryptoviz replay`, black box: a replay into an empty store rebuilds exactly what the live
//! consumers wrote, a second replay changes nothing, and a time-bounded replay recomputes its
//! hours without disturbing the rest (whole-hour alignment, indicator warm-up).

mod common;

use std::path::Path;
use std::process::Output;

use common::*;
use cryptoviz_store::{EmbeddedStore, EmbeddedStoreConfig};
use datafusion::arrow::compute::concat_batches;

/// 10,000 s of history for 20 coins: 2 h 47 min from 2026-01-01T00:00:00Z.
const TICKS: &str = "200000";

const TABLES: [&str; 4] = [
    "SELECT * FROM crypto_market ORDER BY crypto_id, source, time",
    "SELECT * FROM crypto_analytics ORDER BY crypto_id, source, \"window\", time",
    "SELECT * FROM crypto_anomalies ORDER BY crypto_id, kind, source, time",
    "SELECT * FROM crypto_coin_info ORDER BY crypto_id, source, time",
];

fn run(dir: &Path, args: &[&str]) -> Output {
    let out = cryptoviz(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "cryptoviz {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every row of `sql` on the data directory's store, formatted (empty if the table is absent).
fn rows(dir: &Path, sql: &str) -> Vec<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = EmbeddedStore::open(EmbeddedStoreConfig::new(dir.join("store"))).unwrap();
        let Ok(batches) = store.sql(sql).await else {
            return Vec::new();
        };
        let Some(first) = batches.first() else {
            return Vec::new();
        };
        format_rows(&concat_batches(&first.schema(), &batches).unwrap())
    })
}

fn snapshot(dir: &Path) -> Vec<Vec<String>> {
    TABLES.iter().map(|sql| rows(dir, sql)).collect()
}

fn assert_same(expected: &[Vec<String>], actual: &[Vec<String>], what: &str) {
    for ((sql, e), a) in TABLES.iter().zip(expected).zip(actual) {
        if e != a {
            let missing: Vec<_> = e.iter().filter(|r| !a.contains(r)).take(5).collect();
            let extra: Vec<_> = a.iter().filter(|r| !e.contains(r)).take(5).collect();
            panic!(
                "{what}: {sql}: {} rows expected, {} found\nmissing: {missing:#?}\nextra: {extra:#?}",
                e.len(),
                a.len()
            );
        }
    }
}

#[test]
fn replay_rebuilds_the_store_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), &["produce", "--simulate", "--ticks", TICKS]);
    run(dir.path(), &["consume", "--exit-when-idle", "1s"]);
    let live = snapshot(dir.path());
    assert_eq!(live[0].len(), 200_000, "every tick stored");
    assert!(live[1].len() > 1_000, "windows stored");

    // A new store, filled from the log alone.
    std::fs::remove_dir_all(dir.path().join("store")).unwrap();
    let out = run(dir.path(), &["replay", "--from", "beginning"]);
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("200,000 ticks"), "summary: {summary}");
    let rebuilt = snapshot(dir.path());
    assert_same(&live, &rebuilt, "replay into an empty store");

    // Twice: nothing changes.
    run(dir.path(), &["replay", "--from", "beginning"]);
    assert_same(&live, &snapshot(dir.path()), "second replay");

    // One hour recomputed in place (the bounds align to 01:00 and 02:00): the windows of
    // that hour are written again with the same values, indicators included, and no window
    // at the edges is replaced by a partial one.
    let out = run(
        dir.path(),
        &[
            "replay",
            "--topic",
            "crypto-prices",
            "--from",
            "2026-01-01T01:20:00Z",
            "--to",
            "2026-01-01T01:40:00Z",
        ],
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("72,000 records in range"),
        "one hour of 20 coins at 1 tick/s: {summary}"
    );
    let after = snapshot(dir.path());
    assert_same(&live[..2], &after[..2], "time-bounded replay");
    // The coin fundamentals resume from those stored before the bounds: no point is added.
    assert!(!live[3].is_empty(), "fundamentals stored");
    assert_eq!(live[3], after[3], "time-bounded replay: crypto_coin_info");
}

#[test]
fn bad_bounds_are_refused_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = cryptoviz(dir.path())
        .args(["replay", "--from", "yesterday"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--from") && err.contains("yesterday"), "{err}");

    let out = cryptoviz(dir.path())
        .args(["replay", "--from", "beginning", "--topic", "crypto-nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--topic") && err.contains("crypto-nope"),
        "{err}"
    );
}
