//! Producers: the first stage of the CryptoViz pipeline.
//!
//! A *source* turns the outside world (or, for offline use and load, a simulated market) into
//! typed records — [`CryptoPrice`](cryptoviz_schemas::CryptoPrice),
//! [`CryptoTrade`](cryptoviz_schemas::CryptoTrade),
//! [`CryptoNews`](cryptoviz_schemas::CryptoNews) and
//! [`MarketSentiment`](cryptoviz_schemas::MarketSentiment) — and hands them to the
//! [`Publisher`], which validates every record (Avro schema by construction, plus semantic
//! checks), encodes it with its schema id on the wire and appends it to its topic in the log.
//! A record that fails validation goes to `crypto-dlq` with the reason and its raw payload; the
//! rest of the batch still publishes.
//!
//! Layout:
//! - [`source`]: the small [`Source`] trait every source implements and the status it reports;
//! - [`publisher`]: validation, encoding, keyed append, dead-lettering;
//! - [`sources::simulated`]: a deterministic simulated market (prices, news, Fear & Greed);
//! - [`sources::coingecko`], [`sources::coinmarketcap`], [`sources::feargreed`],
//!   [`sources::news`]: the real agents polling public APIs and feeds, built from
//!   [`SourcesConfig`] by [`build_sources`];
//! - [`sources::exchanges`]: trade streams from Binance, Coinbase and Kraken over WebSocket
//!   ([`CryptoTrade`](cryptoviz_schemas::CryptoTrade) on `crypto-trades`), with reconnects,
//!   and gaps filled and duplicates dropped by trade id;
//! - [`sources::history`]: history files (Binance klines, Kraken OHLCVT, JSONL) read line by
//!   line into validated records, for `cryptoviz import`;
//! - [`http`]: their shared resilience (timeout, size cap, retries, circuit breaker);
//! - [`dlq`]: list, show and replay dead letters (for the CLI).

pub mod config;
pub mod dlq;
mod error;
pub mod http;
pub mod publisher;
pub mod source;
pub mod sources;

pub use config::SourcesConfig;
pub use error::{Error, Result};
pub use http::BreakerState;
pub use publisher::{PublishReport, Publishable, Publisher};
pub use source::{
    Source, SourceContext, SourceStatus, StatusSnapshot, StreamCounters, StreamSnapshot,
};
pub use sources::build_sources;
