//! Errors of this crate. Decode errors end up verbatim as DLQ reasons, so every message says
//! what was being read and where.

use std::fmt;

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why bytes could not be turned into a record (or a schema could not be registered).
///
/// All variants are permanent: retrying the same bytes gives the same error, so callers should
/// route the message to the DLQ rather than retry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The frame is shorter than the 5-byte Confluent header (or another fixed minimum).
    #[error("message too short: {len} bytes, need at least {need}")]
    TooShort {
        /// Bytes received.
        len: usize,
        /// Bytes required.
        need: usize,
    },
    /// The first byte is not the Confluent magic byte 0.
    #[error("bad magic byte {0:#04x}, expected 0x00 (not a Confluent-framed Avro message)")]
    BadMagic(u8),
    /// The schema id in the header is not in the registry.
    #[error("unknown schema id {0}")]
    UnknownSchemaId(u32),
    /// The schema id is known but belongs to another record type.
    #[error("schema id {found_id} is not a version of {expected}")]
    SchemaMismatch {
        /// Full name of the record the caller asked for.
        expected: &'static str,
        /// Schema id found in the header.
        found_id: u32,
    },
    /// The datum ended in the middle of a value.
    #[error("truncated datum at byte {at} while reading `{what}`")]
    Truncated {
        /// Offset in the Avro datum (after the 5-byte header) where more bytes were needed.
        at: usize,
        /// Field or item being read.
        what: &'static str,
    },
    /// A string field is not valid UTF-8.
    #[error("invalid UTF-8 in `{what}`")]
    InvalidUtf8 {
        /// Field being read.
        what: &'static str,
    },
    /// A union branch index is outside the union.
    #[error("bad union branch index {index} for `{what}`")]
    BadUnionIndex {
        /// Field being read.
        what: &'static str,
        /// Index found in the datum.
        index: i64,
    },
    /// A string, bytes or block length is negative.
    #[error("negative length for `{what}`")]
    NegativeLength {
        /// Field being read.
        what: &'static str,
    },
    /// A varint is longer than 10 bytes or does not fit the declared Avro type.
    #[error("integer out of range for `{what}`")]
    IntOverflow {
        /// Field being read.
        what: &'static str,
    },
    /// Bytes left over after the datum: the writer schema is not the one the id claims.
    #[error("{0} trailing bytes after the datum")]
    TrailingBytes(usize),
    /// `register` was called with an id that is already taken.
    #[error("schema id {0} is already registered")]
    DuplicateSchemaId(u32),
    /// An error from `apache-avro` (schema parsing or resolution), as text.
    #[error("avro: {0}")]
    Avro(String),
    /// A resolved Avro value does not have the shape of the Rust record.
    #[error("unexpected avro value for `{what}`")]
    Value {
        /// Field being converted.
        what: &'static str,
    },
}

impl From<apache_avro::Error> for Error {
    fn from(e: apache_avro::Error) -> Self {
        Error::Avro(e.to_string())
    }
}

/// A record that decoded fine but makes no sense (NaN price, empty id, timestamp in 1990, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// Avro field name that failed the check.
    pub field: &'static str,
    /// Why it failed.
    pub reason: String,
}

impl ValidationError {
    pub(crate) fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "field `{}`: {}", self.field, self.reason)
    }
}

impl std::error::Error for ValidationError {}
