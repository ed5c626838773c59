//! `crypto_trades` and `crypto_trade_candles`: exchange trades as they happened, and the
//! candles built from them per coin, exchange and window width.
//!
//! The raw trades are stored, not only kept in the API's memory, for the same reasons every
//! tick is stored in [`crate::market`]: in the distributed deployment the API is another
//! process than the consumer and reads only the store; the latest trades must survive an API
//! restart (a memory-only tape starts empty, and an idle market would show nothing until its
//! next trade); and a replay of `crypto-trades` must be able to rebuild them. The live stream
//! still carries each trade as it is appended to the log (`topics=trades`), so the store is the
//! history and the stream the tape.
//!
//! A trade's point time is its event time plus `trade_id mod 1 ms` in nanoseconds: trades of
//! one market share milliseconds all the time, and every one of them must be its own point;
//! the exchanges number trades contiguously per market, so within one millisecond the ids
//! (hence the offsets) are distinct, and a replay rewrites the same points.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::analytics::WindowStatus;
use crate::time::{Nanos, Time};

crate::closed_set! {
    /// The taker's side of a trade (`side`).
    pub enum TakerSide {
        /// The taker bought (lifted an ask).
        Buy = "buy",
        /// The taker sold (hit a bid).
        Sell = "sell",
    }
}

/// Nanoseconds added to a trade's millisecond event time: its id modulo a millisecond.
pub fn trade_offset_ns(trade_id: i64) -> i64 {
    trade_id.rem_euclid(1_000_000)
}

crate::measurement! {
    /// One trade on one exchange (`crypto_trades`).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
    #[schema(as = Trade)]
    pub struct TradeRow in "crypto_trades", tags ["crypto_id", "exchange", "symbol"] {
        /// Event time at the exchange, plus the trade id modulo 1 ms in nanoseconds.
        #[schema(value_type = String)]
        pub time: Time,
        pub crypto_id: String,
        /// Exchange, e.g. `binance`.
        pub exchange: String,
        /// The exchange's market symbol, e.g. `BTCUSDT`.
        pub symbol: String,
        /// Quote currency, e.g. `USDT`.
        pub quote: String,
        /// The exchange's trade id (contiguous per market).
        pub trade_id: i64,
        /// Price in the quote currency.
        pub price: f64,
        /// Base-asset quantity.
        pub quantity: f64,
        /// The taker's side.
        pub side: TakerSide,
    }
}

crate::measurement! {
    /// One window of one coin's trades on one exchange (`crypto_trade_candles`).
    ///
    /// The point's time is the window's start, so re-emitting a window (provisional, then
    /// closed) overwrites the same point.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
    #[schema(as = TradeCandle)]
    pub struct TradeCandleRow in "crypto_trade_candles", tags ["crypto_id", "exchange", "quote", "window"] {
        /// Window start.
        #[schema(value_type = String)]
        pub time: Time,
        pub crypto_id: String,
        /// Exchange, e.g. `binance`.
        pub exchange: String,
        /// Quote currency of the prices, e.g. `USDT`.
        pub quote: String,
        /// Window width: `1m`, `5m`, `1h`.
        pub window: String,
        /// Price of the window's first trade (by event time, then trade id).
        pub open: f64,
        pub high: f64,
        pub low: f64,
        /// Price of the window's last trade.
        pub close: f64,
        /// Base-asset quantity traded.
        pub volume: f64,
        /// Quote-currency value traded: Σ price × quantity.
        pub quote_volume: f64,
        /// Volume-weighted average price: quote volume over volume.
        pub vwap: f64,
        /// Trades in the window, each counted (many share a millisecond).
        pub trades: i64,
        /// Base volume of the trades whose taker bought.
        pub taker_buy_volume: f64,
        /// Base volume of the trades whose taker sold.
        pub taker_sell_volume: f64,
        /// Window end (exclusive).
        #[schema(value_type = String)]
        pub window_end: Nanos,
        /// `closed` (final), `provisional` (emitted while the stream is idle; may still
        /// change) or `partial` (emitted at a shutdown; completed after the restart).
        pub status: WindowStatus,
    }
}
