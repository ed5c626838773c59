//! `[sources]` configuration: defaults, validation naming the key, secrets kept out of Debug.

use std::time::Duration;

use cryptoviz_producers::SourcesConfig;
use cryptoviz_producers::config::ApiKey;

#[test]
fn defaults_validate_and_follow_the_free_tier_budgets() {
    let config = SourcesConfig::default();
    config.validate().unwrap();
    assert_eq!(
        config.coingecko.effective_interval(),
        Duration::from_secs(60)
    );
    assert_eq!(config.coinmarketcap.interval, Duration::from_secs(300));
    assert_eq!(config.feargreed.interval, Duration::from_secs(3600));
    assert_eq!(config.news.interval, Duration::from_secs(300));
    assert_eq!(config.news.feeds.len(), 5);
    assert_eq!(
        config.coingecko.effective_base_url(),
        "https://api.coingecko.com"
    );
}

#[test]
fn parses_human_durations_and_a_demo_key_slows_coingecko_down() {
    let config: SourcesConfig = serde_json::from_str(
        r#"{"state_dir": "/tmp/x",
            "coingecko": {"api_key": "cg-secret", "per_page": 100, "http": {"timeout": "5s"}},
            "coinmarketcap": {"api_key": "cmc-secret", "interval": "10m"},
            "news": {"feeds": [{"name": "a", "url": "https://a.example/rss"}]}}"#,
    )
    .unwrap();
    config.validate().unwrap();
    assert_eq!(
        config.coingecko.effective_interval(),
        Duration::from_secs(300)
    );
    assert_eq!(config.coingecko.http.timeout, Duration::from_secs(5));
    assert_eq!(config.coinmarketcap.interval, Duration::from_secs(600));
    let pro: SourcesConfig = serde_json::from_str(r#"{"coingecko": {"plan": "pro"}}"#).unwrap();
    assert_eq!(
        pro.coingecko.effective_base_url(),
        "https://pro-api.coingecko.com"
    );

    let debug = format!("{config:?}");
    assert!(
        !debug.contains("cg-secret") && !debug.contains("cmc-secret"),
        "{debug}"
    );
    assert!(debug.contains("ApiKey(***)"));
    assert_eq!(ApiKey::new("k").expose(), "k");
}

#[test]
fn unknown_keys_are_refused() {
    let err = serde_json::from_str::<SourcesConfig>(r#"{"coingecko": {"intervall": "60s"}}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("intervall"), "{err}");
}

#[test]
fn validation_names_the_bad_key() {
    let mut config = SourcesConfig::default();
    config.coingecko.interval = Some(Duration::from_secs(1));
    let err = config.validate().unwrap_err().to_string();
    assert!(
        err.contains("sources.coingecko.interval: must be ≥ 10s"),
        "{err}"
    );

    let mut config = SourcesConfig::default();
    config.news.feeds[2].url = "ftp://nope".into();
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("sources.news.feeds[2].url"), "{err}");

    let mut config = SourcesConfig::default();
    config.coinmarketcap.http.breaker_failures = 0;
    let err = config.validate().unwrap_err().to_string();
    assert!(
        err.contains("sources.coinmarketcap.http.breaker_failures"),
        "{err}"
    );
}

#[test]
fn build_sources_leaves_coinmarketcap_off_without_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = SourcesConfig {
        state_dir: dir.path().to_path_buf(),
        ..SourcesConfig::default()
    };
    let names = |c: &SourcesConfig| {
        cryptoviz_producers::build_sources(c)
            .iter()
            .map(|s| s.name().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&config),
        [
            "coingecko",
            "feargreed",
            "binance",
            "coinbase",
            "kraken",
            "news"
        ]
    );
    config.coinmarketcap.api_key = Some(ApiKey::new("k"));
    config.news.enabled = false;
    config.binance.enabled = false;
    assert_eq!(
        names(&config),
        [
            "coingecko",
            "coinmarketcap",
            "feargreed",
            "coinbase",
            "kraken"
        ]
    );
}
