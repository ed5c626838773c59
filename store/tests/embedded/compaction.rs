//! Compaction, crash leftovers and throughput.

use std::time::Instant;

use cryptoviz_store::{EmbeddedStore, Query, Store};

use crate::support::*;

async fn write_overlapping(store: &EmbeddedStore, rounds: i64) {
    for r in 0..rounds {
        // Each round rewrites minute r-1 (an overwrite) and adds minute r.
        let mut rows = vec![
            ("btc", T0 + r * MIN, r as f64),
            ("eth", T0 + r * MIN, 100.0 + r as f64),
        ];
        if r > 0 {
            rows.push(("btc", T0 + (r - 1) * MIN, 1000.0 + r as f64));
        }
        store.write(vec![prices(&rows)]).await.unwrap();
    }
}

#[tokio::test]
async fn compaction_keeps_results_identical() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    write_overlapping(&store, 12).await;
    assert_eq!(store.file_count("prices"), 12);
    let all = Query::new("prices");
    let before = render(&store.query(&all).await.unwrap());
    assert_eq!(before.len(), 24);
    let last_before = render(&store.last("prices", &[]).await.unwrap());

    assert_eq!(store.compact().await.unwrap(), 1);
    assert_eq!(store.file_count("prices"), 1);
    assert_eq!(render(&store.query(&all).await.unwrap()), before);

    // An overwrite after compaction still wins, before and after the next compaction and
    // after reopening.
    store
        .write(vec![prices(&[("eth", T0, -1.0)])])
        .await
        .unwrap();
    let eth0 = Query::new("prices")
        .tag("crypto_id", "eth")
        .range(T0, T0 + 1);
    assert_eq!(
        f64s(&store.query(&eth0).await.unwrap(), "price"),
        [Some(-1.0)]
    );
    store.compact().await.unwrap();
    assert_eq!(
        f64s(&store.query(&eth0).await.unwrap(), "price"),
        [Some(-1.0)]
    );
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.file_count("prices"), 1);
    assert_eq!(
        f64s(&store.query(&eth0).await.unwrap(), "price"),
        [Some(-1.0)]
    );
    assert_eq!(num_rows(&store.query(&all).await.unwrap()), 24);
    assert_eq!(
        render(&store.last("prices", &[]).await.unwrap()),
        last_before
    );
}

#[tokio::test]
async fn background_compaction_splits_by_target_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.background_compaction = true;
    config.compaction_trigger_files = 4;
    config.target_file_rows = 10;
    let store = EmbeddedStore::open(config.clone()).unwrap();
    write_overlapping(&store, 8).await;
    store.flush().await.unwrap();
    let files = store.file_count("prices");
    assert!(files < 8, "compaction ran: {files} files");
    let expected: Vec<String> = {
        let reference = tempfile::tempdir().unwrap();
        let r = open(reference.path());
        write_overlapping(&r, 8).await;
        render(&r.query(&Query::new("prices")).await.unwrap())
    };
    assert_eq!(
        render(&store.query(&Query::new("prices")).await.unwrap()),
        expected
    );
    drop(store);
    let store = EmbeddedStore::open(config).unwrap();
    assert_eq!(
        render(&store.query(&Query::new("prices")).await.unwrap()),
        expected
    );
}

#[tokio::test]
async fn crash_leftovers_are_ignored_on_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        write_overlapping(&store, 3).await;
    }
    let m = dir.path().join("prices");
    // A write that died before its rename, and a compaction that died before its commit.
    std::fs::write(m.join("00000000000000000099.parquet.tmp"), b"partial").unwrap();
    std::fs::write(m.join("c00000000000000000098.parquet"), b"uncommitted").unwrap();
    std::fs::write(m.join("MANIFEST.json.tmp"), b"{").unwrap();
    let store = open(dir.path());
    assert_eq!(
        num_rows(&store.query(&Query::new("prices")).await.unwrap()),
        6
    );
    assert!(!m.join("00000000000000000099.parquet.tmp").exists());
    assert!(!m.join("c00000000000000000098.parquet").exists());
    // Sequence numbers continue past every data file seen on disk.
    store
        .write(vec![prices(&[("sol", T0, 1.0)])])
        .await
        .unwrap();
    assert!(m.join("00000000000000000099.parquet").exists());
}

#[tokio::test]
async fn crash_after_compaction_commit_before_deleting_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("prices");
    let saved = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        write_overlapping(&store, 4).await;
        for e in std::fs::read_dir(&m).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), saved.path().join(e.file_name())).unwrap();
        }
        store.compact().await.unwrap();
    }
    // Put the compacted-away inputs back, as if the process died before deleting them.
    for e in std::fs::read_dir(saved.path()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), m.join(e.file_name())).unwrap();
    }
    let store = open(dir.path());
    assert_eq!(store.file_count("prices"), 1);
    assert_eq!(
        num_rows(&store.query(&Query::new("prices")).await.unwrap()),
        8
    );
}

/// `cargo test --release -p cryptoviz-store -- --ignored --nocapture write_throughput`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn write_throughput() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.background_compaction = true;
    let store = EmbeddedStore::open(config).unwrap();
    let coins: Vec<&'static str> = (0..100)
        .map(|i| &*Box::leak(format!("coin-{i:03}").into_boxed_str()))
        .collect();
    let batch_rows = 20_000;
    let batches = 50;
    let mut pending = Vec::new();
    for b in 0..batches {
        let t: Vec<i64> = (0..batch_rows)
            .map(|i| T0 + (b * batch_rows + i) as i64 / 100 * 1_000_000_000)
            .collect();
        let c: Vec<&'static str> = (0..batch_rows).map(|i| coins[i % 100]).collect();
        let p: Vec<Option<f64>> = (0..batch_rows)
            .map(|i| Some(30_000.0 + i as f64 * 0.01))
            .collect();
        let v: Vec<Option<i64>> = (0..batch_rows).map(|i| Some(i as i64)).collect();
        pending.push(batch(
            "prices",
            t,
            vec![
                Col::Tag("crypto_id", c),
                Col::F64("price", p),
                Col::I64("volume", v),
            ],
        ));
    }
    let replay: Vec<_> = pending[..10].to_vec();
    let start = Instant::now();
    for b in pending {
        store.write(vec![b]).await.unwrap();
    }
    let elapsed = start.elapsed();
    let rows = (batch_rows * batches) as f64;
    println!(
        "wrote {rows} rows in {elapsed:?}: {:.0} rows/s",
        rows / elapsed.as_secs_f64()
    );
    let start = Instant::now();
    store.flush().await.unwrap();
    println!("waited {:?} for compaction", start.elapsed());
    let start = Instant::now();
    let out = store.query(&Query::new("prices")).await.unwrap();
    println!(
        "full query of {} rows in {:?}",
        num_rows(&out),
        start.elapsed()
    );
    assert_eq!(num_rows(&out), batch_rows * batches);
    let start = Instant::now();
    let last = store.last("prices", &[]).await.unwrap();
    println!(
        "last() of {} series in {:?}",
        num_rows(&last),
        start.elapsed()
    );
    let start = Instant::now();
    let one = store
        .query(
            &Query::new("prices")
                .tag("crypto_id", "coin-042")
                .descending()
                .limit(100),
        )
        .await
        .unwrap();
    println!("one coin, newest 100 in {:?}", start.elapsed());
    assert_eq!(num_rows(&one), 100);

    // A log replay rewrites the first 200,000 points: queries must deduplicate them.
    let start = Instant::now();
    for b in replay {
        store.write(vec![b]).await.unwrap();
    }
    println!("replayed 200000 rows in {:?}", start.elapsed());
    let start = Instant::now();
    let out = store.query(&Query::new("prices")).await.unwrap();
    println!("full query with overlapping files in {:?}", start.elapsed());
    assert_eq!(num_rows(&out), batch_rows * batches);
    store.flush().await.unwrap();
    store.compact().await.unwrap();
    let start = Instant::now();
    let out = store.query(&Query::new("prices")).await.unwrap();
    println!(
        "full query after compaction in {:?} ({} files)",
        start.elapsed(),
        store.file_count("prices")
    );
    assert_eq!(num_rows(&out), batch_rows * batches);
}
