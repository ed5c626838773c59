//! `cryptoviz run --simulate --speed 60` from the outside: health, coins, windows, shutdown.

mod common;

use std::time::{Duration, Instant};

use common::*;

#[test]
fn run_serves_health_coins_and_closed_windows_then_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let started = Instant::now();
    let child = cryptoviz(dir.path())
        .args(["run", "--simulate", "--speed", "60", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .spawn()
        .expect("start cryptoviz");
    let running = Running(child);

    let health = wait_for(Duration::from_secs(1), || {
        get_json(&client, &format!("{base}/health")).filter(|(s, _)| *s == 200)
    });
    assert!(
        health.is_some(),
        "/health did not answer within 1 s of the start"
    );

    let until = |deadline: Duration| deadline.saturating_sub(started.elapsed());
    let coins = wait_for(until(Duration::from_secs(2)), || {
        get_json(&client, &format!("{base}/api/v1/coins"))
            .filter(|(s, body)| *s == 200 && body["count"].as_u64() == Some(20))
    });
    let (_, coins) = coins.expect("/api/v1/coins did not list 20 coins within 2 s");
    let first = &coins["data"][0];
    assert_eq!(first["id"], "bitcoin", "largest market cap first: {first}");
    assert!(first["price_usd"].as_f64().unwrap() > 0.0);

    let windows = wait_for(until(Duration::from_secs(5)), || {
        get_json(&client, &format!("{base}/api/v1/analytics?coin=bitcoin")).filter(|(s, body)| {
            *s == 200
                && body["data"]
                    .as_array()
                    .is_some_and(|rows| rows.iter().any(|r| r["status"] == "closed"))
        })
    });
    let (_, windows) = windows.expect("no closed 1-minute window within 5 s");
    let closed = windows["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == "closed")
        .unwrap();
    assert!(closed["count"].as_i64().unwrap() >= 1);
    assert!(closed["high"].as_f64() >= closed["low"].as_f64());

    let (status, history) = get_json(
        &client,
        &format!("{base}/api/v1/coins/bitcoin/history?interval=1m"),
    )
    .unwrap();
    assert_eq!(status, 200, "{history}");
    assert!(history["count"].as_u64().unwrap() >= 1, "{history}");

    let (status, missing) =
        get_json(&client, &format!("{base}/api/v1/coins/not-a-coin/history")).unwrap();
    assert_eq!(status, 404, "{missing}");
    let (status, bad) = get_json(
        &client,
        &format!("{base}/api/v1/coins/bitcoin/history?from=yesterday"),
    )
    .unwrap();
    assert_eq!(status, 400);
    assert_eq!(bad["error"]["param"], "from");

    let exit = running.terminate(Duration::from_secs(15));
    assert!(exit.success(), "cryptoviz exited with {exit}");
}

#[test]
fn a_malformed_config_value_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let output = cryptoviz(dir.path())
        .args(["run", "--simulate", "--listen", "127.0.0.1:0"])
        .env("CRYPTOVIZ__SIMULATOR__SPEED", "fast")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("simulator.speed"), "{stderr}");

    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[consumer]\nallowed_lateness = \"tomorrow\"\n").unwrap();
    let output = cryptoviz(dir.path())
        .args(["--config"])
        .arg(&config)
        .args(["run", "--simulate"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("consumer.allowed_lateness"), "{stderr}");
}

/// The value of the first sample of `metric` whose labels contain `labels`.
fn sample(text: &str, metric: &str, labels: &str) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(metric) && l.contains(labels))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn produce_and_consume_serve_their_own_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::blocking::Client::new();
    let scrape = |port: u16| -> Option<String> {
        let response = client
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .ok()?;
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        response.text().ok()
    };

    // The producers' process: its sources' counters.
    let port = free_port();
    let child = cryptoviz(dir.path())
        .args(["produce", "--simulate", "--speed", "60"])
        .args(["--metrics-listen", &format!("127.0.0.1:{port}")])
        .spawn()
        .unwrap();
    let producer = Running(child);
    let text = wait_for(Duration::from_secs(30), || {
        scrape(port).filter(|t| {
            sample(
                t,
                "cryptoviz_source_published_total",
                "source=\"simulated\"",
            )
            .is_some_and(|n| n > 0.0)
        })
    })
    .expect("the producer's /metrics never counted a published record");
    assert!(text.contains("cryptoviz_source_rejected_total{source=\"simulated\"} 0"));
    assert!(
        !text.contains("cryptoviz_consumer_"),
        "no consumer runs here"
    );
    let (status, health) = get_json(&client, &format!("http://127.0.0.1:{port}/health")).unwrap();
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    assert!(producer.terminate(Duration::from_secs(20)).success());

    // The consumers' process, on what the producer left in the log: their counters and lag.
    let port = free_port();
    let child = cryptoviz(dir.path())
        .args(["consume", "--exit-when-idle", "5s"])
        .args(["--metrics-listen", &format!("127.0.0.1:{port}")])
        .spawn()
        .unwrap();
    let mut consumer = Running(child);
    let text = wait_for(Duration::from_secs(30), || {
        scrape(port).filter(|t| {
            sample(t, "cryptoviz_consumer_ticks_total", "group=\"prices\"").is_some_and(|n| n > 0.0)
                && sample(
                    t,
                    "cryptoviz_consumer_lag_records",
                    "topic=\"crypto-prices\"",
                )
                .is_some()
        })
    })
    .expect("the consumer's /metrics never showed its ticks and its group's lag");
    assert!(text.contains("# TYPE cryptoviz_consumer_lag_records gauge"));
    assert!(!text.contains("cryptoviz_source_"), "no producer runs here");
    let status = wait_for(Duration::from_secs(30), || consumer.0.try_wait().unwrap());
    assert!(
        status.is_some_and(|s| s.success()),
        "consume did not exit when idle"
    );
}
