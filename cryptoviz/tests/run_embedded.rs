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
