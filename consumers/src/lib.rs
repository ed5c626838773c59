//! Consumers: the stage between the log and the store.
//!
//! A consumer group reads `crypto-prices`, decodes each record (bytes that do not decode go to
//! `crypto-dlq` with the reason and the consumer keeps going), and feeds two outputs:
//!
//! - **raw ingest** ([`sinks::market`]): every tick, late or not, becomes a point of the
//!   `crypto_market` measurement;
//! - **windows** ([`windows`]): event-time tumbling windows (1m, 5m, 1h) per coin and source,
//!   closed by a per-partition watermark, written to `crypto_analytics` with the
//!   [`indicators`] of their series; the closed 1-minute candles feed the [`anomalies`]
//!   detectors, whose episodes go to `crypto_anomalies` ([`candles`] ties these together).
//!
//! A group of its own ([`pipeline::trades`]) reads `crypto-trades` into `crypto_trades` (every
//! trade) and `crypto_trade_candles` (1m, 5m and 1h candles per coin and exchange, through the
//! same windows, watermarks and commits).
//!
//! A second group ([`records`]) reads `crypto-news` and `crypto-market-sentiment` into the
//! `crypto_news` and `fear_greed` measurements, scoring each article's sentiment and tagging
//! the coins it mentions on the way ([`sentiment`]).
//!
//! The [`pipeline`] buffers both outputs, writes them to the store, and only then commits the
//! log offsets — and not past the first record of a window still open, with the watermark
//! state stored as commit metadata and in the store ([`checkpoint`]) — so a crash at any point replays exactly what is needed and the
//! idempotent store rewrites the same points (see `docs/architecture.md`).
//!
//! Layout: [`decode`] (bytes → records or dead letters), [`windows`] (accumulators,
//! watermarks, the tumbling operator), [`sinks`] (Arrow batches per measurement),
//! [`pipeline`] (poll → process → write → commit), [`checkpoint`] (the window state of a
//! commit), [`replay`] (bounds of a re-run over the
//! log's history), [`stats`] (what the API exposes),
//! [`verify`] (an independent DataFusion computation of the windows, for tests and the bench).

pub mod anomalies;
pub mod candles;
pub mod checkpoint;
pub mod decode;
mod error;
pub mod identity;
pub mod indicators;
pub mod measurements;
pub mod pipeline;
pub mod replay;
pub mod sentiment;
pub mod sinks;
pub mod stats;
mod supervise;
pub mod verify;
pub mod windows;

pub use error::{Error, Result};
pub use pipeline::records;
pub use pipeline::{ConsumerConfig, PricePipeline, RecordsPipeline, TradePipeline};
pub use replay::{ReplayBounds, ReplayFrom, ReplayTo};
pub use stats::ConsumerStats;
