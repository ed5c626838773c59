//! The fixture every API test shares: an embedded store in a tempdir holding ten minutes of
//! two coins (bitcoin from two sources), their 1-minute and 1-hour windows, two anomaly
//! episodes, three articles with their hourly sentiment and two Fear & Greed readings.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cryptoviz_api::{ApiSettings, AppState, app};
use cryptoviz_consumers::anomalies::{Anomaly, AnomalyKind, EpisodeStatus, Severity};
use cryptoviz_consumers::sinks::coin_info::CoinInfoBuilder;
use cryptoviz_consumers::sinks::{analytics, anomalies, market::MarketBuilder, news, sentiment};
use cryptoviz_consumers::windows::{TumblingWindows, WindowStatus};
use cryptoviz_schemas::{CryptoNews, CryptoPrice, MarketSentiment};
use cryptoviz_store::{EmbeddedStore, EmbeddedStoreConfig, Store};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub(crate) const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

pub(crate) fn tick(
    id: &str,
    symbol: &str,
    source: &str,
    price: f64,
    cap: f64,
    ts: i64,
) -> CryptoPrice {
    CryptoPrice {
        crypto_id: id.into(),
        symbol: symbol.into(),
        name: id.into(),
        source: source.into(),
        price_usd: price,
        market_cap: Some(cap),
        volume_24h: Some(1e9),
        change_1h: Some(0.5),
        change_24h: Some(if id == "bitcoin" { 2.5 } else { -1.25 }),
        change_7d: None,
        ath: None,
        atl: None,
        circulating_supply: None,
        timestamp_ms: ts,
        volume: Some(2.0),
        ..CryptoPrice::default()
    }
}

pub(crate) fn article(guid: &str, title: &str, minute: i64, coins: &[&str]) -> CryptoNews {
    CryptoNews {
        guid: guid.into(),
        title: title.into(),
        summary: None,
        link: format!("https://news.example/{guid}"),
        source: "coindesk".into(),
        published_at_ms: T0 + minute * 60_000,
        fetched_at_ms: T0 + minute * 60_000 + 5_000,
        sentiment_score: None,
        sentiment_label: None,
        coins: coins.iter().map(|c| c.to_string()).collect(),
    }
}

fn anomaly(id: &str, kind: AnomalyKind, minute: i64, score: f64, severity: Severity) -> Anomaly {
    Anomaly {
        crypto_id: id.into(),
        kind,
        source: "simulated".into(),
        start_ms: T0 + minute * 60_000,
        end_ms: T0 + (minute + 1) * 60_000,
        peak_ms: T0 + minute * 60_000,
        observed: 1.5,
        baseline: 0.01,
        score,
        severity,
        status: EpisodeStatus::Ended,
        detail: format!("{id} return 1.5 % vs 0.01 %"),
    }
}

/// Writes the fixture into `store`.
pub(crate) async fn fill(store: &EmbeddedStore) {
    let mut market = MarketBuilder::default();
    let mut info = CoinInfoBuilder::default();
    let mut minutes = TumblingWindows::new("1m", 60_000, 0);
    let mut hours = TumblingWindows::new("1h", 3_600_000, 0);
    for s in 0..600 {
        let ts = T0 + s * 1_000;
        for (id, sym, base, cap) in [
            ("bitcoin", "BTC", 95_000.0, 1.9e12),
            ("ethereum", "ETH", 3_300.0, 4e11),
        ] {
            let p = base + (s % 60) as f64;
            let mut t = tick(id, sym, "simulated", p, cap, ts);
            if id == "bitcoin" {
                // Fundamentals change rarely: a new ATH halfway through.
                t.ath = Some(if s < 300 { 99_000.0 } else { 99_500.0 });
                t.circulating_supply = Some(19.9e6);
            }
            market.push(&t, 0);
            info.push(&t);
            minutes.add(id, "simulated", ts, p, 0, s as u64);
            hours.add(id, "simulated", ts, p, 0, s as u64);
        }
    }
    // A second source for bitcoin, older than the simulated one.
    let cmc = tick(
        "bitcoin",
        "BTC",
        "coinmarketcap",
        95_100.0,
        1.91e12,
        T0 + 300_000,
    );
    market.push(&cmc, 0);
    info.push(&cmc);
    let mut emitted = Vec::new();
    // The watermark at the last tick (00:09:59): minute 9 is still open, emitted as partial.
    minutes.advance(Some(T0 + 599_000), &mut emitted);
    minutes.emit_open(WindowStatus::Partial, &mut emitted);
    hours.emit_open(WindowStatus::Partial, &mut emitted);
    let mut batches = vec![
        market.finish().unwrap().unwrap(),
        info.finish().unwrap().unwrap(),
    ];
    batches.extend(analytics::batch(&emitted).unwrap());
    batches.extend(
        anomalies::batch(&[
            anomaly(
                "bitcoin",
                AnomalyKind::PriceReturn,
                3,
                4.2,
                Severity::Medium,
            ),
            anomaly("ethereum", AnomalyKind::Volume, 7, 6.8, Severity::High),
        ])
        .unwrap(),
    );
    let articles = [
        article(
            "a1",
            "Bitcoin surges to record high as ETF inflows soar",
            1,
            &[],
        ),
        article(
            "a2",
            "Ethereum slumps after exchange hack, losses mount",
            4,
            &[],
        ),
        article("a3", "Markets wait for the Fed minutes", 8, &[]),
    ]
    .map(cryptoviz_consumers::records::enrich);
    batches.extend(news::news_batch(&articles).unwrap());
    batches.extend(
        news::fear_greed_batch(&[
            MarketSentiment {
                source: "alternative.me".into(),
                value: 40,
                classification: "Fear".into(),
                timestamp_ms: T0 - 86_400_000,
            },
            MarketSentiment {
                source: "alternative.me".into(),
                value: 71,
                classification: "Greed".into(),
                timestamp_ms: T0,
            },
        ])
        .unwrap(),
    );
    store.write(batches).await.unwrap();
    let hours: BTreeSet<i64> = [sentiment::hour_of(T0)].into();
    let hourly = sentiment::recompute(store, &hours).await.unwrap();
    store.write(hourly.into_iter().collect()).await.unwrap();
}

/// Settings for handler tests: no rate limit, one API key.
pub(crate) fn settings() -> ApiSettings {
    ApiSettings {
        rate_limit_per_second: 0.0,
        keys: vec![cryptoviz_api::ApiKey::new("test-key-123")],
        ..ApiSettings::default()
    }
}

/// A state over a filled store.
pub(crate) async fn state() -> (tempfile::TempDir, AppState) {
    state_with(settings()).await
}

/// A state over a filled store with `settings`.
pub(crate) async fn state_with(settings: ApiSettings) -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(EmbeddedStoreConfig::new(dir.path().join("store"))).unwrap();
    fill(&store).await;
    let state = AppState::new(Arc::new(store))
        .with_settings(settings)
        .unwrap();
    (dir, state)
}

/// Sends `request` through the whole app; the body as JSON (or a string when it is not).
pub(crate) async fn send(state: &AppState, request: Request<Body>) -> (StatusCode, Value) {
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, body)
}

pub(crate) async fn get(state: &AppState, uri: &str) -> (StatusCode, Value) {
    send(state, Request::get(uri).body(Body::empty()).unwrap()).await
}
