//! `crypto_sentiment`: hourly news sentiment per coin and market-wide
//! (`crypto_id` = [`MARKET_WIDE`]), and the sentiment [`Label`] of an article.

use serde::{Deserialize, Serialize};

use crate::time::Time;

/// The `crypto_id` of the market-wide series.
pub const MARKET_WIDE: &str = "market";

crate::closed_set! {
    /// The label of a sentiment score (`sentiment_label` of [`crate::news`]).
    #[schema(as = SentimentLabel)]
    pub enum Label {
        /// Score above the threshold.
        Positive = "positive",
        /// Score below minus the threshold.
        Negative = "negative",
        /// In between.
        Neutral = "neutral",
    }
}

impl Label {
    /// Parses `positive` / `negative` / `neutral`, case-insensitive.
    pub fn parse(s: &str) -> Option<Self> {
        s.trim().to_ascii_lowercase().parse().ok()
    }
}

crate::measurement! {
    /// One hour of one coin's (or the market's) news sentiment.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct SentimentRow in "crypto_sentiment", tags ["crypto_id", "window"] {
        /// Hour start.
        pub time: Time,
        /// Coin id, or [`MARKET_WIDE`].
        pub crypto_id: String,
        /// Always `1h`.
        pub window: String,
        /// Mean article score in [-1, 1].
        pub score: Option<f64>,
        pub articles: Option<i64>,
        pub positive: Option<i64>,
        pub negative: Option<i64>,
        pub neutral: Option<i64>,
    }
}
