//! Handler tests: the router called with `oneshot` over the shared fixture (common.rs),
//! with `insta` snapshots of whole answers (api/snapshots/api__api__*.snap). A different answer
//! fails the test and leaves the new one beside the old as `.snap.new`: review and accept it
//! with `cargo insta review` (or rerun with `INSTA_UPDATE=always`).

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{get, send, state};
use insta::assert_json_snapshot;
use serde_json::Value;

#[tokio::test]
async fn health_answers() {
    let (_d, s) = state().await;
    let (status, body) = get(&s, "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    let (status, body) = get(&s, "/api/v1/ready").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["store"], "ok");
    assert_eq!(body["log"], "not used");
}

#[tokio::test]
async fn ready_fails_naming_a_stage_that_failed_for_good() {
    let (_d, s) = state().await;
    let s = s.with_readiness(std::sync::Arc::new(|| {
        Err("price consumer failed: store: invalid write batch".into())
    }));
    let (status, body) = get(&s, "/api/v1/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.to_string().contains("price consumer failed"), "{body}");
    // Liveness is another matter: the process answers.
    assert_eq!(get(&s, "/health").await.0, StatusCode::OK);
}

#[tokio::test]
async fn coins_lists_the_latest_snapshot_largest_first() {
    let (_d, s) = state().await;
    let (status, body) = get(&s, "/api/v1/coins").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["count"], 2);
    assert_eq!(body["total"], 2);
    let btc = &body["data"][0];
    assert_eq!(btc["id"], "bitcoin");
    assert_eq!(btc["symbol"], "BTC");
    // The newest tick across sources: the simulated one at second 599 (599 % 60 = 59).
    assert_eq!(btc["source"], "simulated");
    assert_eq!(btc["price_usd"], 95_059.0);
    assert_eq!(btc["updated_at"], "2026-01-01T00:09:59.000Z");
    assert!(
        btc["volatility_pct"].as_f64().unwrap() > 0.0,
        "from the 1-hour window"
    );
    // Name, ATH and supply come from the series' newest `crypto_coin_info` point.
    assert_eq!(btc["name"], "bitcoin");
    assert_eq!(btc["ath"], 99_500.0);
    assert_eq!(btc["circulating_supply"], 19.9e6);
    assert_eq!(body["data"][1]["id"], "ethereum");
    assert!(body["data"][1]["ath"].is_null());
    assert_json_snapshot!("coins", body);
}

#[tokio::test]
async fn coins_sort_filter_and_paginate() {
    let (_d, s) = state().await;
    let ids = |body: &serde_json::Value| -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, body) = get(&s, "/api/v1/coins?sort=change_24h&order=asc").await;
    assert_eq!(ids(&body), ["ethereum", "bitcoin"]);
    let (_, body) = get(&s, "/api/v1/coins?sort=price&order=asc&limit=1&offset=1").await;
    assert_eq!(ids(&body), ["bitcoin"]);
    assert_eq!(
        (body["total"].as_u64(), body["count"].as_u64()),
        (Some(2), Some(1))
    );
    let (_, body) = get(&s, "/api/v1/coins?ids=ethereum,dogecoin").await;
    assert_eq!(ids(&body), ["ethereum"]);
    let (_, body) = get(&s, "/api/v1/coins?sparkline=true&limit=1").await;
    let line = body["data"][0]["sparkline"].as_array().unwrap();
    assert!(!line.is_empty(), "{body}");
}

#[tokio::test]
async fn a_coin_shows_every_source_side_by_side() {
    let (_d, s) = state().await;
    let (status, body) = get(&s, "/api/v1/coins/bitcoin").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], "bitcoin");
    let sources: Vec<&str> = body["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["simulated", "coinmarketcap"]);
    assert_eq!(body["sources"][1]["price_usd"], 95_100.0);
    assert_json_snapshot!("coin_bitcoin", body);
    let (status, body) = get(&s, "/api/v1/coins/dogecoin").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
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
    assert_eq!(body["source"], "simulated");
    let c = &body["candles"][0];
    assert_eq!(c["time"], "2026-01-01T00:00:00.000Z");
    assert_eq!(c["open"], 95_000.0);
    assert_eq!(c["high"], 95_059.0);
    assert_eq!(c["low"], 95_000.0);
    assert_eq!(c["close"], 95_059.0);
    assert_eq!(c["ticks"], 300);
    // Without from/to: the 24 h before the latest tick; `auto` picks 5-minute candles there.
    let (status, body) = get(&s, "/api/v1/coins/ethereum/history").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["interval"], "5m");
    assert_eq!(body["count"], 2);
    let (_, body) = get(&s, "/api/v1/coins/ethereum/history?range=1h&interval=1m").await;
    assert_eq!(body["count"], 10);
    assert_eq!(body["to"], "2026-01-01T00:10:00.000Z");
    // Hourly candles come from the 1-hour windows.
    let (_, body) = get(&s, "/api/v1/coins/bitcoin/history?range=7d&interval=1h").await;
    assert_eq!(body["count"], 1);
    assert_eq!(body["candles"][0]["ticks"], 600);
    // Another source's candles on request; none here for coinmarketcap (no windows).
    let (status, body) = get(&s, "/api/v1/coins/bitcoin/history?source=coinmarketcap").await;
    assert_eq!((status, body["count"].as_u64()), (StatusCode::OK, Some(0)));
}

#[tokio::test]
async fn indicators_and_global() {
    let (_d, s) = state().await;
    let (status, body) = get(&s, "/api/v1/coins/bitcoin/indicators?window=1m").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["count"], 10);
    assert!(body["data"][0].get("sma_20").is_some());
    let (status, body) = get(&s, "/api/v1/global").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["coins"], 2);
    let btc = body["btc_dominance"].as_f64().unwrap();
    assert!((btc - 1.9e12 / 2.3e12 * 100.0).abs() < 1e-9, "{body}");
    assert_json_snapshot!("global", body);
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
async fn top_volatile_and_compare() {
    let (_d, s) = state().await;
    let (status, body) = get(&s, "/api/v1/analytics/top-volatile").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["window"], "1h");
    assert_eq!(body["count"], 2);
    let v0 = body["data"][0]["volatility_pct"].as_f64().unwrap();
    let v1 = body["data"][1]["volatility_pct"].as_f64().unwrap();
    assert!(v0 >= v1);
    assert_json_snapshot!("top_volatile", body);
    let (status, body) = get(
        &s,
        "/api/v1/analytics/compare?ids=bitcoin,ethereum&from=2026-01-01T00:00:00Z&to=2026-01-01T00:10:00Z&interval=1m",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let series = body["series"].as_array().unwrap();
    assert_eq!(series.len(), 2);
    let first = &series[0]["points"][0];
    assert_eq!(first["change_pct"], 0.0, "normalised to the first close");
    let eth = &series[1]["points"][1];
    // Each minute closes at base + 59: ethereum's second close equals its first.
    assert_eq!(eth["close"], 3_359.0);
    let (status, body) = get(&s, "/api/v1/analytics/compare?ids=bitcoin").await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (StatusCode::BAD_REQUEST, Some("ids"))
    );
}

#[tokio::test]
async fn anomalies_filter_by_coin_kind_and_severity() {
    let (_d, s) = state().await;
    let (status, body) = get(&s, "/api/v1/anomalies").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["count"], 2);
    assert_eq!(body["data"][0]["crypto_id"], "ethereum", "newest first");
    assert_json_snapshot!("anomalies", body);
    for (query, n) in [
        ("coin=bitcoin", 1),
        ("kind=volume", 1),
        ("severity=high", 1),
        ("severity=low", 0),
        ("coin=bitcoin&kind=volume", 0),
        ("from=2026-01-01T00:05:00Z", 1),
    ] {
        let (status, body) = get(&s, &format!("/api/v1/anomalies?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(body["count"], n, "{query}");
    }
}

#[tokio::test]
async fn news_with_sentiment_sources_and_fear_greed() {
    let (_d, s) = state().await;
    let (status, body) = get(&s, "/api/v1/news").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["count"], 3);
    assert_eq!(body["data"][0]["guid"], "a3", "newest first");
    assert_json_snapshot!("news", body);
    let labels = |q: &str| {
        let s = s.clone();
        let q = q.to_string();
        async move {
            let (_, body) = get(&s, &format!("/api/v1/news?{q}")).await;
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["guid"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(labels("sentiment=positive").await, ["a1"]);
    assert_eq!(labels("sentiment=negative").await, ["a2"]);
    assert_eq!(labels("coin=ethereum").await, ["a2"]);
    assert_eq!(labels("limit=1&offset=1").await, ["a2"]);
    let (_, body) = get(&s, "/api/v1/news/sources").await;
    assert_eq!(body["data"][0]["source"], "coindesk");
    assert_eq!(body["data"][0]["articles"], 3);
    let (status, body) = get(
        &s,
        "/api/v1/sentiment?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["coin"], "market");
    assert_eq!(body["data"][0]["articles"], 3);
    let (_, body) = get(&s, "/api/v1/fear-greed").await;
    assert_eq!(body["latest"]["value"], 71);
    assert_eq!(body["count"], 2);
    assert_json_snapshot!("fear_greed", body);
}

#[tokio::test]
async fn bad_parameters_are_400s_naming_them_and_unknown_coins_404() {
    let (_d, s) = state().await;
    for (uri, param) in [
        ("/api/v1/coins/bitcoin/history?from=yesterday", "from"),
        ("/api/v1/coins/bitcoin/history?interval=7m", "interval"),
        ("/api/v1/coins/bitcoin/history?range=2w", "range"),
        (
            "/api/v1/coins/bitcoin/history?range=1h&from=2026-01-01T00:00:00Z",
            "range",
        ),
        ("/api/v1/coins/bitcoin/history?to=99999999999999999", "to"),
        (
            "/api/v1/coins/bitcoin/history?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
            "from",
        ),
        (
            "/api/v1/coins/bitcoin/history?range=1y&interval=1m",
            "interval",
        ),
        ("/api/v1/coins/BTC%27%20OR%201=1/history", "id"),
        ("/api/v1/coins?sort=name", "sort"),
        ("/api/v1/coins?limit=1000", "limit"),
        ("/api/v1/coins?ids=bitcoin,%20DROP", "ids"),
        ("/api/v1/coins?sparkline=maybe", "sparkline"),
        ("/api/v1/analytics?coin=Bit%20coin", "coin"),
        ("/api/v1/analytics?limit=0", "limit"),
        ("/api/v1/analytics?window=2m", "window"),
        ("/api/v1/analytics?colour=blue", "query"),
        ("/api/v1/anomalies?severity=extreme", "severity"),
        ("/api/v1/news?sentiment=happy", "sentiment"),
        ("/api/v1/news?source=a%20b", "source"),
        ("/api/v1/stream?topics=prices,gossip", "topics"),
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
    // No log in this process: the dead letters cannot be read, and it says so.
    let with_key = |uri: &str| {
        Request::get(uri)
            .header("x-api-key", "test-key-123")
            .body(Body::empty())
            .unwrap()
    };
    let (status, body) = send(&s, with_key("/api/v1/dlq")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_IMPLEMENTED, Some("unsupported"))
    );
    let (status, body) = send(&s, with_key("/api/v1/dlq/not-an-id")).await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (StatusCode::BAD_REQUEST, Some("id"))
    );
    let (status, body) = get(&s, "/api/v1/nothing-here").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
}

#[tokio::test]
async fn the_openapi_document_covers_every_route_and_docs_render() {
    let (_d, s) = state().await;
    let (status, doc) = get(&s, "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/coins",
        "/api/v1/coins/{id}",
        "/api/v1/coins/{id}/history",
        "/api/v1/coins/{id}/indicators",
        "/api/v1/global",
        "/api/v1/analytics",
        "/api/v1/analytics/top-volatile",
        "/api/v1/analytics/compare",
        "/api/v1/anomalies",
        "/api/v1/news",
        "/api/v1/news/sources",
        "/api/v1/sentiment",
        "/api/v1/fear-greed",
        "/api/v1/stream",
        "/api/v1/alerts",
        "/api/v1/alerts/{id}",
        "/api/v1/alerts/fired",
        "/api/v1/sql",
        "/api/v1/health",
        "/api/v1/ready",
        "/api/v1/dlq",
        "/api/v1/dlq/{id}",
        "/api/v1/dlq/replay",
        "/api/v1/replays",
        "/api/v1/replays/{id}",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
    // Every schema reference resolves (a dangling one makes clients skip that part).
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 20);
    for r in all {
        let name = r.trim_start_matches("#/components/schemas/");
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling reference {r}"
        );
    }
    let (status, page) = get(&s, "/docs").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.as_str().unwrap().contains("/api/v1/openapi.json"));
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_route_templates() {
    let (_d, s) = state().await;
    get(&s, "/api/v1/coins/bitcoin").await;
    get(&s, "/api/v1/coins/ethereum").await;
    let (status, body) = get(&s, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let text = body.as_str().unwrap();
    assert!(text.contains("# TYPE cryptoviz_http_request_duration_seconds histogram"));
    // Both requests under one low-cardinality series: the template, not the raw path.
    assert!(
        text.contains(r#"cryptoviz_http_request_duration_seconds_count{method="GET",route="/api/v1/coins/{id}",status="200"} 2"#),
        "{text}"
    );
    assert!(!text.contains("route=\"/api/v1/coins/bitcoin\""));
}
