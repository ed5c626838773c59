use std::time::{Duration, Instant};

use cryptoviz_log::{FsyncPolicy, Log};

use super::*;

/// `cargo test --release -p cryptoviz-log --test embedded -- --ignored --nocapture throughput`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly in release mode"]
async fn throughput() {
    for policy in [FsyncPolicy::Always, FsyncPolicy::Never] {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path());
        cfg.fsync = policy;
        let log = EmbeddedLog::open(cfg).unwrap();
        log.ensure_topic("bench", 3).await.unwrap();
        let value = Bytes::from(vec![b'x'; 100]);
        let keys: Vec<Bytes> = (0..50).map(|i| Bytes::from(format!("coin-{i}"))).collect();
        let (batches, batch) = (400, 5000);
        let total = batches * batch;
        let t0 = Instant::now();
        for b in 0..batches {
            let recs = (0..batch)
                .map(|i| Record {
                    key: Some(keys[(b + i) % keys.len()].clone()),
                    value: value.clone(),
                    timestamp_ms: i as i64,
                })
                .collect();
            log.append("bench", recs).await.unwrap();
        }
        let append = t0.elapsed();
        let mut c = log.subscribe("g", &["bench"]).await.unwrap();
        let t1 = Instant::now();
        let mut n = 0;
        let mut bytes = 0;
        while n < total {
            let got = c.poll(5000, Duration::from_secs(1)).await.unwrap();
            bytes += got.iter().map(|r| r.value.len()).sum::<usize>();
            n += got.len();
        }
        let read = t1.elapsed();
        assert_eq!(bytes, total * 100);
        eprintln!(
            "{policy:?}: append {:.0} rec/s ({append:?}), read {:.0} rec/s ({read:?}) for {total} records",
            total as f64 / append.as_secs_f64(),
            total as f64 / read.as_secs_f64(),
        );
    }
}
