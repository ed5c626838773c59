//! `MarketSentiment`: a market-wide sentiment reading (topic `crypto-market-sentiment`).

use std::sync::LazyLock;

use apache_avro::{Schema, types::Value};
use serde::{Deserialize, Serialize};

use crate::codec::{Reader, put_int, put_long, put_str};
use crate::validate::{tag_value, timestamp};
use crate::value::Fields;
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
    const SCHEMA_ID: u32 = 3;
    const FULL_NAME: &'static str = "io.cryptoviz.MarketSentiment";
    const TOPIC: &'static str = topics::SENTIMENT;

    fn schema() -> &'static Schema {
        &SCHEMA
    }

    fn encode_datum(&self, out: &mut Vec<u8>) {
        put_str(out, &self.source);
        put_int(out, self.value);
        put_str(out, &self.classification);
        put_long(out, self.timestamp_ms);
    }

    fn decode_datum(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let msg = Self {
            source: r.string("source")?,
            value: r.int("value")?,
            classification: r.string("classification")?,
            timestamp_ms: r.long("timestamp")?,
        };
        r.finish()?;
        Ok(msg)
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

    fn from_avro_value(v: Value) -> Result<Self> {
        let mut f = Fields::new(v, "MarketSentiment")?;
        Ok(Self {
            source: f.string("source")?,
            value: f.int("value")?,
            classification: f.string("classification")?,
            timestamp_ms: f.timestamp_ms("timestamp")?,
        })
    }
}
