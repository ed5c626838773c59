//! `DlqRecord`: a message that could not be processed (topic `crypto-dlq`).

use std::sync::LazyLock;

use apache_avro::{Schema, types::Value};
use serde::{Deserialize, Serialize};

use crate::codec::{Reader, put_bytes, put_long, put_str};
use crate::validate::{non_empty, timestamp};
use crate::value::Fields;
use crate::{Message, Result, ValidationError, topics};

static SCHEMA: LazyLock<Schema> =
    LazyLock::new(|| super::parse_embedded(include_str!("../../avro/dlq.avsc"), "dlq.avsc"));

/// A rejected message with the reason it was rejected. The payload is kept byte for byte so it
/// can be replayed once the bug is fixed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DlqRecord {
    /// Topic the payload was read from.
    pub original_topic: String,
    /// Human-readable error, typically an [`crate::Error`] or [`ValidationError`] as text.
    pub reason: String,
    /// The original message bytes, untouched.
    pub payload: Vec<u8>,
    /// Component that rejected the message.
    pub source: String,
    /// When it was rejected, ms since the Unix epoch (Avro field `timestamp`).
    pub timestamp_ms: i64,
}

impl Message for DlqRecord {
    const SCHEMA_ID: u32 = 4;
    const FULL_NAME: &'static str = "io.cryptoviz.DlqRecord";
    const TOPIC: &'static str = topics::DLQ;

    fn schema() -> &'static Schema {
        &SCHEMA
    }

    fn encode_datum(&self, out: &mut Vec<u8>) {
        put_str(out, &self.original_topic);
        put_str(out, &self.reason);
        put_bytes(out, &self.payload);
        put_str(out, &self.source);
        put_long(out, self.timestamp_ms);
    }

    fn decode_datum(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let msg = Self {
            original_topic: r.string("original_topic")?,
            reason: r.string("reason")?,
            payload: r.bytes("payload")?,
            source: r.string("source")?,
            timestamp_ms: r.long("timestamp")?,
        };
        r.finish()?;
        Ok(msg)
    }

    fn validate_at(&self, now_ms: i64) -> Result<(), ValidationError> {
        non_empty("original_topic", &self.original_topic)?;
        non_empty("reason", &self.reason)?;
        non_empty("source", &self.source)?;
        timestamp("timestamp", self.timestamp_ms, now_ms)
    }

    fn from_avro_value(v: Value) -> Result<Self> {
        let mut f = Fields::new(v, "DlqRecord")?;
        Ok(Self {
            original_topic: f.string("original_topic")?,
            reason: f.string("reason")?,
            payload: f.bytes("payload")?,
            source: f.string("source")?,
            timestamp_ms: f.timestamp_ms("timestamp")?,
        })
    }
}
