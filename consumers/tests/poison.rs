//! Poison pills that got past (or around) the producers' validation: each becomes one dead
//! letter, and the stream after it is windowed as if it had not been there.

use std::sync::Arc;

use bytes::Bytes;
use cryptoviz_consumers::{ConsumerConfig, ConsumerStats, PricePipeline};
use cryptoviz_log::{EmbeddedLog, EmbeddedLogConfig, Log, Record};
use cryptoviz_schemas::{CryptoPrice, DlqRecord, topics};
use cryptoviz_store::{EmbeddedStore, EmbeddedStoreConfig, Query, Store};

const START: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn tick(coin: &str, ts: i64, price: f64) -> CryptoPrice {
    CryptoPrice {
        crypto_id: coin.into(),
        symbol: "BTC".into(),
        name: "Bitcoin".into(),
        source: "sim".into(),
        price_usd: price,
        timestamp_ms: ts,
        ..CryptoPrice::default()
    }
}

/// Encodes without validating, as a foreign or older producer might have.
fn raw(t: &CryptoPrice) -> Record {
    Record {
        key: Some(Bytes::from(t.crypto_id.clone())),
        value: Bytes::from(cryptoviz_schemas::to_bytes(t)),
        timestamp_ms: t.timestamp_ms,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_tick_and_an_unstorable_tag_are_dead_letters_not_a_stalled_stream() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(EmbeddedLogConfig::new(dir.path().join("log"))).unwrap();
    let store =
        Arc::new(EmbeddedStore::open(EmbeddedStoreConfig::new(dir.path().join("store"))).unwrap());
    let mut records = Vec::new();
    // Three minutes of good ticks, one per second, with the poison in minute one.
    for s in 0..180 {
        let ts = START + s * 1_000;
        records.push(raw(&tick("bitcoin", ts, 100.0 + s as f64)));
        if s == 30 {
            // Ten years ahead: it would carry the watermark with it.
            records.push(raw(&tick("bitcoin", START + 10 * 365 * 86_400_000, 1.0)));
            // A newline in a tag value: no store can take it.
            records.push(raw(&tick("bit\ncoin", ts, 1.0)));
            // A backslash in the source tag.
            let mut t = tick("bitcoin", ts + 1, 1.0);
            t.source = "sim\\".into();
            records.push(raw(&t));
        }
    }
    log.append(topics::PRICES, records).await.unwrap();

    let stats = Arc::new(ConsumerStats::default());
    let mut pipeline = PricePipeline::new(
        log.clone(),
        store.clone(),
        ConsumerConfig::default(),
        stats.clone(),
    )
    .await
    .unwrap();
    let mut idle = 0;
    while stats.ticks() < 180 {
        if pipeline.step().await.unwrap() == 0 {
            idle += 1;
            assert!(idle < 50, "{:?}", stats.snapshot());
        }
    }
    pipeline.finish().await.unwrap();
    let s = stats.snapshot();
    assert_eq!((s.ticks, s.dead_letters, s.late_rows), (180, 3, 0), "{s:?}");

    // Every minute's window holds its 60 good ticks.
    let windows = store
        .query(&Query::new("crypto_analytics").tag("window", "1m"))
        .await
        .unwrap();
    let rows: usize = windows.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 3);
    // The dead letters say why.
    let mut reasons = Vec::new();
    for p in 0..log.partition_count(topics::DLQ).await.unwrap() {
        let tp = cryptoviz_log::TopicPartition::new(topics::DLQ, p);
        for r in log.read(&tp, 0, 100).await.unwrap() {
            let letter: DlqRecord = cryptoviz_schemas::decode(&r.value).unwrap();
            reasons.push(letter.reason);
        }
    }
    reasons.sort();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("timestamp") && r.contains("after now")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("crypto_id") && r.contains("tag value")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("source") && r.contains("tag value")),
        "{reasons:?}"
    );
}
