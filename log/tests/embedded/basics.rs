use std::collections::HashMap;
use std::time::{Duration, Instant};

use cryptoviz_log::{Committed, Error, Log, SeekTo, TopicPartition, partition_for_key};

use super::*;

/// A lock held for a moment longer than its log (a child process forked just before the log
/// was dropped shares the lock until it execs) is waited for, not reported as a second owner.
#[tokio::test]
async fn a_lock_released_moments_later_is_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    let holder = std::fs::File::open(dir.path().join(".lock")).unwrap();
    holder.lock().unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(holder);
    });
    let started = Instant::now();
    let log = EmbeddedLog::open(config(dir.path())).expect("waits for the lock to be released");
    assert!(started.elapsed() >= Duration::from_millis(250));
    release.join().unwrap();
    drop(log);
}

#[tokio::test]
async fn keyed_records_keep_partition_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let coins = ["BTC", "ETH", "SOL", "DOGE", "ADA", "XRP"];
    let mut expected: HashMap<&str, Vec<String>> = HashMap::new();
    for batch in 0..4 {
        let mut recs = Vec::new();
        for i in 0..30 {
            let coin = coins[i % coins.len()];
            let v = format!("{coin}-{batch}-{i}");
            expected.entry(coin).or_default().push(v.clone());
            recs.push(rec(Some(coin), v, i as i64));
        }
        let produced = log.append("ticks", recs.clone()).await.unwrap();
        assert_eq!(produced.len(), recs.len());
        for (r, p) in recs.iter().zip(&produced) {
            assert_eq!(p.partition, partition_for_key(r.key.as_ref().unwrap(), 3));
        }
    }
    assert_eq!(log.partition_count("ticks").await.unwrap(), 3);
    let mut c = log.subscribe("g", &["ticks"]).await.unwrap();
    let got = poll_n(&mut c, 120).await;
    let mut per_key: HashMap<String, Vec<String>> = HashMap::new();
    let mut last_offset: HashMap<u32, u64> = HashMap::new();
    for r in &got {
        let key = String::from_utf8(r.key.clone().unwrap().to_vec()).unwrap();
        assert_eq!(r.partition, partition_for_key(key.as_bytes(), 3));
        if let Some(prev) = last_offset.insert(r.partition, r.offset) {
            assert_eq!(r.offset, prev + 1, "offset order within a partition");
        }
        per_key
            .entry(key)
            .or_default()
            .push(values(std::slice::from_ref(r))[0].clone());
    }
    for (k, v) in expected {
        assert_eq!(per_key[k], v, "order for key {k}");
    }
}

#[tokio::test]
async fn unkeyed_round_robin_and_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.ensure_topic("rr", 4).await.unwrap();
    log.ensure_topic("rr", 9).await.unwrap(); // no-op: exists
    let produced = log
        .append(
            "rr",
            (0..8).map(|i| rec(None, format!("v{i}"), i)).collect(),
        )
        .await
        .unwrap();
    let mut counts = [0; 4];
    for p in &produced {
        counts[p.partition as usize] += 1;
    }
    assert_eq!(counts, [2, 2, 2, 2]);
    assert_eq!(log.offsets("rr").await.unwrap(), vec![(0, 2); 4]);
    assert!(matches!(
        log.offsets("missing").await,
        Err(Error::UnknownTopic(_))
    ));
    let err = log
        .append("bad topic!", vec![rec(None, "x", 0)])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidName { .. }) && err.is_caller_error());
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn reopen_keeps_data_offsets_and_commits() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        log.ensure_topic("t", 1).await.unwrap();
        log.append(
            "t",
            (0..10)
                .map(|i| rec(Some("k"), format!("a{i}"), i))
                .collect(),
        )
        .await
        .unwrap();
        let mut c = log.subscribe("g", &["t"]).await.unwrap();
        let got = poll_n(&mut c, 10).await;
        let tp = TopicPartition::new("t", 0);
        let meta = r#"{"watermark_ms":1234}"#.to_owned();
        c.commit(&[(
            tp.clone(),
            Committed {
                offset: got[6].offset + 1,
                metadata: meta.clone(),
            },
        )])
        .await
        .unwrap();
        assert_eq!(c.committed(&tp).await.unwrap().unwrap().metadata, meta);
        log.flush().await.unwrap();
        // A second instance on the same directory is refused while this one is open.
        assert!(matches!(
            EmbeddedLog::open(config(dir.path())),
            Err(Error::Locked(_))
        ));
    }
    let log = open(dir.path());
    assert_eq!(log.offsets("t").await.unwrap(), vec![(0, 10)]);
    let committed = log.group_offsets("g", "t").await.unwrap();
    assert_eq!(
        committed,
        vec![Some(Committed {
            offset: 7,
            metadata: r#"{"watermark_ms":1234}"#.into()
        })]
    );
    assert_eq!(log.group_offsets("other", "t").await.unwrap(), vec![None]);
    let p = log
        .append("t", vec![rec(Some("k"), "a10", 10)])
        .await
        .unwrap();
    assert_eq!(p[0].offset, 10);
    let mut c = log.subscribe("g", &["t"]).await.unwrap();
    let got = poll_n(&mut c, 4).await;
    assert_eq!(values(&got), vec!["a7", "a8", "a9", "a10"]);
}

#[tokio::test]
async fn seek_beginning_offset_timestamp_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.segment_bytes = 2048; // several segments, each with index entries only past 4 KiB
    let log = EmbeddedLog::open(cfg).unwrap();
    log.ensure_topic("s", 1).await.unwrap();
    // Timestamps 1000, 1010, ... with 100-byte values: ~14 segments.
    for b in 0..10 {
        let recs = (0..20).map(|i| {
            let n = b * 20 + i;
            rec(None, format!("{n:0>100}"), 1000 + 10 * n as i64)
        });
        log.append("s", recs.collect()).await.unwrap();
    }
    let tp = TopicPartition::new("s", 0);
    let mut c = log.subscribe("g", &["s"]).await.unwrap();
    let first = poll_n(&mut c, 5).await;
    assert_eq!(first[0].offset, 0);

    c.seek(&tp, SeekTo::Offset(123)).await.unwrap();
    assert_eq!(
        c.poll(1, Duration::from_secs(1)).await.unwrap()[0].offset,
        123
    );
    c.seek(&tp, SeekTo::Timestamp(1000 + 10 * 77 - 5))
        .await
        .unwrap();
    assert_eq!(
        c.poll(1, Duration::from_secs(1)).await.unwrap()[0].offset,
        77
    );
    c.seek(&tp, SeekTo::Timestamp(1000 + 10 * 150))
        .await
        .unwrap();
    assert_eq!(
        c.poll(1, Duration::from_secs(1)).await.unwrap()[0].offset,
        150
    );
    c.seek(&tp, SeekTo::Timestamp(0)).await.unwrap();
    assert_eq!(
        c.poll(1, Duration::from_secs(1)).await.unwrap()[0].offset,
        0
    );
    c.seek(&tp, SeekTo::Beginning).await.unwrap();
    assert_eq!(
        c.poll(1, Duration::from_secs(1)).await.unwrap()[0].offset,
        0
    );
    c.seek(&tp, SeekTo::Timestamp(i64::MAX)).await.unwrap();
    assert!(
        c.poll(1, Duration::from_millis(20))
            .await
            .unwrap()
            .is_empty()
    );
    c.seek(&tp, SeekTo::End).await.unwrap();
    assert!(
        c.poll(10, Duration::from_millis(20))
            .await
            .unwrap()
            .is_empty()
    );
    log.append("s", vec![rec(None, "new", 5)]).await.unwrap();
    let got = c.poll(10, Duration::from_secs(1)).await.unwrap();
    assert_eq!((got.len(), got[0].offset), (1, 200));
    // Seeking a partition we do not own is a caller error.
    let err = c
        .seek(&TopicPartition::new("s", 7), SeekTo::End)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotAssigned(_)));
}

#[tokio::test]
async fn poll_times_out_empty_and_wakes_on_append() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.ensure_topic("w", 2).await.unwrap();
    let mut c = log.subscribe("g", &["w"]).await.unwrap();
    let t0 = Instant::now();
    assert!(
        c.poll(10, Duration::from_millis(50))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(t0.elapsed() >= Duration::from_millis(50));

    let producer = log.clone();
    let task = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let sent = Instant::now();
        producer
            .append("w", vec![rec(Some("BTC"), "hi", 1)])
            .await
            .unwrap();
        sent
    });
    let got = c.poll(10, Duration::from_secs(10)).await.unwrap();
    let woke = Instant::now();
    let sent = task.await.unwrap();
    assert_eq!(values(&got), vec!["hi"]);
    // Woken by the append, not by the 10 s timeout (the append itself includes an fsync).
    assert!(woke.duration_since(sent) < Duration::from_secs(1));
    eprintln!(
        "wake latency after append returned: {:?}",
        woke.saturating_duration_since(sent)
    );
}
