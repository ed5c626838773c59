//! `[sources.binance]`, `[sources.coinbase]`, `[sources.kraken]`: one [`ExchangeConfig`] per
//! exchange. URLs left unset are the exchange's public endpoints; tests point them at local
//! servers.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::Exchange;
use crate::config::HttpConfig;
use crate::{Error, Result};

/// One exchange's trade stream.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExchangeConfig {
    /// Run this source (keyless; on by default).
    pub enabled: bool,
    /// WebSocket endpoint; `None` = the exchange's public one (see [`Exchange::default_ws_url`]).
    pub ws_url: Option<String>,
    /// REST base URL for the trade history that fills gaps; `None` = the public one.
    pub rest_url: Option<String>,
    /// Start from the built-in table of default coins (see `markets.rs`); `false` streams
    /// only the `markets` below.
    pub default_markets: bool,
    /// Markets added to (or replacing, same symbol) the built-in table: the exchange's
    /// symbol (`BTCUSDT`, `BTC-USD`, `BTC/USD`) → its coin.
    pub markets: BTreeMap<String, MarketConfig>,
    /// Longest a connect (TCP, TLS, WebSocket handshake) may take.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// A WebSocket ping is sent this often; the pong (or any frame) proves the link alive.
    #[serde(with = "humantime_serde")]
    pub ping_interval: Duration,
    /// No frame at all (data, heartbeat, pong) for this long: the connection is stale and is
    /// replaced.
    #[serde(with = "humantime_serde")]
    pub stale_timeout: Duration,
    /// First reconnect delay; doubled per failed attempt, plus up to 100 % jitter.
    #[serde(with = "humantime_serde")]
    pub reconnect_min: Duration,
    /// Longest reconnect delay.
    #[serde(with = "humantime_serde")]
    pub reconnect_max: Duration,
    /// Largest gap (in trades) filled from REST; a larger one is counted unfillable.
    pub max_gap_fill: u64,
    /// REST resilience for the gap filler (retries honour `Retry-After` on 429/418).
    pub http: HttpConfig,
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            ws_url: None,
            rest_url: None,
            default_markets: true,
            markets: BTreeMap::new(),
            connect_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(15),
            stale_timeout: Duration::from_secs(30),
            reconnect_min: Duration::from_secs(1),
            reconnect_max: Duration::from_secs(60),
            max_gap_fill: 20_000,
            http: HttpConfig::default(),
        }
    }
}

/// One market added in config.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketConfig {
    /// The coin's id (CoinGecko id, as every other record), e.g. `bitcoin`.
    pub coin: String,
    /// Quote currency; `None` = read from the symbol (`BTC-USD`, `BTC/USD`, or a known suffix
    /// of `BTCUSDT`).
    #[serde(default)]
    pub quote: Option<String>,
    /// The symbol the REST history takes, where it differs (Kraken: `XBTUSD` for `BTC/USD`);
    /// `None` = derived.
    #[serde(default)]
    pub rest_symbol: Option<String>,
}

impl ExchangeConfig {
    /// The WebSocket URL actually used.
    pub fn effective_ws_url(&self, exchange: Exchange) -> &str {
        self.ws_url
            .as_deref()
            .unwrap_or(exchange.default_ws_url())
            .trim_end_matches('/')
    }

    /// The REST base URL actually used.
    pub fn effective_rest_url(&self, exchange: Exchange) -> &str {
        self.rest_url
            .as_deref()
            .unwrap_or(exchange.default_rest_url())
            .trim_end_matches('/')
    }

    /// Checks every value; the error names the key (`sources.binance.stale_timeout: …`).
    pub fn validate(&self, exchange: Exchange) -> Result<()> {
        let key = |k: &str| format!("sources.{}.{k}", exchange.as_str());
        let bad = |k: &str, why: &str| Err(Error::Config(format!("{}: {why}", key(k))));
        let ws = self.effective_ws_url(exchange);
        if !(ws.starts_with("ws://") || ws.starts_with("wss://")) {
            return bad("ws_url", "must start with ws:// or wss://");
        }
        let rest = self.effective_rest_url(exchange);
        if !(rest.starts_with("http://") || rest.starts_with("https://")) {
            return bad("rest_url", "must start with http:// or https://");
        }
        if self.connect_timeout.is_zero() {
            return bad("connect_timeout", "must be above 0");
        }
        if self.ping_interval.is_zero() {
            return bad("ping_interval", "must be above 0");
        }
        if self.stale_timeout <= self.ping_interval {
            return bad("stale_timeout", "must be longer than ping_interval");
        }
        if self.reconnect_min.is_zero() {
            return bad("reconnect_min", "must be above 0");
        }
        if self.reconnect_max < self.reconnect_min {
            return bad("reconnect_max", "must be at least reconnect_min");
        }
        if self.max_gap_fill > 1_000_000 {
            return bad("max_gap_fill", "must be at most 1000000");
        }
        let markets = super::Markets::from_config(exchange, self)?;
        if self.enabled && markets.is_empty() {
            return bad(
                "markets",
                "no market to stream (default_markets is false and none listed)",
            );
        }
        crate::config::check_http(&format!("{}.http", exchange.as_str()), &self.http)
    }
}
