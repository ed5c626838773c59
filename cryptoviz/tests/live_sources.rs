//! `cryptoviz run` with the real agents pointed (by config) at a local HTTP server that serves
//! recorded-shape responses: the served coins reach `/api/v1/coins`, the served headlines and
//! the Fear & Greed value reach the store, `/api/v1/sources` reports every agent, and a dead
//! upstream leaves the process serving.

mod common;

use std::time::Duration;

use common::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../producers/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn run_polls_configured_sources_into_the_api_and_the_store() {
    let upstream = serve(vec![
        ("/api/v3/coins/markets", fixture("cg_markets.json")),
        ("/fng/", fixture("fng.json")),
        ("/feed.xml", fixture("feed_rss.xml")),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cryptoviz.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[sources.coingecko]
base_url = "{upstream}"
interval = "60s"
[sources.feargreed]
base_url = "{upstream}"
interval = "60s"
[sources.news]
interval = "60s"
feeds = [{{ name = "testfeed", url = "{upstream}/feed.xml" }}, {{ name = "deadfeed", url = "http://127.0.0.1:9/rss" }}]
[sources.news.http]
retries = 0
timeout = "1s"
[sources.binance]
enabled = false
[sources.coinbase]
enabled = false
[sources.kraken]
enabled = false
"#
        ),
    )
    .unwrap();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let (running, base) = run_with_config(dir.path(), &config);

    // Every agent polls once at start-up, well within one 60 s interval.
    let (_, coins) = wait_for(Duration::from_secs(20), || {
        get_json(&client, &format!("{base}/api/v1/coins"))
            .filter(|(s, body)| *s == 200 && body["count"].as_u64() >= Some(2))
    })
    .expect("the served coins did not reach /api/v1/coins");
    // The fixture also holds a coin with a null price and an item of the wrong shape:
    // dead-lettered, never listed.
    assert_eq!(coins["count"], 2, "{coins}");
    let ids: Vec<&str> = coins["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"bitcoin") && ids.contains(&"ethereum"),
        "{ids:?}"
    );
    assert!(
        coins["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["source"] == "coingecko"),
        "{coins}"
    );

    let (_, news) = wait_for(Duration::from_secs(20), || {
        get_json(&client, &format!("{base}/api/v1/news?source=testfeed"))
            .filter(|(s, body)| *s == 200 && body["count"].as_u64() >= Some(2))
    })
    .expect("the served headlines did not reach the store");
    let titles: Vec<&str> = news["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["title"].as_str())
        .collect();
    assert!(
        titles.contains(&"Bitcoin's rally & the ETF flows"),
        "entities decoded in stored titles: {titles:?}"
    );
    // The consumers scored the article and tagged its coin on word boundaries.
    let rally = news["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["title"] == "Bitcoin's rally & the ETF flows")
        .unwrap();
    assert_eq!(rally["sentiment_label"], "positive", "{rally}");
    assert!(rally["sentiment_score"].as_f64() > Some(0.0), "{rally}");
    assert_eq!(rally["coins"], serde_json::json!(["bitcoin"]), "{rally}");

    let (_, fng) = wait_for(Duration::from_secs(20), || {
        get_json(&client, &format!("{base}/api/v1/fear-greed"))
            .filter(|(s, body)| *s == 200 && body["count"].as_u64() >= Some(1))
    })
    .expect("the Fear & Greed value did not reach the store");
    assert!(fng["latest"]["value"].as_i64().is_some(), "{fng}");

    // The dead feed makes the news agent report an error, yet the process keeps serving and
    // the other agents are unaffected.
    let (_, sources) = wait_for(Duration::from_secs(20), || {
        get_json(&client, &format!("{base}/api/v1/sources")).filter(|(s, body)| {
            *s == 200
                && body["data"].as_array().is_some_and(|all| {
                    all.iter()
                        .any(|a| a["name"] == "news" && !a["last_error"].is_null())
                })
        })
    })
    .expect("/api/v1/sources did not report the dead feed");
    let names: Vec<&str> = sources["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["coingecko", "feargreed", "news"],
        "no key: CMC stays off"
    );
    let coingecko = &sources["data"][0];
    assert_eq!(coingecko["published"], 2, "{coingecko}");
    assert_eq!(
        coingecko["rejected"], 2,
        "null price and wrong shape: {coingecko}"
    );
    assert!(
        coingecko["last_success_ms"].as_i64().is_some(),
        "{coingecko}"
    );
    assert_eq!(coingecko["breaker"], "closed", "{coingecko}");

    let (status, _) = get_json(&client, &format!("{base}/health")).unwrap();
    assert_eq!(status, 200);
    let exit = running.terminate(Duration::from_secs(15));
    assert!(exit.success(), "cryptoviz exited with {exit}");
}

#[test]
fn without_network_run_keeps_serving_and_reports_failing_sources() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cryptoviz.toml");
    // Port 9 (discard) on loopback refuses connections: every agent fails at once.
    std::fs::write(
        &config,
        r#"
[sources.coingecko]
base_url = "http://127.0.0.1:9"
http = { retries = 0, timeout = "1s" }
[sources.feargreed]
base_url = "http://127.0.0.1:9"
http = { retries = 0, timeout = "1s" }
[sources.news]
feeds = [{ name = "offline", url = "http://127.0.0.1:9/rss" }]
http = { retries = 0, timeout = "1s" }
[sources.binance]
ws_url = "ws://127.0.0.1:9"
rest_url = "http://127.0.0.1:9"
[sources.coinbase]
ws_url = "ws://127.0.0.1:9"
rest_url = "http://127.0.0.1:9"
[sources.kraken]
ws_url = "ws://127.0.0.1:9"
rest_url = "http://127.0.0.1:9"
"#,
    )
    .unwrap();
    let client = reqwest::blocking::Client::new();
    let (running, base) = run_with_config(dir.path(), &config);
    let (_, sources) = wait_for(Duration::from_secs(20), || {
        get_json(&client, &format!("{base}/api/v1/sources")).filter(|(s, body)| {
            *s == 200
                && body["data"].as_array().is_some_and(|all| {
                    all.len() == 6 && all.iter().all(|a| !a["last_error"].is_null())
                })
        })
    })
    .expect("the sources were not reported as failing");
    assert!(sources["data"][0]["last_success_ms"].is_null(), "{sources}");
    // The exchange streams report their connection and trade-id counters.
    let binance = sources["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "binance")
        .expect("binance listed");
    assert_eq!(binance["stream"]["connected"], false, "{binance}");
    assert_eq!(binance["stream"]["gaps_filled"], 0, "{binance}");
    let (status, coins) = get_json(&client, &format!("{base}/api/v1/coins")).unwrap();
    assert_eq!(status, 200, "{coins}");
    assert_eq!(coins["count"], 0);
    let exit = running.terminate(Duration::from_secs(15));
    assert!(exit.success(), "cryptoviz exited with {exit}");
}

#[test]
fn dlq_commands_list_show_and_replay_what_an_agent_rejected() {
    // CoinGecko answers with an HTML error page and status 200: a dead letter.
    let upstream = serve(vec![(
        "/api/v3/coins/markets",
        b"<!DOCTYPE html><html><body>Service unavailable</body></html>".to_vec(),
    )]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cryptoviz.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[sources.coingecko]
base_url = "{upstream}"
[sources.feargreed]
enabled = false
[sources.news]
enabled = false
[sources.binance]
enabled = false
[sources.coinbase]
enabled = false
[sources.kraken]
enabled = false
"#
        ),
    )
    .unwrap();
    let client = reqwest::blocking::Client::new();
    let (running, base) = run_with_config(dir.path(), &config);
    wait_for(Duration::from_secs(20), || {
        get_json(&client, &format!("{base}/api/v1/sources"))
            .filter(|(_, body)| body["data"][0]["rejected"].as_u64() >= Some(1))
    })
    .expect("the HTML page was not dead-lettered");
    assert!(running.terminate(Duration::from_secs(15)).success());

    let dlq = |args: &[&str]| {
        let out = cryptoviz(dir.path())
            .arg("--config")
            .arg(&config)
            .arg("dlq")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let listed = dlq(&["list", "--json"]);
    let letter: serde_json::Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    assert_eq!(letter["original_topic"], "crypto-prices", "{letter}");
    assert_eq!(letter["source"], "coingecko", "{letter}");
    assert!(
        letter["reason"].as_str().unwrap().contains("HTML"),
        "{letter}"
    );
    let shown = dlq(&["show", letter["id"].as_str().unwrap()]);
    assert!(
        shown.contains("Service unavailable"),
        "the raw payload is kept: {shown}"
    );
    let replayed = dlq(&["replay"]);
    assert!(
        replayed.contains("replayed 0")
            && replayed.contains("not replayable (raw upstream payloads) 1"),
        "{replayed}"
    );
    let missing = cryptoviz(dir.path())
        .args(["dlq", "show", "9:999"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no dead letter with id 9:999"));
}
