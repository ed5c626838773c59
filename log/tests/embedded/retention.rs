use std::time::Duration;

use cryptoviz_log::{Log, TopicPartition};

use super::*;

async fn fill(log: &EmbeddedLog, n: usize) {
    log.ensure_topic("r", 1).await.unwrap();
    // ~132-byte frames, timestamps 0, 1000, 2000, ...
    for i in 0..n {
        log.append("r", vec![rec(None, format!("{i:0>100}"), i as i64 * 1000)])
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn retention_by_age_keeps_active_and_resets_consumers() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.segment_bytes = 1000; // 7 records per segment
    cfg.retention = Some(Duration::from_secs(20));
    let log = EmbeddedLog::open(cfg).unwrap();
    fill(&log, 50).await;
    let mut c = log.subscribe("g", &["r"]).await.unwrap();
    assert_eq!(poll_n(&mut c, 3).await[0].offset, 0);

    // At now = 50 s, records older than 30 s (offsets < 30 by timestamp) may go, but only
    // whole closed segments whose newest record is older than that.
    let report = log.enforce_retention_at(50_000).await.unwrap();
    let start = log.offsets("r").await.unwrap()[0].0;
    assert_eq!(
        start, 28,
        "segments [0..7), [7..14), [14..21), [21..28) deleted"
    );
    assert_eq!(report.segments_deleted, 4);
    assert_eq!(
        report.new_start_offsets,
        vec![(TopicPartition::new("r", 0), 28)]
    );
    assert!(report.bytes_deleted > 0);

    // The consumer was at offset 3: it continues from the earliest retained.
    let got = c.poll(5, Duration::from_secs(1)).await.unwrap();
    assert_eq!(got[0].offset, 28);

    // Far in the future every closed segment goes; the active one stays.
    log.enforce_retention_at(i64::MAX).await.unwrap();
    let (start, end) = log.offsets("r").await.unwrap()[0];
    assert_eq!((start, end), (49, 50));
    let files = std::fs::read_dir(dir.path().join("topics/r/0"))
        .unwrap()
        .count();
    assert_eq!(files, 2, "one .log and one .index left");
}

#[tokio::test]
async fn retention_by_size() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.segment_bytes = 1000;
    cfg.retention_bytes = Some(3000);
    let log = EmbeddedLog::open(cfg).unwrap();
    fill(&log, 50).await;
    let before = log.offsets("r").await.unwrap()[0];
    let report = log.enforce_retention_at(0).await.unwrap();
    let after = log.offsets("r").await.unwrap()[0];
    assert_eq!(before, (0, 50));
    assert_eq!(after.1, 50);
    // 50 records * 132 B = 6600 B in 7-record (924 B) segments; keep the newest >= 3000 B.
    let kept_bytes = (50 - after.0) * 132;
    assert!(
        (3000..3000 + 924).contains(&kept_bytes),
        "kept {kept_bytes}"
    );
    assert_eq!(report.bytes_deleted, after.0 * 132);
    // Survives a reopen.
    drop(log);
    let log = open(dir.path());
    assert_eq!(log.offsets("r").await.unwrap()[0], after);
}
