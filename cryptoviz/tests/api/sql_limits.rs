//! `/sql` under queries built to exhaust the process: each limit answers a 4xx naming its key,
//! the memory the process holds stays bounded, and the next query runs as usual.

use crate::common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{send, settings, state_with};
use cryptoviz_api::{ApiSettings, AppState, app};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

fn post(query: &str) -> Request<Body> {
    Request::post("/api/v1/sql")
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-api-key", "test-key-123")
        .body(Body::from(json!({ "query": query }).to_string()))
        .unwrap()
}

/// The peak resident memory of this process so far (`VmHWM`), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    kb * 1024
}

async fn assert_still_answers(s: &AppState) {
    let (status, body) = send(s, post("SELECT 41 + 1 AS n")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows"][0][0], 42);
}

/// Both memory cases in one test, so that no other query of this file runs while the peak
/// resident memory is measured.
#[tokio::test]
async fn sql_past_the_memory_limit_gets_a_400_and_the_process_stays_small() {
    let limit = 8 << 20;
    let (_d, s) = state_with(ApiSettings {
        sql_memory_limit_bytes: limit,
        sql_timeout: Duration::from_secs(60),
        ..settings()
    })
    .await;
    let before = peak_rss();
    for query in [
        // Five million groups: hundreds of MB of hash table without the limit.
        "SELECT value % 5000000 AS k, count(*) AS n FROM generate_series(1, 20000000) GROUP BY 1 ORDER BY n DESC",
        // The largest table joined with itself: 1.44 million groups.
        "SELECT a.time AS t1, b.time AS t2, count(*) AS n FROM crypto_market a CROSS JOIN crypto_market b GROUP BY 1, 2 ORDER BY n DESC",
        // One accumulator growing without bound.
        "SELECT array_agg(value) FROM generate_series(1, 100000000)",
    ] {
        let started = Instant::now();
        let (status, body) = send(&s, post(query)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("api.sql_memory_limit_bytes") && message.contains(&limit.to_string()),
            "{message}"
        );
        assert!(started.elapsed() < Duration::from_secs(30), "{query}");
        // Every reservation is returned to the pool (the plan's other partitions stop
        // shortly after the one that failed).
        let deadline = Instant::now() + Duration::from_secs(5);
        while s.sql.memory_reserved_bytes() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(s.sql.memory_reserved_bytes(), 0, "{query}");
    }
    let grown = peak_rss().saturating_sub(before);
    assert!(
        grown < 150 << 20,
        "the process grew by {} MB under an {} MB limit",
        grown >> 20,
        limit >> 20
    );
    assert_still_answers(&s).await;
}

#[tokio::test]
async fn sql_stops_an_endless_series_at_the_row_limit_or_the_time_limit() {
    let (_d, s) = state_with(ApiSettings {
        sql_max_rows: 1000,
        sql_timeout: Duration::from_millis(1500),
        ..settings()
    })
    .await;
    // Streamed: the plan stops reading once it has one row more than the answer holds.
    let started = Instant::now();
    let (status, body) = send(&s, post("SELECT * FROM generate_series(1, 10000000000)")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["row_count"], 1000);
    assert_eq!(body["truncated"], true);
    assert!(started.elapsed() < Duration::from_secs(5));
    // `1e10` is a float: refused with the planner's message, not run.
    let (status, body) = send(&s, post("SELECT * FROM generate_series(1, 1e10)")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Nothing to stop early: the time limit stops it, and frees the query threads.
    let started = Instant::now();
    let (status, body) = send(
        &s,
        post("SELECT count(*) FROM generate_series(1, 10000000000000)"),
    )
    .await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("api.sql_timeout"),
        "{body}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let started = Instant::now();
    assert_still_answers(&s).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the stopped query still holds the query threads"
    );
}

#[tokio::test]
async fn sql_past_the_concurrency_cap_gets_a_429_naming_it() {
    let (_d, s) = state_with(ApiSettings {
        sql_max_concurrent: 1,
        sql_timeout: Duration::from_secs(3),
        ..settings()
    })
    .await;
    // 1,201^3 joined rows: runs until the time limit.
    let slow = tokio::spawn({
        let s = s.clone();
        async move {
            send(&s, post("SELECT count(*) FROM crypto_market a, crypto_market b, crypto_market c WHERE a.price_usd + b.price_usd > c.price_usd")).await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let response = app(s.clone()).oneshot(post("SELECT 1")).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("api.sql_max_concurrent"),
        "{body}"
    );
    let (status, _) = slow.await.unwrap();
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    // The permit came back with the stopped query.
    assert_still_answers(&s).await;
}
