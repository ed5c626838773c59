//! `MarketSentiment`: a market-wide sentiment reading (topic `crypto-market-sentiment`).

use std::sync::LazyLock;

use apache_avro::Schema;
use serde::{Deserialize, Serialize};

use super::fields::message_codec;
use crate::validate::{tag_value, timestamp};
use crate::{Message, Result, ValidationError, topics};

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    super::parse_embedded(
        include_str!("../../avro/market_sentiment.avsc"),
        "market_sentiment.avsc",
    )
});

/// A market-wide sentiment reading such as the Fear & Greed index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketSentiment {
    /// Index provider.
    pub source: String,
    /// 0 (extreme fear) to 100 (extreme greed).
    pub value: i32,
    /// Label given by the source, e.g. `Greed`.
    pub classification: String,
    /// Event time, ms since the Unix epoch (Avro field `timestamp`).
    pub timestamp_ms: i64,
}

impl Message for MarketSentiment {
    message_codec! {
        id: 3, name: "io.cryptoviz.MarketSentiment", topic: topics::SENTIMENT, schema: SCHEMA,
        record "MarketSentiment" {
            source: "source",
            value: "value",
            classification: "classification",
            timestamp_ms: "timestamp" as timestamp,
        }
    }

    fn validate_at(&self, now_ms: i64) -> Result<(), ValidationError> {
        tag_value("source", &self.source)?;
        if !(0..=100).contains(&self.value) {
            return Err(ValidationError::new(
                "value",
                format!("must be within 0..=100, got {}", self.value),
            ));
        }
        timestamp("timestamp", self.timestamp_ms, now_ms)
    }
}
