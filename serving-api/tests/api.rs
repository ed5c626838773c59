//! Handler tests: the router called with `oneshot`, over an embedded store in a tempdir.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cryptoviz_api::{AppState, app};
use cryptoviz_consumers::sinks::{analytics, market::MarketBuilder};
use cryptoviz_consumers::windows::{TumblingWindows, WindowStatus};
use cryptoviz_schemas::CryptoPrice;
use cryptoviz_store::{EmbeddedStore, EmbeddedStoreConfig, Store};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn tick(id: &str, symbol: &str, price: f64, cap: f64, ts: i64) -> CryptoPrice {
    CryptoPrice {
        crypto_id: id.into(),
        symbol: symbol.into(),
        name: id.into(),
        source: "simulated".into(),
        price_usd: price,
        market_cap: Some(cap),
        volume_24h: Some(1e9),
        change_1h: Some(0.5),
        change_24h: None,
        change_7d: None,
        ath: None,
        atl: None,
        circulating_supply: None,
        timestamp_ms: ts,
        ..CryptoPrice::default()
    }
}

/// A store with 10 minutes of ticks for two coins, and their closed 1-minute windows.
async fn state() -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(EmbeddedStoreConfig::new(dir.path())).unwrap();
    let mut market = MarketBuilder::default();
    let mut windows = TumblingWindows::new("1m", 60_000, 0);
    for s in 0..600 {
        let ts = T0 + s * 1_000;
        for (id, sym, base, cap) in [
            ("bitcoin", "BTC", 95_000.0, 1.9e12),
            ("ethereum", "ETH", 3_300.0, 4e11),
        ] {
            let p = base + (s % 60) as f64;
            market.push(&tick(id, sym, p, cap, ts));
            windows.add(id, "simulated", ts, p, 0, s as u64);
        }
    }
    let mut emitted = Vec::new();
    // The watermark at the last tick (00:09:59): minute 9 is still open, emitted as partial.
    windows.advance(Some(T0 + 599_000), &mut emitted);
    windows.emit_open(WindowStatus::Partial, &mut emitted);
    let mut batches = vec![market.finish().unwrap().unwrap()];
    batches.extend(analytics::batch(&emitted).unwrap());
    store.write(batches).await.unwrap();
    let state = AppState::new(Arc::new(store));
    (dir, state)
}

async fn get(state: &AppState, uri: &str) -> (StatusCode, Value) {
    let response = app(state.clone())
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn health_answers() {
    let (_d, s) = state().await;
    let (status, body) = get(&s, "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn coins_lists_the_latest_snapshot_largest_first() {
    let (_d, s) = state().await;
    let (status, body) = get(&s, "/api/v1/coins").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["count"], 2);
    let btc = &body["data"][0];
    assert_eq!(btc["id"], "bitcoin");
    assert_eq!(btc["symbol"], "BTC");
    assert_eq!(btc["price_usd"], 95_059.0); // the last tick: second 599 → 599 % 60 = 59
    assert_eq!(btc["updated_at"], "2026-01-01T00:09:59.000Z");
    assert_eq!(body["data"][1]["id"], "ethereum");
}

#[tokio::test]
async fn history_returns_candles_downsampled_from_the_windows() {
    let (_d, s) = state().await;
    let (status, body) = get(
        &s,
        "/api/v1/coins/bitcoin/history?from=2026-01-01T00:00:00Z&to=2026-01-01T00:10:00Z&interval=5m",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["count"], 2);
    let c = &body["candles"][0];
    assert_eq!(c["time"], "2026-01-01T00:00:00.000Z");
    assert_eq!(c["open"], 95_000.0);
    assert_eq!(c["high"], 95_059.0);
    assert_eq!(c["low"], 95_000.0);
    assert_eq!(c["close"], 95_059.0);
    assert_eq!(c["ticks"], 300);
    // Without from/to: the 24 h before the latest tick, 1-minute candles.
    let (status, body) = get(&s, "/api/v1/coins/ethereum/history").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["count"], 10);
}

#[tokio::test]
async fn analytics_filters_by_coin_and_range() {
    let (_d, s) = state().await;
    let (status, body) = get(&s, "/api/v1/analytics?coin=ethereum&limit=3").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["count"], 3);
    let rows = body["data"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["crypto_id"] == "ethereum"));
    // The newest three, oldest first; the last one was still open (partial).
    assert_eq!(rows[2]["time"], "2026-01-01T00:09:00.000Z");
    assert_eq!(rows[2]["status"], "partial");
    assert_eq!(rows[0]["status"], "closed");
    assert_eq!(rows[0]["count"], 60);
    let (_, body) = get(
        &s,
        "/api/v1/analytics?from=2026-01-01T00:00:00Z&to=2026-01-01T00:02:00Z",
    )
    .await;
    assert_eq!(body["count"], 4, "two windows for each of two coins");
}

#[tokio::test]
async fn bad_parameters_are_400s_naming_them_and_unknown_coins_404() {
    let (_d, s) = state().await;
    for (uri, param) in [
        ("/api/v1/coins/bitcoin/history?from=yesterday", "from"),
        ("/api/v1/coins/bitcoin/history?interval=7m", "interval"),
        (
            "/api/v1/coins/bitcoin/history?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
            "from",
        ),
        ("/api/v1/coins/BTC%27%20OR%201=1/history", "id"),
        ("/api/v1/analytics?coin=Bit%20coin", "coin"),
        ("/api/v1/analytics?limit=0", "limit"),
        ("/api/v1/analytics?window=2m", "window"),
        ("/api/v1/analytics?colour=blue", "query"),
    ] {
        let (status, body) = get(&s, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_eq!(body["error"]["code"], "invalid_parameter", "{uri}");
        assert_eq!(body["error"]["param"], param, "{uri}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().len() > 10);
    }
    let (status, body) = get(&s, "/api/v1/coins/dogecoin/history").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, _) = get(&s, "/api/v1/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
