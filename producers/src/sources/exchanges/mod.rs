//! Exchange trade streams: Binance spot, Coinbase Exchange and Kraken, keyless, one WebSocket
//! per exchange carrying every configured market, each trade published as a
//! [`CryptoTrade`] on `crypto-trades`, keyed by coin.
//!
//! Layout:
//! - [`config`]: `[sources.<exchange>]` (URLs, markets, timeouts, back-off);
//! - [`markets`]: the symbol ↔ coin table for the default coins, and its resolution;
//! - [`ws`]: the WebSocket client (rustls; pings; stale timeout);
//! - [`ids`]: per-symbol trade-id bookkeeping: duplicates dropped, gaps found;
//! - [`stream`]: the source every exchange runs: connect, subscribe, read, fill gaps from REST,
//!   reconnect with back-off and jitter;
//! - [`binance`], [`coinbase`], [`kraken`]: each exchange's protocol — subscribe messages,
//!   the parser of its trade messages, its REST trade history.
//!
//! # Resilience
//! A connection that fails, closes (Binance closes every connection after 24 hours) or goes
//! silent for `stale_timeout` is replaced after an exponential back-off with jitter (`backon`),
//! and every market is subscribed again. The three exchanges number trades contiguously per
//! symbol, so the first trade after a reconnect shows the gap; it is filled from the
//! exchange's public REST history before that trade is published, and a trade seen twice is
//! dropped — by id, never by time, since many trades share a millisecond. Coinbase's
//! `heartbeat` (`last_trade_id`) also reveals a gap when no trade followed it. Every gap
//! filled or not, every duplicate, reconnect and refused subscription is counted in the
//! source's [`crate::StreamCounters`] (served by `/api/v1/sources`).

pub mod binance;
pub mod coinbase;
pub mod config;
pub mod ids;
pub mod kraken;
pub mod markets;
pub mod stream;
pub mod ws;

use cryptoviz_schemas::CryptoTrade;
use serde::{Deserialize, Serialize};

pub use config::{ExchangeConfig, MarketConfig};
pub use ids::Gap;
pub use markets::{Market, Markets};
pub use stream::ExchangeSource;

/// The exchanges with a trade stream (a closed set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Exchange {
    /// Binance spot.
    Binance,
    /// Coinbase Exchange.
    Coinbase,
    /// Kraken spot.
    Kraken,
}

impl Exchange {
    /// Every exchange.
    pub const ALL: [Exchange; 3] = [Exchange::Binance, Exchange::Coinbase, Exchange::Kraken];

    /// The source name, config section and `CryptoTrade::exchange` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Exchange::Binance => "binance",
            Exchange::Coinbase => "coinbase",
            Exchange::Kraken => "kraken",
        }
    }

    /// The public WebSocket endpoint.
    pub fn default_ws_url(self) -> &'static str {
        match self {
            // The combined-stream endpoint: every message comes as `{stream, data}`.
            Exchange::Binance => "wss://stream.binance.com:9443/stream",
            Exchange::Coinbase => "wss://ws-feed.exchange.coinbase.com",
            Exchange::Kraken => "wss://ws.kraken.com/v2",
        }
    }

    /// The public REST base URL.
    pub fn default_rest_url(self) -> &'static str {
        match self {
            Exchange::Binance => "https://api.binance.com",
            Exchange::Coinbase => "https://api.exchange.coinbase.com",
            Exchange::Kraken => "https://api.kraken.com",
        }
    }
}

impl std::fmt::Display for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one WebSocket message says.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Trades, in the exchange's order.
    Trades(Vec<CryptoTrade>),
    /// The newest trade id of `symbol` (Coinbase `heartbeat`): a gap shows even when no
    /// trade follows it.
    LastTradeId {
        /// The market.
        symbol: String,
        /// Its newest trade id at the exchange.
        trade_id: i64,
    },
    /// A subscription was confirmed.
    Subscribed(String),
    /// A subscription was refused; the text says which and why.
    SubscriptionError(String),
    /// Nothing for us (heartbeats, status, book channels).
    Other,
}

/// One page of REST trade history.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistoryPage {
    /// The page's trades (any order).
    pub trades: Vec<CryptoTrade>,
    /// The cursor of the next page towards the rest of the gap, if the exchange has one.
    pub next: Option<String>,
}

/// One exchange's wire protocol. Stateless: the source keeps the state.
pub trait Protocol: Send + Sync + 'static {
    /// Which exchange this is.
    const EXCHANGE: Exchange;

    /// The text frames that subscribe every market, sent after each connect.
    fn subscribe(markets: &Markets) -> Vec<String>;

    /// Parses one text frame received at `received_ms`; `Err` is the reason the whole frame
    /// is dead-lettered.
    fn parse(text: &str, markets: &Markets, received_ms: i64) -> Result<Vec<Event>, String>;

    /// The URL of the REST history page at `cursor` (`None`: the first page) for `gap`.
    fn history_url(rest_url: &str, market: &Market, gap: &Gap, cursor: Option<&str>) -> String;

    /// Parses a REST history page.
    fn parse_history(body: &[u8], market: &Market, received_ms: i64)
    -> Result<HistoryPage, String>;
}

/// Builds a trade of `market` (the shared fields) — used by every parser.
#[allow(clippy::too_many_arguments)]
pub(crate) fn trade(
    exchange: Exchange,
    market: &Market,
    trade_id: i64,
    price: f64,
    quantity: f64,
    side: cryptoviz_schemas::TakerSide,
    event_time_ms: i64,
    receive_time_ms: i64,
) -> CryptoTrade {
    CryptoTrade {
        exchange: exchange.as_str().to_string(),
        symbol: market.symbol.clone(),
        crypto_id: market.coin.clone(),
        quote: market.quote.clone(),
        trade_id,
        price,
        quantity,
        side,
        event_time_ms,
        receive_time_ms,
    }
}

/// A decimal string (`"61837.63000000"`) as f64; the reason names the field.
pub(crate) fn decimal(field: &str, text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .map_err(|_| format!("{field} {text:?} is not a number"))
}

/// A REST history body as JSON, unless it is not JSON or `upstream_error` finds the error the
/// exchange answered with instead of trades.
pub(crate) fn history_json(
    body: &[u8],
    upstream_error: impl FnOnce(&serde_json::Value) -> Option<String>,
) -> Result<serde_json::Value, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("history: not JSON: {e}"))?;
    match upstream_error(&value) {
        Some(error) => Err(format!("history: upstream error {error}")),
        None => Ok(value),
    }
}

/// The rows of a REST history body that is a JSON array of trades (Binance, Coinbase), read
/// as [`history_json`] reads the body.
pub(crate) fn history_rows<T: serde::de::DeserializeOwned>(
    body: &[u8],
    upstream_error: impl FnOnce(&serde_json::Value) -> Option<String>,
) -> Result<Vec<T>, String> {
    let value = history_json(body, upstream_error)?;
    Vec::<T>::deserialize(&value).map_err(|e| format!("history: expected an array of trades: {e}"))
}

/// The enabled exchange sources of `config`.
pub fn build(
    config: &crate::SourcesConfig,
) -> Vec<(Exchange, crate::Result<Box<dyn crate::Source>>)> {
    let mut out = Vec::new();
    for exchange in Exchange::ALL {
        let section = config.exchange(exchange);
        if !section.enabled {
            continue;
        }
        let built = match exchange {
            Exchange::Binance => ExchangeSource::<binance::Binance>::new(section.clone())
                .map(|s| Box::new(s) as Box<dyn crate::Source>),
            Exchange::Coinbase => ExchangeSource::<coinbase::Coinbase>::new(section.clone())
                .map(|s| Box::new(s) as Box<dyn crate::Source>),
            Exchange::Kraken => ExchangeSource::<kraken::Kraken>::new(section.clone())
                .map(|s| Box::new(s) as Box<dyn crate::Source>),
        };
        out.push((exchange, built));
    }
    out
}
