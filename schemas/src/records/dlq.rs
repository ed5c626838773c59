//! `DlqRecord`: a message that could not be processed (topic `crypto-dlq`).

use std::sync::LazyLock;

use apache_avro::Schema;
use serde::{Deserialize, Serialize};

use super::fields::message_codec;
use crate::validate::{non_empty, timestamp};
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
    message_codec! {
        id: 4, name: "io.cryptoviz.DlqRecord", topic: topics::DLQ, schema: SCHEMA,
        record "DlqRecord" {
            original_topic: "original_topic",
            reason: "reason",
            payload: "payload",
            source: "source",
            timestamp_ms: "timestamp" as timestamp,
        }
    }

    fn validate_at(&self, now_ms: i64) -> Result<(), ValidationError> {
        non_empty("original_topic", &self.original_topic)?;
        non_empty("reason", &self.reason)?;
        non_empty("source", &self.source)?;
        timestamp("timestamp", self.timestamp_ms, now_ms)
    }
}
