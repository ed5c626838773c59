//! The price consumer end to end, in process: simulated ticks → log → pipeline → store.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cryptoviz_consumers::pipeline::WINDOW_1M;
use cryptoviz_consumers::{ConsumerConfig, ConsumerStats, PricePipeline, verify};
use cryptoviz_log::{EmbeddedLog, EmbeddedLogConfig, Log, Record};
use cryptoviz_producers::sources::simulated::{Market, SimConfig, generate};
use cryptoviz_producers::{Publisher, SourceStatus};
use cryptoviz_schemas::{CryptoPrice, DlqRecord, topics};
use cryptoviz_store::{EmbeddedStore, EmbeddedStoreConfig, Query, Store};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Float64Type, Int64Type, TimestampNanosecondType};

const START: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

struct Harness {
    _dir: tempfile::TempDir,
    log: Arc<EmbeddedLog>,
    store: Arc<EmbeddedStore>,
}

impl Harness {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = EmbeddedLog::open(EmbeddedLogConfig::new(dir.path().join("log"))).unwrap();
        let store = Arc::new(
            EmbeddedStore::open(EmbeddedStoreConfig::new(dir.path().join("store"))).unwrap(),
        );
        Self {
            _dir: dir,
            log,
            store,
        }
    }

    async fn pipeline(&self, stats: Arc<ConsumerStats>) -> PricePipeline {
        self.pipeline_with(stats, ConsumerConfig::default()).await
    }

    async fn pipeline_with(
        &self,
        stats: Arc<ConsumerStats>,
        config: ConsumerConfig,
    ) -> PricePipeline {
        let config = ConsumerConfig {
            flush_rows: 5_000,
            poll_max: 2_000,
            ..config
        };
        PricePipeline::new(self.log.clone(), self.store.clone(), config, stats)
            .await
            .unwrap()
    }

    async fn publish(&self, ticks: &[CryptoPrice]) {
        let publisher = Publisher::new(self.log.clone(), "test", SourceStatus::new("test"));
        for chunk in ticks.chunks(5_000) {
            let report = publisher.publish(chunk, START + 86_400_000).await.unwrap();
            assert_eq!(report.rejected, 0);
        }
    }
}

fn simulated(minutes: u64) -> Vec<CryptoPrice> {
    simulated_with_jump(minutes, None)
}

/// `minutes` of the simulated market; with `jump = Some((minute, pct))`, bitcoin's first tick
/// of that minute jumps by `pct` percent.
fn simulated_with_jump(minutes: u64, jump: Option<(u64, f64)>) -> Vec<CryptoPrice> {
    let config = SimConfig::default();
    let mut market = Market::new(&config, START);
    let mut all = Vec::new();
    let before = jump.map_or(minutes, |(m, _)| m);
    generate(&mut market, before * 60 * 20, |_, p| all.append(p));
    if let Some((m, pct)) = jump {
        assert!(market.inject_jump("bitcoin", pct));
        generate(&mut market, (minutes - m) * 60 * 20, |_, p| all.append(p));
    }
    all
}

async fn consume_all(pipeline: &mut PricePipeline, stats: &ConsumerStats, n: u64) {
    let mut idle = 0;
    while stats.ticks() < n {
        if pipeline.step().await.unwrap() == 0 {
            idle += 1;
            assert!(idle < 100, "stuck at {} of {n} ticks", stats.ticks());
        }
    }
}

/// (count, open, close, low, high, mean, stddev) of one window.
type Stats = (i64, f64, f64, f64, f64, f64, f64);

/// Windows computed directly from the ticks, two-pass, no streaming: (coin, bin) → stats.
fn independent(ticks: &[CryptoPrice]) -> BTreeMap<(String, i64), Stats> {
    let mut groups: BTreeMap<(String, i64), Vec<(i64, f64)>> = BTreeMap::new();
    for t in ticks {
        let bin = t.timestamp_ms - t.timestamp_ms.rem_euclid(60_000);
        groups
            .entry((t.crypto_id.clone(), bin))
            .or_default()
            .push((t.timestamp_ms, t.price_usd));
    }
    groups
        .into_iter()
        .map(|(k, mut v)| {
            v.sort_by_key(|(ts, _)| *ts);
            let n = v.len() as f64;
            let mean = v.iter().map(|(_, p)| p).sum::<f64>() / n;
            let var = v.iter().map(|(_, p)| (p - mean).powi(2)).sum::<f64>() / (n - 1.0);
            let min = v.iter().map(|(_, p)| *p).fold(f64::INFINITY, f64::min);
            let max = v.iter().map(|(_, p)| *p).fold(f64::NEG_INFINITY, f64::max);
            (
                k,
                (
                    v.len() as i64,
                    v[0].1,
                    v.last().unwrap().1,
                    min,
                    max,
                    mean,
                    var.sqrt(),
                ),
            )
        })
        .collect()
}

/// Rows of `table` in the embedded store.
async fn count_rows(store: &EmbeddedStore, table: &str) -> i64 {
    let out = store
        .sql(&format!("SELECT COUNT(*) AS n FROM {table}"))
        .await
        .unwrap();
    out[0]
        .column(0)
        .as_any()
        .downcast_ref::<datafusion::arrow::array::Int64Array>()
        .unwrap()
        .value(0)
}

fn rel(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_window_equals_an_independent_computation_over_the_same_ticks() {
    let h = Harness::new();
    let ticks = simulated(45);
    h.publish(&ticks).await;
    let stats = Arc::new(ConsumerStats::default());
    let mut pipeline = h.pipeline(stats.clone()).await;
    consume_all(&mut pipeline, &stats, ticks.len() as u64).await;
    pipeline.finish().await.unwrap();
    assert_eq!(stats.snapshot().late_rows, 0);

    let batches = h
        .store
        .query(&Query::new("crypto_analytics").tag("window", "1m"))
        .await
        .unwrap();
    let mut stored = BTreeMap::new();
    for b in &batches {
        let col = |name: &str| b.column(b.schema().index_of(name).unwrap()).clone();
        let id = col("crypto_id");
        let id = id.as_string::<i32>();
        let time = col("time");
        let time = time.as_primitive::<TimestampNanosecondType>();
        let count = col("count");
        let count = count.as_primitive::<Int64Type>();
        let f: Vec<_> = ["open", "close", "low", "high", "mean", "stddev"]
            .iter()
            .map(|n| col(n))
            .collect();
        for r in 0..b.num_rows() {
            // A single-tick window has no sample stddev: null in the store, NaN below.
            let v = |i: usize| {
                if f[i].is_null(r) {
                    f64::NAN
                } else {
                    f[i].as_primitive::<Float64Type>().value(r)
                }
            };
            stored.insert(
                (id.value(r).to_string(), time.value(r) / 1_000_000),
                (count.value(r), v(0), v(1), v(2), v(3), v(4), v(5)),
            );
        }
    }
    let expected = independent(&ticks);
    // The market's first tick is at 00:00:01 and its last at 00:45:00: 46 one-minute bins.
    assert_eq!(expected.len(), 46 * 20);
    assert_eq!(stored.len(), expected.len());
    for (key, want) in &expected {
        let got = stored
            .get(key)
            .unwrap_or_else(|| panic!("missing window {key:?}"));
        assert_eq!(
            (got.0, got.1, got.2, got.3, got.4),
            (want.0, want.1, want.2, want.3, want.4),
            "{key:?}"
        );
        assert!(rel(got.5, want.5), "{key:?} mean {} vs {}", got.5, want.5);
        assert!(
            (got.6.is_nan() && want.6.is_nan()) || rel(got.6, want.6),
            "{key:?} stddev {} vs {}",
            got.6,
            want.6
        );
    }
    // And the DataFusion cross-check the bench uses agrees too.
    let report = verify::compare_windows(&h.store, WINDOW_1M.0, WINDOW_1M.1)
        .await
        .unwrap();
    assert!(report.matches(), "{report:?}");
    assert_eq!(report.expected, 46 * 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_without_finishing_resumes_from_the_checkpoint_exactly() {
    // 80 minutes with a jump at minute 70: indicators and anomaly detectors are rebuilt from
    // the store after the crash and must carry on exactly as the uninterrupted run does.
    let ticks = simulated_with_jump(80, Some((70, 6.0)));
    let reference = Harness::new();
    reference.publish(&ticks).await;
    let stats = Arc::new(ConsumerStats::default());
    let mut p = reference.pipeline(stats.clone()).await;
    consume_all(&mut p, &stats, ticks.len() as u64).await;
    p.finish().await.unwrap();

    let crashed = Harness::new();
    crashed.publish(&ticks).await;
    let stats = Arc::new(ConsumerStats::default());
    let mut p = crashed.pipeline(stats.clone()).await;
    consume_all(&mut p, &stats, ticks.len() as u64 * 4 / 5).await;
    assert!(stats.snapshot().commits > 0);
    drop(p); // a crash: no finish, buffers lost, only commits remain
    let stats = Arc::new(ConsumerStats::default());
    let mut p = crashed.pipeline(stats.clone()).await;
    let mut idle = 0;
    while idle < 20 {
        if p.step().await.unwrap() == 0 {
            idle += 1;
        }
    }
    p.finish().await.unwrap();

    for (m, sort) in [
        ("crypto_market", "crypto_id, source, time"),
        ("crypto_analytics", "crypto_id, source, \"window\", time"),
        ("crypto_anomalies", "crypto_id, kind, source, time"),
    ] {
        let sql = format!("SELECT * FROM {m} ORDER BY {sort}");
        let a = reference.store.sql(&sql).await.unwrap();
        let b = crashed.store.sql(&sql).await.unwrap();
        let concat = |v: &[datafusion::arrow::record_batch::RecordBatch]| {
            datafusion::arrow::compute::concat_batches(&v[0].schema(), v).unwrap()
        };
        let (a, b) = (concat(&a), concat(&b));
        assert_eq!(a.num_rows(), b.num_rows(), "{m}");
        assert!(a == b, "{m} differs after a restart");
    }
    // Coin fundamentals are written when they change: a restart may repeat a series' values
    // (its first tick after the restart), never change or lose them.
    let sql = "SELECT DISTINCT crypto_id, source, symbol, name, ath, atl, circulating_supply \
               FROM crypto_coin_info ORDER BY crypto_id, source, ath, atl, circulating_supply";
    let a = reference.store.sql(sql).await.unwrap();
    let b = crashed.store.sql(sql).await.unwrap();
    let concat = |v: &[datafusion::arrow::record_batch::RecordBatch]| {
        datafusion::arrow::compute::concat_batches(&v[0].schema(), v).unwrap()
    };
    let (a, b) = (concat(&a), concat(&b));
    assert!(a.num_rows() > 0, "fundamentals are stored");
    assert!(a == b, "crypto_coin_info after a restart");
    let n = count_rows(&reference.store, "crypto_coin_info").await;
    assert!(
        (n as usize) < ticks.len() / 10,
        "{n} crypto_coin_info points for {} ticks: written on change, not per tick",
        ticks.len()
    );
    // The embedded log keeps commit metadata: the store holds the first commit's checkpoint
    // copies (one per partition) and no more, however many commits followed.
    let copies = count_rows(&reference.store, "cryptoviz_checkpoints").await;
    assert!((1..=3).contains(&copies), "{copies} checkpoint copies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_topic_goes_to_the_dlq_and_the_consumer_keeps_going() {
    let h = Harness::new();
    let ticks = simulated(1);
    h.publish(&ticks[..20]).await;
    let garbage = vec![
        Record {
            key: Some(Bytes::from_static(b"bitcoin")),
            value: Bytes::from_static(b"\x00\x00\x00"),
            timestamp_ms: START,
        },
        Record {
            key: Some(Bytes::from_static(b"bitcoin")),
            value: Bytes::from_static(b"{\"not\": \"avro\"}"),
            timestamp_ms: START,
        },
    ];
    h.log.append(topics::PRICES, garbage).await.unwrap();
    h.publish(&ticks[20..40]).await;
    let stats = Arc::new(ConsumerStats::default());
    let mut p = h.pipeline(stats.clone()).await;
    consume_all(&mut p, &stats, 40).await;
    p.finish().await.unwrap();
    assert_eq!(stats.snapshot().dead_letters, 2);

    let mut dlq = h.log.subscribe("dlq-reader", &[topics::DLQ]).await.unwrap();
    let records = dlq.poll(10, Duration::from_secs(1)).await.unwrap();
    assert_eq!(records.len(), 2);
    let dead: Vec<DlqRecord> = records
        .iter()
        .map(|r| cryptoviz_schemas::decode(&r.value).unwrap())
        .collect();
    assert!(dead.iter().all(|d| d.original_topic == topics::PRICES));
    assert!(dead.iter().any(|d| d.payload == b"\x00\x00\x00"));
    assert!(dead.iter().all(|d| d.reason.contains("offset")), "{dead:?}");
    let stored = h
        .store
        .sql("SELECT count(*) FROM crypto_market")
        .await
        .unwrap();
    assert_eq!(stored[0].column(0).as_primitive::<Int64Type>().value(0), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_ticks_are_counted_per_coin_and_still_stored_raw() {
    let h = Harness::new();
    let ticks = simulated(3);
    h.publish(&ticks).await;
    let stats = Arc::new(ConsumerStats::default());
    let mut p = h.pipeline(stats.clone()).await;
    consume_all(&mut p, &stats, ticks.len() as u64).await;
    assert_eq!(stats.snapshot().late_rows, 0);
    // A bitcoin tick from the first minute, delivered after three minutes have passed and
    // its window has closed.
    let mut late = ticks[0].clone();
    late.timestamp_ms += 500;
    late.price_usd *= 2.0;
    h.publish(std::slice::from_ref(&late)).await;
    consume_all(&mut p, &stats, ticks.len() as u64 + 1).await;
    p.finish().await.unwrap();
    let s = stats.snapshot();
    assert_eq!(s.late_rows, 1);
    assert_eq!(s.late_rows_by_coin.get("bitcoin"), Some(&1));
    let raw = h
        .store
        .sql("SELECT count(*) FROM crypto_market WHERE crypto_id = 'bitcoin'")
        .await
        .unwrap();
    assert_eq!(raw[0].column(0).as_primitive::<Int64Type>().value(0), 181);
    let first = h
        .store
        .sql("SELECT count, high FROM crypto_analytics WHERE crypto_id = 'bitcoin' AND \"window\" = '1m' ORDER BY time LIMIT 1")
        .await
        .unwrap();
    assert_eq!(first[0].column(0).as_primitive::<Int64Type>().value(0), 59);
    assert!(!first[0].column(1).is_null(0));
}

/// (kind, start, end, peak, severity, status) of the stored anomalies of `coin`.
async fn anomalies(
    store: &EmbeddedStore,
    coin: &str,
) -> Vec<(String, i64, i64, i64, String, String)> {
    let batches = store
        .query(&Query::new("crypto_anomalies").tag("crypto_id", coin))
        .await
        .unwrap();
    let mut out = Vec::new();
    for b in &batches {
        let col = |name: &str| b.column(b.schema().index_of(name).unwrap()).clone();
        let (kind, time, end, peak, severity, status) = (
            col("kind"),
            col("time"),
            col("end_time"),
            col("peak_time"),
            col("severity"),
            col("status"),
        );
        for r in 0..b.num_rows() {
            out.push((
                kind.as_string::<i32>().value(r).to_string(),
                time.as_primitive::<TimestampNanosecondType>().value(r) / 1_000_000,
                end.as_primitive::<Int64Type>().value(r) / 1_000_000,
                peak.as_primitive::<Int64Type>().value(r) / 1_000_000,
                severity.as_string::<i32>().value(r).to_string(),
                status.as_string::<i32>().value(r).to_string(),
            ));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_jump_is_one_price_return_episode() {
    let h = Harness::new();
    let ticks = simulated_with_jump(80, Some((70, 6.0)));
    h.publish(&ticks).await;
    let stats = Arc::new(ConsumerStats::default());
    let mut p = h.pipeline(stats.clone()).await;
    consume_all(&mut p, &stats, ticks.len() as u64).await;
    p.finish().await.unwrap();
    let minute = |m: i64| START + m * 60_000;
    let jumps: Vec<_> = anomalies(&h.store, "bitcoin")
        .await
        .into_iter()
        .filter(|a| a.0 == "price_return" && a.1 <= minute(70) && minute(70) < a.2)
        .collect();
    assert_eq!(
        jumps,
        vec![(
            "price_return".to_string(),
            minute(70),
            minute(71),
            minute(70),
            "high".to_string(),
            "ended".to_string()
        )]
    );
    assert!(stats.snapshot().anomalies >= 2, "started, then ended");
    // The indicators of the 1-minute candles are there once their warm-up has passed.
    let rows = h
        .store
        .sql(
            "SELECT count(sma_20), count(sma_50), count(rsi_14), count(macd_signal), \
                    count(bb_upper), count(*) \
             FROM crypto_analytics WHERE crypto_id = 'bitcoin' AND \"window\" = '1m'",
        )
        .await
        .unwrap();
    let n = |i: usize| rows[0].column(i).as_primitive::<Int64Type>().value(0);
    // 81 one-minute candles (00:00:01 to 01:20:00): SMA 20 from the 20th, SMA 50 from the
    // 50th, RSI 14 from the 15th, the MACD signal from the 34th.
    assert_eq!(
        (n(0), n(1), n(2), n(3), n(4), n(5)),
        (62, 32, 67, 48, 62, 81)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sources_apart_by_more_than_the_threshold_are_one_divergence_episode() {
    let h = Harness::new();
    // bitcoin from two sources every 20 s for 30 minutes; coinmarketcap is 2 % higher during
    // minutes 10, 11 and 12.
    let mut ticks = Vec::new();
    for i in 0..90 {
        let ts = START + i * 20_000;
        let minute = i / 3;
        for (source, price) in [
            ("coingecko", 95_000.0 + i as f64),
            (
                "coinmarketcap",
                95_010.0
                    + i as f64
                    + if (10..13).contains(&minute) {
                        1_900.0
                    } else {
                        0.0
                    },
            ),
        ] {
            ticks.push(CryptoPrice {
                crypto_id: "bitcoin".into(),
                symbol: "BTC".into(),
                name: "Bitcoin".into(),
                source: source.into(),
                price_usd: price,
                timestamp_ms: ts,
                ..CryptoPrice::default()
            });
        }
    }
    h.publish(&ticks).await;
    let stats = Arc::new(ConsumerStats::default());
    // One coin lands on one of the three partitions; the two that never deliver stop holding
    // the watermark back once idle (before the ticks are read).
    let config = ConsumerConfig {
        idle_timeout: Duration::from_millis(100),
        ..ConsumerConfig::default()
    };
    let mut p = h.pipeline_with(stats.clone(), config).await;
    // The first poll takes the assignment (its records are read again after it).
    assert_eq!(p.step().await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    consume_all(&mut p, &stats, ticks.len() as u64).await;
    p.finish().await.unwrap();
    let minute = |m: i64| START + m * 60_000;
    let found: Vec<_> = anomalies(&h.store, "bitcoin")
        .await
        .into_iter()
        .filter(|a| a.0 == "divergence")
        .collect();
    assert_eq!(
        found,
        vec![(
            "divergence".to_string(),
            minute(10),
            minute(13),
            minute(10),
            "high".to_string(),
            "ended".to_string()
        )]
    );
}
