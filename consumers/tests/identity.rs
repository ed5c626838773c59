//! Ticks that share a millisecond are distinct records: every one is stored and windowed; only
//! a record sent twice (the same bytes) is counted once, and reported.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use cryptoviz_consumers::pipeline::WINDOW_1M;
use cryptoviz_consumers::{ConsumerConfig, ConsumerStats, PricePipeline, verify};
use cryptoviz_log::{EmbeddedLog, EmbeddedLogConfig};
use cryptoviz_producers::{Publisher, SourceStatus};
use cryptoviz_schemas::CryptoPrice;
use cryptoviz_store::{EmbeddedStore, EmbeddedStoreConfig, Query, Store};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{Float64Type, Int64Type, TimestampNanosecondType};
use rand::{Rng, SeedableRng};

const START: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn tick(coin: &str, ts: i64, price: f64, volume: f64) -> CryptoPrice {
    CryptoPrice {
        crypto_id: coin.into(),
        symbol: coin[..3].to_uppercase(),
        name: coin.into(),
        source: "binance".into(),
        price_usd: price,
        timestamp_ms: ts,
        volume: Some(volume),
        ..CryptoPrice::default()
    }
}

/// Ten minutes of three coins where most milliseconds carry two to five trades.
fn bursts() -> Vec<CryptoPrice> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
    let mut out = Vec::new();
    for coin in ["bitcoin", "ethereum", "solana"] {
        let mut price = 100.0;
        let mut ts = START;
        while ts < START + 10 * 60_000 {
            for _ in 0..rng.random_range(1..=5) {
                price *= 1.0 + rng.random_range(-0.001..0.001);
                out.push(tick(coin, ts, price, rng.random_range(0.001..2.0)));
            }
            ts += rng.random_range(1..400);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tick_of_a_shared_millisecond_counts_and_copies_count_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(EmbeddedLogConfig::new(dir.path().join("log"))).unwrap();
    let store =
        Arc::new(EmbeddedStore::open(EmbeddedStoreConfig::new(dir.path().join("store"))).unwrap());
    let ticks = bursts();
    let shared_ms: HashSet<(String, i64)> = {
        let mut seen = HashSet::new();
        let mut shared = HashSet::new();
        for t in &ticks {
            if !seen.insert((t.crypto_id.clone(), t.timestamp_ms)) {
                shared.insert((t.crypto_id.clone(), t.timestamp_ms));
            }
        }
        shared
    };
    assert!(
        shared_ms.len() > 1_000,
        "the file must have many shared milliseconds"
    );
    // The source sends some records twice: right after themselves, and again a few ticks
    // later.
    let mut sent = Vec::with_capacity(ticks.len() + 100);
    let mut copies = 0;
    for (i, t) in ticks.iter().enumerate() {
        sent.push(t.clone());
        if i % 97 == 0 {
            sent.push(t.clone());
            copies += 1;
        }
        if i % 211 == 0 && i >= 3 {
            sent.push(ticks[i - 2].clone());
            copies += 1;
        }
    }
    let publisher = Publisher::new(log.clone(), "test", SourceStatus::new("test"));
    for chunk in sent.chunks(5_000) {
        let report = publisher.publish(chunk, START + 86_400_000).await.unwrap();
        assert_eq!(report.rejected, 0);
    }

    let stats = Arc::new(ConsumerStats::default());
    let config = ConsumerConfig {
        flush_rows: 5_000,
        poll_max: 2_000,
        ..ConsumerConfig::default()
    };
    let mut pipeline = PricePipeline::new(log.clone(), store.clone(), config, stats.clone())
        .await
        .unwrap();
    let mut idle = 0;
    while stats.ticks() + stats.snapshot().duplicates < sent.len() as u64 {
        if pipeline.step().await.unwrap() == 0 {
            idle += 1;
            assert!(idle < 100, "stuck: {:?}", stats.snapshot());
        }
    }
    pipeline.finish().await.unwrap();
    let s = stats.snapshot();
    assert_eq!(s.duplicates, copies, "each copy is reported");
    assert_eq!(s.duplicates_by_source.get("binance"), Some(&copies));
    assert_eq!(s.late_rows, 0);

    // Every distinct tick is a raw point.
    let raw = store
        .sql("SELECT COUNT(*) AS n FROM crypto_market")
        .await
        .unwrap();
    assert_eq!(
        raw[0].column(0).as_primitive::<Int64Type>().value(0),
        ticks.len() as i64
    );

    // The 1-minute windows equal a batch computation over the distinct ticks: count, min,
    // max and volume exactly.
    let mut expected: BTreeMap<(String, i64), (i64, f64, f64, f64)> = BTreeMap::new();
    for t in &ticks {
        let bin = t.timestamp_ms - t.timestamp_ms.rem_euclid(60_000);
        let e = expected.entry((t.crypto_id.clone(), bin)).or_insert((
            0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
        ));
        e.0 += 1;
        e.1 = e.1.min(t.price_usd);
        e.2 = e.2.max(t.price_usd);
        e.3 += t.volume.unwrap();
    }
    let batches = store
        .query(&Query::new("crypto_analytics").tag("window", "1m"))
        .await
        .unwrap();
    let mut stored = BTreeMap::new();
    for b in &batches {
        let col = |name: &str| b.column(b.schema().index_of(name).unwrap()).clone();
        let (id, time, count) = (col("crypto_id"), col("time"), col("count"));
        let (low, high, volume) = (col("low"), col("high"), col("volume"));
        for r in 0..b.num_rows() {
            stored.insert(
                (
                    id.as_string::<i32>().value(r).to_string(),
                    time.as_primitive::<TimestampNanosecondType>().value(r) / 1_000_000,
                ),
                (
                    count.as_primitive::<Int64Type>().value(r),
                    low.as_primitive::<Float64Type>().value(r),
                    high.as_primitive::<Float64Type>().value(r),
                    volume.as_primitive::<Float64Type>().value(r),
                ),
            );
        }
    }
    assert_eq!(stored.len(), expected.len());
    for (key, want) in &expected {
        let got = stored[key];
        assert_eq!((got.0, got.1, got.2), (want.0, want.1, want.2), "{key:?}");
        assert!((got.3 - want.3).abs() <= 1e-9 * want.3, "{key:?} volume");
    }
    // And open/close, mean, stddev and VWAP agree with DataFusion over the raw points.
    let report = verify::compare_windows(&store, WINDOW_1M.0, WINDOW_1M.1)
        .await
        .unwrap();
    assert!(report.matches(), "{report:?}");
}
