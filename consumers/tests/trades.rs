//! The trade consumer over the embedded log and store: every trade is stored once, each
//! minute's candle equals a direct computation over its trades (many sharing a millisecond)
//! even across a restart that re-reads the open windows, and records that do not decode or
//! validate are dead letters with the reason.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use cryptoviz_consumers::{ConsumerConfig, ConsumerStats, TradePipeline};
use cryptoviz_log::{EmbeddedLog, EmbeddedLogConfig, Log, Record};
use cryptoviz_measurements::Measurement;
use cryptoviz_measurements::trades::{TradeCandleRow, TradeRow};
use cryptoviz_schemas::{CryptoTrade, DlqRecord, TakerSide, topics};
use cryptoviz_store::{EmbeddedStore, EmbeddedStoreConfig, Query, Store};

const START: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn trade(coin: &str, exchange: &str, id: i64, ts: i64, price: f64, quantity: f64) -> CryptoTrade {
    CryptoTrade {
        exchange: exchange.into(),
        symbol: format!("{coin}-{exchange}").to_uppercase(),
        crypto_id: coin.into(),
        quote: "USDT".into(),
        trade_id: id,
        price,
        quantity,
        side: if id % 3 == 0 {
            TakerSide::Sell
        } else {
            TakerSide::Buy
        },
        event_time_ms: ts,
        receive_time_ms: ts + 5,
    }
}

fn record(t: &CryptoTrade) -> Record {
    Record {
        key: Some(Bytes::from(t.crypto_id.clone())),
        value: Bytes::from(cryptoviz_schemas::to_bytes(t)),
        timestamp_ms: t.event_time_ms,
    }
}

/// Three minutes of bitcoin on one exchange, four trades in each millisecond used, and a
/// slower ethereum market on another.
fn trades() -> Vec<CryptoTrade> {
    let mut all = Vec::new();
    for i in 0..600_i64 {
        let price = 100.0 + ((i * 37) % 50) as f64 * 0.5;
        let quantity = 0.001 * (1 + i % 7) as f64;
        all.push(trade(
            "bitcoin",
            "binance",
            1_000 + i,
            START + (i / 4) * 1_200,
            price,
            quantity,
        ));
        if i % 6 == 0 {
            all.push(trade(
                "ethereum",
                "kraken",
                50 + i,
                START + i * 300,
                20.0 + i as f64,
                1.5,
            ));
        }
    }
    all
}

/// (open, high, low, close, volume, quote volume, trades) per (coin, exchange, minute start).
type Expected = BTreeMap<(String, String, i64), (f64, f64, f64, f64, f64, f64, i64)>;

fn expected(trades: &[CryptoTrade]) -> Expected {
    let mut out = Expected::new();
    for t in trades {
        let start = t.event_time_ms - t.event_time_ms.rem_euclid(60_000);
        let key = (t.crypto_id.clone(), t.exchange.clone(), start);
        let (p, q) = (t.price, t.quantity);
        let c = out.entry(key).or_insert((p, p, p, p, 0.0, 0.0, 0));
        c.1 = c.1.max(p);
        c.2 = c.2.min(p);
        c.3 = p;
        c.4 += q;
        c.5 += p * q;
        c.6 += 1;
    }
    out
}

async fn run_until_idle(pipeline: &mut TradePipeline, idle_polls: usize) {
    let mut idle = 0;
    while idle < idle_polls {
        if pipeline.step().await.unwrap() == 0 {
            idle += 1;
        } else {
            idle = 0;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trades_become_exact_candles_across_a_restart_and_poison_is_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(EmbeddedLogConfig::new(dir.path().join("log"))).unwrap();
    let store =
        Arc::new(EmbeddedStore::open(EmbeddedStoreConfig::new(dir.path().join("store"))).unwrap());
    log.ensure_topic(topics::TRADES, 3).await.unwrap();
    let all = trades();
    let (first, second) = all.split_at(all.len() / 2);
    log.append(topics::TRADES, first.iter().map(record).collect())
        .await
        .unwrap();

    let config = ConsumerConfig {
        group: "trades-test".into(),
        ..ConsumerConfig::default()
    };
    // The first run reads half the stream, idles (its windows are written, the open ones as
    // provisional, and committed) and stops without draining, as after a crash: the second
    // rebuilds the open windows from the committed offsets.
    let stats = Arc::new(ConsumerStats::default());
    let mut pipeline =
        TradePipeline::new(log.clone(), store.clone(), config.clone(), stats.clone())
            .await
            .unwrap();
    run_until_idle(&mut pipeline, 40).await;
    assert!(stats.snapshot().commits > 0, "{:?}", stats.snapshot());
    drop(pipeline);

    // A negative price (from a producer that did not validate) and bytes that are not Avro.
    let mut records = vec![record(&trade(
        "bitcoin",
        "binance",
        9,
        START + 1,
        -1.0,
        1.0,
    ))];
    records.push(Record {
        key: Some(Bytes::from_static(b"bitcoin")),
        value: Bytes::from_static(b"not a trade"),
        timestamp_ms: START,
    });
    records.extend(second.iter().map(record));
    log.append(topics::TRADES, records).await.unwrap();
    let stats = Arc::new(ConsumerStats::default());
    let mut pipeline = TradePipeline::new(log.clone(), store.clone(), config, stats.clone())
        .await
        .unwrap();
    // Long enough for every partition to idle (3 s): the watermark then closes what it can.
    run_until_idle(&mut pipeline, 40).await;
    pipeline.finish().await.unwrap();
    assert_eq!(stats.snapshot().late_rows, 0, "{:?}", stats.snapshot());

    // Every trade is one point, the ones sharing a millisecond included.
    let stored = store.query(&Query::new("crypto_trades")).await.unwrap();
    let rows: Vec<TradeRow> = stored
        .iter()
        .flat_map(|b| TradeRow::from_batch(b).unwrap())
        .collect();
    assert_eq!(rows.len(), all.len());

    // Each minute's candle equals the direct computation.
    let want = expected(&all);
    let stored = store
        .query(&Query::new("crypto_trade_candles").tag("window", "1m"))
        .await
        .unwrap();
    let got: Expected = stored
        .iter()
        .flat_map(|b| TradeCandleRow::from_batch(b).unwrap())
        .map(|c| {
            assert_eq!(c.quote, "USDT");
            assert!(
                (c.taker_buy_volume + c.taker_sell_volume - c.volume).abs() < 1e-12,
                "{c:?}"
            );
            assert!((c.vwap - c.quote_volume / c.volume).abs() < 1e-12, "{c:?}");
            (
                (c.crypto_id, c.exchange, c.time.0 / 1_000_000),
                (
                    c.open,
                    c.high,
                    c.low,
                    c.close,
                    c.volume,
                    c.quote_volume,
                    c.trades,
                ),
            )
        })
        .collect();
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for (key, w) in &want {
        let g = got
            .get(key)
            .unwrap_or_else(|| panic!("no candle for {key:?}"));
        assert_eq!(
            (g.0, g.1, g.2, g.3, g.6),
            (w.0, w.1, w.2, w.3, w.6),
            "{key:?}"
        );
        assert!(
            (g.4 - w.4).abs() < 1e-9 && (g.5 - w.5).abs() < 1e-9,
            "{key:?}: {g:?} {w:?}"
        );
    }

    // The dead letters say why.
    let mut reasons = Vec::new();
    for p in 0..log.partition_count(topics::DLQ).await.unwrap() {
        let tp = cryptoviz_log::TopicPartition::new(topics::DLQ, p);
        for r in log.read(&tp, 0, 100).await.unwrap() {
            let letter: DlqRecord = cryptoviz_schemas::decode(&r.value).unwrap();
            assert_eq!(letter.original_topic, topics::TRADES);
            reasons.push(letter.reason);
        }
    }
    assert_eq!(reasons.len(), 2, "each dead letter once: {reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("price")), "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("undecodable")),
        "{reasons:?}"
    );
}
