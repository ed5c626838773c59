//! Configuration of the real producers (`[sources]` in the config file).
//!
//! # Default intervals: the free-tier arithmetic
//!
//! A month is taken as 30 days = 30 × 24 × 60 = 43,200 minutes.
//!
//! - **CoinGecko** without a key allows roughly 5–15 calls per minute (shared per IP, varies
//!   with load): one call a minute (`60s`) stays far inside it. The demo key allows 10,000
//!   calls a month: 10,000 / 43,200 ≈ 0.23 calls a minute, i.e. at least one call every
//!   4.3 minutes, so with a key the default becomes `300s` (8,640 calls a month).
//! - **CoinMarketCap** free tier: 10,000 credits a month, one credit per 200 coins returned,
//!   so the same ≥ 4.3 minutes per call for up to 200 coins; default `300s`.
//! - **Fear & Greed** (alternative.me) publishes one value a day: `1h` is plenty.
//! - **News** feeds: `5m` keeps headlines fresh without hammering publishers.
//! - **Exchanges** (Binance, Coinbase, Kraken) stream trades over WebSocket, keyless; their
//!   REST is used only to fill gaps after a reconnect (see
//!   [`crate::sources::exchanges`]).
//!
//! Keys come from the config file or the environment (`COINGECKO_API_KEY`,
//! `COINMARKETCAP_API_KEY`, see [`SourcesConfig::apply_env`]); [`ApiKey`]'s `Debug` prints
//! `***` so a key never reaches a log line.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::sources::exchanges::Exchange;
pub use crate::sources::exchanges::{ExchangeConfig, MarketConfig};
use crate::{Error, Result};

/// A secret API key: `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }
    /// The key itself, for the request header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl<'de> Deserialize<'de> for ApiKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d).map(ApiKey)
    }
}

/// HTTP resilience settings shared by every agent (each agent has its own copy).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Whole-request timeout (connect + headers + body).
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// A response body larger than this is cut off and treated as malformed.
    pub max_response_bytes: usize,
    /// Retries of a retryable failure (timeout, connection error, 5xx, 429) within one poll.
    pub retries: u32,
    /// First back-off delay; doubled on each retry, plus up to 50 % random jitter.
    #[serde(with = "humantime_serde")]
    pub backoff: Duration,
    /// Longest `Retry-After` honoured; a longer one ends the poll (the next tick tries again).
    #[serde(with = "humantime_serde")]
    pub max_retry_after: Duration,
    /// Consecutive failed polls that open the circuit breaker.
    pub breaker_failures: u32,
    /// How long the breaker stays open before one trial request (half-open).
    #[serde(with = "humantime_serde")]
    pub breaker_cooldown: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_response_bytes: 4 << 20,
            retries: 3,
            backoff: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(60),
            breaker_failures: 5,
            breaker_cooldown: Duration::from_secs(120),
        }
    }
}

/// CoinGecko plan, which decides the base URL and the key header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CoinGeckoPlan {
    /// Keyless or demo key (`x-cg-demo-api-key`), `https://api.coingecko.com`.
    #[default]
    Demo,
    /// Pro key (`x-cg-pro-api-key`), `https://pro-api.coingecko.com`.
    Pro,
}

/// `[sources.coingecko]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoinGeckoConfig {
    /// Run this agent.
    pub enabled: bool,
    /// Demo or pro (key header and default base URL).
    pub plan: CoinGeckoPlan,
    /// Base URL; `None` picks the plan's.
    pub base_url: Option<String>,
    /// API key (or env `COINGECKO_API_KEY`).
    pub api_key: Option<ApiKey>,
    /// Time between polls; `None` = 60 s keyless, 300 s with a key (see the module doc).
    #[serde(default, with = "humantime_serde")]
    pub interval: Option<Duration>,
    /// Coins per call (top by market cap), 1..=250.
    pub per_page: u32,
    /// HTTP resilience.
    pub http: HttpConfig,
}

impl Default for CoinGeckoConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            plan: CoinGeckoPlan::Demo,
            base_url: None,
            api_key: None,
            interval: None,
            per_page: 50,
            http: HttpConfig::default(),
        }
    }
}

impl CoinGeckoConfig {
    /// The base URL actually used.
    pub fn effective_base_url(&self) -> &str {
        match (&self.base_url, self.plan) {
            (Some(url), _) => url.trim_end_matches('/'),
            (None, CoinGeckoPlan::Demo) => "https://api.coingecko.com",
            (None, CoinGeckoPlan::Pro) => "https://pro-api.coingecko.com",
        }
    }
    /// The poll interval actually used.
    pub fn effective_interval(&self) -> Duration {
        self.interval.unwrap_or(if self.api_key.is_some() {
            Duration::from_secs(300)
        } else {
            Duration::from_secs(60)
        })
    }
}

/// `[sources.coinmarketcap]`; off without a key.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoinMarketCapConfig {
    /// Run this agent (it still needs a key).
    pub enabled: bool,
    /// Base URL.
    pub base_url: String,
    /// API key (or env `COINMARKETCAP_API_KEY`); without one the agent is off.
    pub api_key: Option<ApiKey>,
    /// Time between polls (10,000 credits a month → ≥ 4.3 min).
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// Coins per call, 1..=5000 (one credit per 200).
    pub limit: u32,
    /// HTTP resilience.
    pub http: HttpConfig,
}

impl Default for CoinMarketCapConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            base_url: "https://pro-api.coinmarketcap.com".into(),
            api_key: None,
            interval: Duration::from_secs(300),
            limit: 100,
            http: HttpConfig::default(),
        }
    }
}

/// `[sources.feargreed]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FearGreedConfig {
    /// Run this agent.
    pub enabled: bool,
    /// Base URL.
    pub base_url: String,
    /// Time between polls (the index changes once a day).
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// Days of history fetched on the first poll after start-up (1 = none).
    pub backfill: u32,
    /// HTTP resilience.
    pub http: HttpConfig,
}

impl Default for FearGreedConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            base_url: "https://api.alternative.me".into(),
            interval: Duration::from_secs(3600),
            backfill: 30,
            http: HttpConfig::default(),
        }
    }
}

/// One news feed (RSS 2.0 or Atom).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// Publisher name written to `CryptoNews::source`, e.g. `coindesk`.
    pub name: String,
    /// Feed URL.
    pub url: String,
}

impl FeedConfig {
    fn new(name: &str, url: &str) -> Self {
        Self {
            name: name.into(),
            url: url.into(),
        }
    }
}

/// `[sources.news]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NewsConfig {
    /// Run this agent.
    pub enabled: bool,
    /// Time between two rounds over every feed.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// The feeds.
    pub feeds: Vec<FeedConfig>,
    /// How many seen article keys are remembered (oldest forgotten first).
    pub seen_capacity: usize,
    /// HTTP resilience.
    pub http: HttpConfig,
}

impl Default for NewsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: Duration::from_secs(300),
            feeds: vec![
                FeedConfig::new(
                    "coindesk",
                    "https://www.coindesk.com/arc/outboundfeeds/rss/",
                ),
                FeedConfig::new("cointelegraph", "https://cointelegraph.com/rss"),
                FeedConfig::new("decrypt", "https://decrypt.co/feed"),
                FeedConfig::new("theblock", "https://www.theblock.co/rss.xml"),
                FeedConfig::new("bitcoinmagazine", "https://bitcoinmagazine.com/.rss/full/"),
            ],
            seen_capacity: 20_000,
            http: HttpConfig::default(),
        }
    }
}

/// `[sources]`: one section per real agent, plus where agents keep state.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourcesConfig {
    /// Directory for agent state (the news seen-set), created if missing.
    pub state_dir: PathBuf,
    /// CoinGecko markets.
    pub coingecko: CoinGeckoConfig,
    /// CoinMarketCap listings.
    pub coinmarketcap: CoinMarketCapConfig,
    /// alternative.me Fear & Greed index.
    pub feargreed: FearGreedConfig,
    /// RSS / Atom news.
    pub news: NewsConfig,
    /// Binance spot trades (`<symbol>@trade`, USDT pairs).
    pub binance: ExchangeConfig,
    /// Coinbase Exchange trades (`matches` + `heartbeat`, USD pairs).
    pub coinbase: ExchangeConfig,
    /// Kraken trades (WebSocket v2 `trade`, USD pairs).
    pub kraken: ExchangeConfig,
}

impl Default for SourcesConfig {
    fn default() -> Self {
        Self {
            state_dir: PathBuf::from("data/producers"),
            coingecko: CoinGeckoConfig::default(),
            coinmarketcap: CoinMarketCapConfig::default(),
            feargreed: FearGreedConfig::default(),
            news: NewsConfig::default(),
            binance: ExchangeConfig::default(),
            coinbase: ExchangeConfig::default(),
            kraken: ExchangeConfig::default(),
        }
    }
}

/// Shortest poll interval accepted by [`SourcesConfig::validate`].
pub const MIN_INTERVAL: Duration = Duration::from_secs(10);

impl SourcesConfig {
    /// Fills missing keys from `COINGECKO_API_KEY` / `COINMARKETCAP_API_KEY`.
    pub fn apply_env(&mut self) {
        let env = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(ApiKey::new)
        };
        if self.coingecko.api_key.is_none() {
            self.coingecko.api_key = env("COINGECKO_API_KEY");
        }
        if self.coinmarketcap.api_key.is_none() {
            self.coinmarketcap.api_key = env("COINMARKETCAP_API_KEY");
        }
    }

    /// The section of `exchange`.
    pub fn exchange(&self, exchange: Exchange) -> &ExchangeConfig {
        match exchange {
            Exchange::Binance => &self.binance,
            Exchange::Coinbase => &self.coinbase,
            Exchange::Kraken => &self.kraken,
        }
    }

    /// Checks every value; the error names the offending key.
    pub fn validate(&self) -> Result<()> {
        let cg = &self.coingecko;
        check_interval("coingecko.interval", cg.effective_interval())?;
        check_url("coingecko.base_url", cg.effective_base_url())?;
        if !(1..=250).contains(&cg.per_page) {
            return bad("coingecko.per_page", "must be within 1..=250");
        }
        check_http("coingecko.http", &cg.http)?;
        let cmc = &self.coinmarketcap;
        check_interval("coinmarketcap.interval", cmc.interval)?;
        check_url("coinmarketcap.base_url", &cmc.base_url)?;
        if !(1..=5000).contains(&cmc.limit) {
            return bad("coinmarketcap.limit", "must be within 1..=5000");
        }
        check_http("coinmarketcap.http", &cmc.http)?;
        let fg = &self.feargreed;
        check_interval("feargreed.interval", fg.interval)?;
        check_url("feargreed.base_url", &fg.base_url)?;
        if !(1..=2000).contains(&fg.backfill) {
            return bad("feargreed.backfill", "must be within 1..=2000");
        }
        check_http("feargreed.http", &fg.http)?;
        let news = &self.news;
        check_interval("news.interval", news.interval)?;
        if news.enabled && news.feeds.is_empty() {
            return bad("news.feeds", "must list at least one feed");
        }
        for (i, feed) in news.feeds.iter().enumerate() {
            if feed.name.trim().is_empty() {
                return bad(&format!("news.feeds[{i}].name"), "must not be empty");
            }
            check_url(&format!("news.feeds[{i}].url"), &feed.url)?;
        }
        if news.seen_capacity < 100 {
            return bad("news.seen_capacity", "must be at least 100");
        }
        check_http("news.http", &news.http)?;
        for exchange in Exchange::ALL {
            self.exchange(exchange).validate(exchange)?;
        }
        if self.state_dir.as_os_str().is_empty() {
            return bad("state_dir", "must not be empty");
        }
        Ok(())
    }
}

fn bad(key: &str, why: &str) -> Result<()> {
    Err(Error::Config(format!("sources.{key}: {why}")))
}

fn check_interval(key: &str, d: Duration) -> Result<()> {
    if d < MIN_INTERVAL {
        return bad(key, "must be ≥ 10s");
    }
    Ok(())
}

fn check_url(key: &str, url: &str) -> Result<()> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return bad(key, "must start with http:// or https://");
    }
    Ok(())
}

pub(crate) fn check_http(key: &str, http: &HttpConfig) -> Result<()> {
    if http.timeout < Duration::from_millis(100) || http.timeout > Duration::from_secs(300) {
        return bad(&format!("{key}.timeout"), "must be within 100ms..=300s");
    }
    if http.max_response_bytes < 1024 {
        return bad(
            &format!("{key}.max_response_bytes"),
            "must be at least 1024",
        );
    }
    if http.retries > 10 {
        return bad(&format!("{key}.retries"), "must be at most 10");
    }
    if http.breaker_failures == 0 {
        return bad(&format!("{key}.breaker_failures"), "must be at least 1");
    }
    if http.breaker_cooldown.is_zero() {
        return bad(&format!("{key}.breaker_cooldown"), "must be positive");
    }
    Ok(())
}
