//! Every sink writes exactly the schema, tags and name its measurement declares in
//! `cryptoviz-measurements` (written against the hand-built schemas the sinks had before the
//! contract existed, so it proves the stored format did not change).

use std::collections::BTreeSet;

use cryptoviz_consumers::anomalies::{Anomaly, AnomalyKind, EpisodeStatus, Severity};
use cryptoviz_consumers::sinks::coin_info::CoinInfoBuilder;
use cryptoviz_consumers::sinks::{analytics, anomalies, market::MarketBuilder, news, sentiment};
use cryptoviz_consumers::windows::{TumblingWindows, WindowStatus};
use cryptoviz_measurements::Measurement;
use cryptoviz_measurements::analytics::AnalyticsRow;
use cryptoviz_measurements::anomalies::AnomalyRow;
use cryptoviz_measurements::coin_info::CoinInfoRow;
use cryptoviz_measurements::fear_greed::FearGreedRow;
use cryptoviz_measurements::market::MarketRow;
use cryptoviz_measurements::news::NewsRow;
use cryptoviz_measurements::sentiment::SentimentRow;
use cryptoviz_schemas::{CryptoNews, CryptoPrice, MarketSentiment};
use cryptoviz_store::{EmbeddedStore, EmbeddedStoreConfig, Store, WriteBatch};

fn assert_declared<M: Measurement>(batch: &WriteBatch) {
    assert_eq!(batch.measurement, M::NAME);
    assert_eq!(batch.tags, M::tags(), "{}", M::NAME);
    assert_eq!(*batch.batch.schema(), *M::schema(), "{}", M::NAME);
}

fn tick(ts: i64) -> CryptoPrice {
    CryptoPrice {
        crypto_id: "bitcoin".into(),
        symbol: "BTC".into(),
        name: "Bitcoin".into(),
        source: "sim".into(),
        price_usd: 100.0 + ts as f64,
        market_cap: Some(1e9),
        ath: Some(200.0),
        timestamp_ms: ts,
        ..CryptoPrice::default()
    }
}

#[tokio::test]
async fn every_sink_writes_its_declared_schema() {
    let mut market = MarketBuilder::default();
    let mut info = CoinInfoBuilder::default();
    let mut minutes = TumblingWindows::new("1m", 60_000, 0);
    for s in 0..120 {
        let t = tick(s * 1_000);
        market.push(&t, 0);
        info.push(&t);
        minutes.add("bitcoin", "sim", t.timestamp_ms, t.price_usd, 0, s as u64);
    }
    assert_declared::<MarketRow>(&market.finish().unwrap().unwrap());
    assert_declared::<CoinInfoRow>(&info.finish().unwrap().unwrap());

    let mut emitted = Vec::new();
    minutes.advance(Some(119_000), &mut emitted);
    minutes.emit_open(WindowStatus::Partial, &mut emitted);
    assert_declared::<AnalyticsRow>(&analytics::batch(&emitted).unwrap().unwrap());

    let anomaly = Anomaly {
        crypto_id: "bitcoin".into(),
        kind: AnomalyKind::Volume,
        source: "sim".into(),
        start_ms: 0,
        end_ms: 60_000,
        peak_ms: 0,
        observed: 2.0,
        baseline: 1.0,
        score: 5.0,
        severity: Severity::High,
        status: EpisodeStatus::Ongoing,
        detail: "d".into(),
    };
    assert_declared::<AnomalyRow>(&anomalies::batch(&[anomaly]).unwrap().unwrap());

    let article = cryptoviz_consumers::records::enrich(CryptoNews {
        guid: "g".into(),
        title: "Bitcoin surges".into(),
        summary: None,
        link: "https://x.test/a".into(),
        source: "coindesk".into(),
        published_at_ms: 1_000,
        fetched_at_ms: 2_000,
        sentiment_score: None,
        sentiment_label: None,
        coins: vec![],
    });
    let news_batch = news::news_batch(&[article]).unwrap().unwrap();
    assert_declared::<NewsRow>(&news_batch);
    let reading = MarketSentiment {
        source: "alternative.me".into(),
        value: 40,
        classification: "Fear".into(),
        timestamp_ms: 0,
    };
    assert_declared::<FearGreedRow>(&news::fear_greed_batch(&[reading]).unwrap().unwrap());

    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(EmbeddedStoreConfig::new(dir.path().join("s"))).unwrap();
    store.write(vec![news_batch]).await.unwrap();
    let hours: BTreeSet<i64> = [sentiment::hour_of(1_000)].into();
    let hourly = sentiment::recompute(&store, &hours).await.unwrap().unwrap();
    assert_declared::<SentimentRow>(&hourly);
}
