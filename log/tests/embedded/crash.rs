use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use cryptoviz_log::{Log, SeekTo, TopicPartition};

use super::*;

fn segment(dir: &std::path::Path, ext: &str) -> PathBuf {
    dir.join(format!("topics/t/0/{:020}.{ext}", 0))
}

async fn read_all(log: &EmbeddedLog, n: usize) -> Vec<String> {
    values(&read_exactly(log, "reader", n, Duration::from_millis(20)).await)
}

fn append_raw(path: &std::path::Path, bytes: &[u8]) {
    let mut f = OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

#[tokio::test]
async fn torn_tail_is_truncated_and_appends_resume() {
    let dir = tempfile::tempdir().unwrap();
    let expected: Vec<String> = (0..30).map(|i| format!("value-{i}")).collect();
    {
        append_values(&open(dir.path()), &expected, 10).await;
    }
    // A crash mid-write leaves half a record: the first 20 bytes of a real frame.
    let log_path = segment(dir.path(), "log");
    let head = std::fs::read(&log_path).unwrap()[..20].to_vec();
    let acknowledged_len = std::fs::metadata(&log_path).unwrap().len();
    append_raw(&log_path, &head);
    {
        let log = open(dir.path());
        assert_eq!(
            std::fs::metadata(&log_path).unwrap().len(),
            acknowledged_len
        );
        assert_eq!(log.offsets("t").await.unwrap(), vec![(0, 30)]);
        assert_eq!(read_all(&log, 30).await, expected);
        let p = log
            .append("t", vec![rec(Some("BTC"), "after-1", 2)])
            .await
            .unwrap();
        assert_eq!(p[0].offset, 30);
    }
    // Garbage with a plausible length and a wrong CRC.
    let mut junk = 40u32.to_le_bytes().to_vec();
    junk.extend_from_slice(&[0xAB; 44]);
    append_raw(&log_path, &junk);
    let log = open(dir.path());
    let p = log
        .append("t", vec![rec(Some("BTC"), "after-2", 3)])
        .await
        .unwrap();
    assert_eq!(p[0].offset, 31);
    let mut all = expected.clone();
    all.extend(["after-1".to_owned(), "after-2".to_owned()]);
    assert_eq!(read_all(&log, 32).await, all);
}

#[tokio::test]
async fn missing_or_corrupt_index_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let n = 2000usize;
    {
        let log = open(dir.path());
        log.ensure_topic("t", 1).await.unwrap();
        let recs = (0..n).map(|i| rec(None, format!("{i:0>100}"), i as i64 * 10));
        log.append("t", recs.collect()).await.unwrap();
    }
    let index = segment(dir.path(), "index");
    let good_index = std::fs::read(&index).unwrap();
    assert!(
        good_index.len() >= 20 * 50,
        "expected a sparse entry per ~4 KiB"
    );

    let check = |log: Arc<EmbeddedLog>| async move {
        let tp = TopicPartition::new("t", 0);
        let mut c = log.subscribe("g", &["t"]).await.unwrap();
        c.seek(&tp, SeekTo::Timestamp(12_345)).await.unwrap();
        assert_eq!(
            c.poll(1, Duration::from_secs(1)).await.unwrap()[0].offset,
            1235
        );
        c.seek(&tp, SeekTo::Offset(1777)).await.unwrap();
        let r = c.poll(1, Duration::from_secs(1)).await.unwrap();
        assert_eq!(
            (r[0].offset, values(&r)[0].clone()),
            (1777, format!("{:0>100}", 1777))
        );
        drop(c);
        assert_eq!(read_all(&log, n).await.len(), n);
    };

    std::fs::remove_file(&index).unwrap();
    check(open(dir.path())).await;
    assert_eq!(
        std::fs::read(&index).unwrap(),
        good_index,
        "rebuilt index matches"
    );

    // Flip a byte in the middle entry: the valid prefix is kept, the rest rebuilt.
    let mut bad = good_index.clone();
    let mid = (bad.len() / 40) * 20 + 5;
    bad[mid] ^= 0xFF;
    std::fs::write(&index, &bad).unwrap();
    check(open(dir.path())).await;
    assert_eq!(std::fs::read(&index).unwrap(), good_index);

    // An index pointing past the end of the log (log lost its tail): entries dropped.
    let log_path = segment(dir.path(), "log");
    let len = std::fs::metadata(&log_path).unwrap().len();
    let f = OpenOptions::new().write(true).open(&log_path).unwrap();
    f.set_len(len / 2 + 7).unwrap(); // mid-frame
    drop(f);
    let log = open(dir.path());
    let (_, end) = log.offsets("t").await.unwrap()[0];
    assert!(end > 0 && (end as usize) < n);
    assert_eq!(read_all(&log, end as usize).await.len(), end as usize);
    let p = log.append("t", vec![rec(None, "next", 0)]).await.unwrap();
    assert_eq!(p[0].offset, end);
}
