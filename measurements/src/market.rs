//! `crypto_market`: every raw price tick (and the OHLC of imported candles).
//!
//! A tick's slowly changing fundamentals (name, ATH, ATL, supply) are not repeated here:
//! they are points of [`crate::coin_info`], written when they change.

use serde::{Deserialize, Serialize};

use crate::time::Time;

crate::measurement! {
    /// One tick of one coin from one source.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct MarketRow in "crypto_market", tags ["crypto_id", "symbol", "source"] {
        /// Event time, plus a sub-millisecond offset among the distinct ticks of that
        /// millisecond.
        pub time: Time,
        pub crypto_id: String,
        pub symbol: String,
        pub source: String,
        pub price_usd: f64,
        pub market_cap: Option<f64>,
        pub volume_24h: Option<f64>,
        pub change_1h: Option<f64>,
        pub change_24h: Option<f64>,
        pub change_7d: Option<f64>,
        pub volume: Option<f64>,
        pub open_usd: Option<f64>,
        pub high_usd: Option<f64>,
        pub low_usd: Option<f64>,
    }
}
