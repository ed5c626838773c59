//! Avro schemas, Rust record types and the wire format of every CryptoViz topic.
//!
//! Producers encode records with [`encode`]/[`to_bytes`] before appending them to the bus;
//! consumers [`decode`] them, [`Message::validate`] them, and send failures to the DLQ topic
//! with the error's `Display` text as the reason. Nothing here does I/O.
//!
//! # Wire format
//! Confluent framing: `[0x00 magic][u32 big-endian schema id][Avro binary datum]`.
//! Ids 1–6 are the schemas embedded in this crate (`CryptoPrice` is at version 2, id 5; its version 1, id 1, is still read; `CryptoTrade` is id 6); a [`Registry`] maps further ids (newer
//! writer versions) to schemas, which are decoded through Avro schema resolution.
//!
//! # Layout
//! - `avro/*.avsc` — the schemas, the single source of truth, embedded with `include_str!`.
//! - `records/` — one file per record type: struct, fast codec, validation, value conversion.
//! - `codec` — the hand-written Avro binary writer/reader used on the hot path.
//! - `wire` — Confluent framing, [`encode`]/[`decode`].
//! - `registry` — schema ids, writer schemas and the resolution (evolution) slow path.
//! - `validate` — semantic checks shared by the records.

mod codec;
mod error;
mod records;
mod registry;
mod validate;
mod value;
mod wire;

pub use apache_avro;
pub use error::{Error, Result, ValidationError};
pub use records::{CryptoNews, CryptoPrice, CryptoTrade, DlqRecord, MarketSentiment, TakerSide};
pub use registry::Registry;
pub use validate::{MAX_CLOCK_SKEW_MS, MIN_TIMESTAMP_MS, now_ms};
pub use wire::{
    HEADER_LEN, MAGIC, decode, decode_into, decode_value, decode_with_registry, encode, schema_id,
    to_bytes,
};

/// Topic names of the bus.
pub mod topics {
    /// Price ticks, [`crate::CryptoPrice`].
    pub const PRICES: &str = "crypto-prices";
    /// News articles, [`crate::CryptoNews`].
    pub const NEWS: &str = "crypto-news";
    /// Market-wide sentiment readings, [`crate::MarketSentiment`].
    pub const SENTIMENT: &str = "crypto-market-sentiment";
    /// Rejected messages, [`crate::DlqRecord`].
    pub const DLQ: &str = "crypto-dlq";
    /// Exchange trades, [`crate::CryptoTrade`], keyed by coin.
    pub const TRADES: &str = "crypto-trades";
    /// Every topic, e.g. to create them at start-up.
    pub const ALL: [&str; 5] = [PRICES, NEWS, SENTIMENT, DLQ, TRADES];
}

/// A record type that travels on a topic.
pub trait Message: Sized {
    /// Schema id written in the frame header for this type's embedded (v1) schema.
    const SCHEMA_ID: u32;
    /// Avro full name of the record, e.g. `io.cryptoviz.CryptoPrice`. Writer schemas with the
    /// same full name (other ids in a [`Registry`]) are versions of this type.
    const FULL_NAME: &'static str;
    /// Topic this record type is published on.
    const TOPIC: &'static str;

    /// The embedded schema, parsed once.
    fn schema() -> &'static apache_avro::Schema;

    /// Appends the Avro binary datum (no framing) to `out`, without intermediate allocations.
    fn encode_datum(&self, out: &mut Vec<u8>);

    /// Reads a datum written with [`Self::schema`]. Every length is checked before slicing and
    /// trailing bytes are an error.
    fn decode_datum(bytes: &[u8]) -> Result<Self>;

    /// [`Self::decode_datum`] over `self`, keeping its allocations where the type can (a
    /// consumer decoding millions of records into one need not allocate their strings). On
    /// error `self` holds a mix of the datum and what it held before.
    fn decode_datum_into(&mut self, bytes: &[u8]) -> Result<()> {
        *self = Self::decode_datum(bytes)?;
        Ok(())
    }

    /// Semantic checks against a given "now" (ms since epoch), for tests and replays.
    fn validate_at(&self, now_ms: i64) -> Result<(), ValidationError>;

    /// Semantic checks against the system clock.
    fn validate(&self) -> Result<(), ValidationError> {
        self.validate_at(now_ms())
    }

    /// Builds the record from a value already resolved against [`Self::schema`].
    fn from_avro_value(v: apache_avro::types::Value) -> Result<Self>;
}
