//! `crypto_analytics`: window statistics per coin, source and window width, with the
//! technical indicators of their series ([`IndicatorSet`]) and the window's [`WindowStatus`].
//!
//! The point's time is the window's start, so re-emitting a window (provisional, then
//! closed) overwrites the same point.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::time::{Nanos, Time};

crate::closed_set! {
    /// Why a window was emitted (the `status` field).
    pub enum WindowStatus {
        /// The watermark passed the window's end: final.
        Closed = "closed",
        /// The stream is idle: the window is emitted as it stands and may still change.
        Provisional = "provisional",
        /// The consumer is shutting down: emitted as it stands; completed after a restart.
        Partial = "partial",
    }
}

crate::columns! {
    /// Technical indicators of a series up to one window (null until enough windows).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
    pub struct IndicatorSet {
        /// Simple moving average of the last 20 closes.
        pub sma_20: Option<f64>,
        /// Simple moving average of the last 50 closes.
        pub sma_50: Option<f64>,
        /// 20-period exponential moving average, SMA-seeded.
        pub ema_20: Option<f64>,
        /// 50-period exponential moving average, SMA-seeded.
        pub ema_50: Option<f64>,
        /// Wilder's 14-period relative strength index, 0–100.
        pub rsi_14: Option<f64>,
        /// MACD line: EMA(12) - EMA(26).
        pub macd: Option<f64>,
        /// 9-period EMA of the MACD line.
        pub macd_signal: Option<f64>,
        /// MACD line minus signal.
        pub macd_hist: Option<f64>,
        /// Bollinger(20, 2) upper band.
        pub bb_upper: Option<f64>,
        /// Bollinger(20, 2) middle band (the 20-close SMA).
        pub bb_middle: Option<f64>,
        /// Bollinger(20, 2) lower band.
        pub bb_lower: Option<f64>,
    }
}

/// The indicator columns of `crypto_analytics`, in order.
pub const INDICATOR_FIELDS: &[&str] = IndicatorSet::FIELD_NAMES;

impl IndicatorSet {
    /// The values in the order of [`INDICATOR_FIELDS`].
    pub fn to_array(&self) -> [Option<f64>; 11] {
        [
            self.sma_20,
            self.sma_50,
            self.ema_20,
            self.ema_50,
            self.rsi_14,
            self.macd,
            self.macd_signal,
            self.macd_hist,
            self.bb_upper,
            self.bb_middle,
            self.bb_lower,
        ]
    }
}

crate::measurement! {
    /// One window's statistics and indicators (`crypto_analytics`).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
    pub struct AnalyticsRow in "crypto_analytics", tags ["crypto_id", "source", "window"] {
        /// Window start.
        #[schema(value_type = String)]
        pub time: Time,
        pub crypto_id: String,
        pub source: String,
        /// Window width: `1m`, `5m`, `1h`.
        pub window: String,
        pub open: f64,
        pub high: f64,
        pub low: f64,
        pub close: f64,
        pub mean: f64,
        pub min: f64,
        pub max: f64,
        pub stddev: Option<f64>,
        pub volatility_pct: Option<f64>,
        pub volume: Option<f64>,
        pub vwap: Option<f64>,
        #[serde(flatten)]
        pub indicators: IndicatorSet,
        /// Ticks in the window.
        pub count: i64,
        /// Window end (exclusive).
        #[schema(value_type = String)]
        pub window_end: Nanos,
        /// `closed` (final), `provisional` (emitted while the stream is idle; may still
        /// change) or `partial` (emitted at a shutdown; completed after the restart).
        pub status: WindowStatus,
    }
}
