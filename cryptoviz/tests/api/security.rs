//! The guards: API keys, CORS, rate limits, body limits, and `/sql`'s read-only and time
//! limits.

use crate::common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{get, send, settings, state, state_with};
use cryptoviz_api::ApiSettings;
use serde_json::{Value, json};
use tower::ServiceExt;

fn post(uri: &str, key: Option<&str>, body: &Value) -> Request<Body> {
    let mut r = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(k) = key {
        r = r.header("x-api-key", k);
    }
    r.body(Body::from(body.to_string())).unwrap()
}

fn sql(query: &str) -> Value {
    json!({ "query": query })
}

#[tokio::test]
async fn protected_endpoints_refuse_a_missing_or_wrong_key() {
    let (_d, s) = state().await;
    let rule = json!({"kind": "price_above", "coin": "bitcoin", "threshold": 1e5});
    for key in [None, Some("wrong-key-000"), Some("")] {
        for request in [
            post("/api/v1/alerts", key, &rule),
            post("/api/v1/sql", key, &sql("SELECT 1")),
            post("/api/v1/dlq/replay", key, &json!({})),
            post("/api/v1/replays", key, &json!({"from": "beginning"})),
        ] {
            let (status, body) = send(&s, request).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{key:?}: {body}");
            assert_eq!(body["error"]["code"], "unauthorized");
        }
        for uri in ["/api/v1/dlq", "/api/v1/dlq/0:0"] {
            let mut r = Request::get(uri);
            if let Some(k) = key {
                r = r.header("x-api-key", k);
            }
            let (status, _) = send(&s, r.body(Body::empty()).unwrap()).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
        }
        for uri in ["/api/v1/alerts/r1", "/api/v1/replays/1"] {
            let mut r = Request::delete(uri);
            if let Some(k) = key {
                r = r.header("x-api-key", k);
            }
            let (status, _) = send(&s, r.body(Body::empty()).unwrap()).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
        }
    }
    // With the key, a process without a log says replays are not offered here.
    let (status, body) = send(
        &s,
        post(
            "/api/v1/replays",
            Some("test-key-123"),
            &json!({"from": "beginning"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{body}");
    // Reading the rules needs no key.
    let (status, _) = get(&s, "/api/v1/alerts").await;
    assert_eq!(status, StatusCode::OK);
    // With no key configured at all, protected endpoints are closed, not open.
    let (_d2, open) = state_with(ApiSettings {
        keys: Vec::new(),
        ..settings()
    })
    .await;
    let (status, _) = send(&open, post("/api/v1/sql", None, &sql("SELECT 1"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn alert_rules_are_created_listed_and_deleted_with_the_key() {
    let (_d, s) = state().await;
    let key = Some("test-key-123");
    let (status, rule) = send(
        &s,
        post(
            "/api/v1/alerts",
            key,
            &json!({"kind": "change_pct", "coin": "bitcoin", "threshold": 5, "window": "24h"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{rule}");
    let id = rule["id"].as_str().unwrap().to_string();
    let (_, list) = get(&s, "/api/v1/alerts").await;
    assert_eq!(list["count"], 1);
    let (status, body) = send(
        &s,
        post(
            "/api/v1/alerts",
            key,
            &json!({"kind": "price_above", "coin": "bitcoin"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["param"], "body");
    let (status, body) = send(
        &s,
        post(
            "/api/v1/alerts",
            key,
            &json!({"kind": "price_above", "coin": "bitcoin", "threshold": -3}),
        ),
    )
    .await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (StatusCode::BAD_REQUEST, Some("threshold"))
    );
    let delete = |id: &str| {
        Request::delete(format!("/api/v1/alerts/{id}"))
            .header("x-api-key", "test-key-123")
            .body(Body::empty())
            .unwrap()
    };
    let (status, _) = send(&s, delete(&id)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(&s, delete(&id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn cors_headers_only_for_allowed_origins() {
    let (_d, s) = state_with(ApiSettings {
        cors_origins: vec!["https://dash.example.com".into()],
        ..settings()
    })
    .await;
    let preflight = |origin: &str| {
        Request::options("/api/v1/coins")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .body(Body::empty())
            .unwrap()
    };
    let allowed = cryptoviz_api::app(s.clone())
        .oneshot(preflight("https://dash.example.com"))
        .await
        .unwrap();
    assert_eq!(
        allowed
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .unwrap(),
        "https://dash.example.com"
    );
    let refused = cryptoviz_api::app(s.clone())
        .oneshot(preflight("https://evil.example.com"))
        .await
        .unwrap();
    assert!(
        refused
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
    let simple = cryptoviz_api::app(s)
        .oneshot(
            Request::get("/api/v1/coins")
                .header(header::ORIGIN, "https://evil.example.com")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(simple.status(), StatusCode::OK);
    assert!(
        simple
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
}

#[tokio::test]
async fn a_burst_past_the_limit_gets_429_with_retry_after() {
    let (_d, s) = state_with(ApiSettings {
        rate_limit_per_second: 1.0,
        rate_limit_burst: 5,
        ..settings()
    })
    .await;
    let mut codes = Vec::new();
    for _ in 0..8 {
        let response = cryptoviz_api::app(s.clone())
            .oneshot(Request::get("/api/v1/health").body(Body::empty()).unwrap())
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry: u64 = response.headers()[header::RETRY_AFTER]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=2).contains(&retry), "Retry-After {retry}");
        }
        codes.push(response.status().as_u16());
    }
    assert_eq!(codes, [200, 200, 200, 200, 200, 429, 429, 429]);
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let (_d, s) = state_with(ApiSettings {
        body_limit_bytes: 1024,
        ..settings()
    })
    .await;
    let big = sql(&format!("SELECT '{}'", "x".repeat(4000)));
    let (status, body) = send(&s, post("/api/v1/sql", Some("test-key-123"), &big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn sql_answers_json_and_csv_and_refuses_writes() {
    let (_d, s) = state().await;
    let key = Some("test-key-123");
    let (status, body) = send(
        &s,
        post(
            "/api/v1/sql",
            key,
            &sql("SELECT crypto_id, count(*) AS n, max(price_usd) AS top FROM crypto_market WHERE source = 'simulated' GROUP BY crypto_id ORDER BY crypto_id"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["columns"][1]["name"], "n");
    assert_eq!(
        body["rows"],
        json!([["bitcoin", 600, 95_059.0], ["ethereum", 600, 3_359.0]])
    );
    assert_eq!(body["truncated"], false);
    let (_, body) = send(
        &s,
        post(
            "/api/v1/sql",
            key,
            &json!({"query": "SELECT time FROM crypto_market", "limit": 5}),
        ),
    )
    .await;
    assert_eq!(
        (body["row_count"].as_u64(), body["truncated"].as_bool()),
        (Some(5), Some(true))
    );
    let (status, body) = send(
        &s,
        post("/api/v1/sql", key, &json!({"query": "SELECT crypto_id, kind FROM crypto_anomalies ORDER BY crypto_id", "format": "csv"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        "crypto_id,kind\r\nbitcoin,price_return\r\nethereum,volume\r\n"
    );
    for statement in [
        "INSERT INTO crypto_market (crypto_id) VALUES ('x')",
        "DELETE FROM crypto_market",
        "CREATE TABLE t AS SELECT 1",
        "  create external table t stored as parquet location '/etc'",
        "COPY crypto_market TO '/tmp/out.parquet'",
        "SET datafusion.execution.batch_size = 1",
        "DROP TABLE crypto_market",
    ] {
        let (status, body) = send(&s, post("/api/v1/sql", key, &sql(statement))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{statement}: {body}");
        assert_eq!(body["error"]["param"], "query", "{statement}");
    }
    // A statement the keyword check lets through is still refused by the planner.
    let (status, _) = send(
        &s,
        post(
            "/api/v1/sql",
            key,
            &sql("WITH x AS (SELECT 1) INSERT INTO crypto_market SELECT * FROM x"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = send(
        &s,
        post("/api/v1/sql", key, &sql("SELECT * FROM no_such_table")),
    )
    .await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (StatusCode::BAD_REQUEST, Some("query"))
    );
}

#[tokio::test]
async fn sql_stops_a_slow_query() {
    let (_d, s) = state_with(ApiSettings {
        sql_timeout: Duration::from_millis(300),
        ..settings()
    })
    .await;
    let started = std::time::Instant::now();
    // 1,201^3 ≈ 1.7 billion joined rows: far longer than the limit.
    let (status, body) = send(
        &s,
        post(
            "/api/v1/sql",
            Some("test-key-123"),
            &sql("SELECT count(*) FROM crypto_market a, crypto_market b, crypto_market c WHERE a.price_usd + b.price_usd > c.price_usd"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT, "{body}");
    assert_eq!(body["error"]["code"], "timeout");
    // Stopped near the limit, not after the query finished (a generous bound: CI is slow).
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn webhooks_take_https_refuse_internal_hosts_and_are_never_shown() {
    let (_d, s) = state().await;
    let key = Some("test-key-123");
    let hook = |url: &str| json!({"kind": "price_above", "coin": "bitcoin", "threshold": 1e5, "webhook_url": url});
    // A real HTTPS webhook (Slack's shape, its token in the path) is accepted...
    let secret = "https://hooks.slack.com/services/T0000/B0000/XXXXsecretXXXX";
    let (status, created) = send(&s, post("/api/v1/alerts", key, &hook(secret))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    // ...and never shown again, neither in the answer nor in the list.
    assert_eq!(created["webhook_url"], "https://hooks.slack.com/***");
    let (_, list) = get(&s, "/api/v1/alerts").await;
    assert_eq!(
        list["data"][0]["webhook_url"],
        "https://hooks.slack.com/***"
    );
    assert!(!list.to_string().contains("secret"), "{list}");
    // Internal hosts are refused, however they are written.
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost:8080/hook",
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://10.0.0.5/hook",
        "http://192.168.1.1/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://2130706433/",
        "gopher://example.com/",
    ] {
        let (status, body) = send(&s, post("/api/v1/alerts", key, &hook(url))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
        assert_eq!(body["error"]["param"], "webhook_url", "{url}");
    }
    // Unless the configuration allows their network.
    let mut allowing = settings();
    allowing.webhook_allowed_networks =
        cryptoviz_api::settings::Networks::parse(&["127.0.0.1/32"]).unwrap();
    let (_d2, open) = state_with(allowing).await;
    let (status, body) = send(
        &open,
        post("/api/v1/alerts", key, &hook("http://127.0.0.1:8080/hook")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["webhook_url"], "http://127.0.0.1:8080/***");
}

fn from(peer: [u8; 4], forwarded: Option<&str>) -> Request<Body> {
    let mut r = Request::get("/api/v1/health");
    if let Some(f) = forwarded {
        r = r.header("x-forwarded-for", f);
    }
    let mut r = r.body(Body::empty()).unwrap();
    r.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            peer, 40_000,
        ))));
    r
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_bucket() {
    let (_d, s) = state_with(ApiSettings {
        rate_limit_per_second: 0.001,
        rate_limit_burst: 2,
        trusted_proxies: cryptoviz_api::settings::Networks::parse(&["172.30.80.10"]).unwrap(),
        ..settings()
    })
    .await;
    let status = |r| {
        let s = s.clone();
        async move { send(&s, r).await.0 }
    };
    let proxy = [172, 30, 80, 10];
    // Two viewers behind the proxy: each has its own burst.
    for _ in 0..2 {
        assert_eq!(
            status(from(proxy, Some("203.0.113.1"))).await,
            StatusCode::OK
        );
    }
    assert_eq!(
        status(from(proxy, Some("203.0.113.1"))).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        status(from(proxy, Some("203.0.113.2"))).await,
        StatusCode::OK
    );
    // A viewer forging the header is still keyed on what the proxy appended.
    assert_eq!(
        status(from(proxy, Some("198.51.100.1, 203.0.113.1"))).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // A client talking to the API directly cannot pick a fresh address with the header.
    let direct = [198, 51, 100, 77];
    for (i, expected) in [
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::TOO_MANY_REQUESTS,
    ]
    .into_iter()
    .enumerate()
    {
        let forged = format!("192.0.2.{i}");
        assert_eq!(status(from(direct, Some(&forged))).await, expected);
    }
}
