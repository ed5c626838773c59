//! One file per record type. Each holds the Rust struct, its embedded schema and its
//! [`crate::Message`] implementation: `fields::message_codec!` builds all of it but
//! `validate_at` from the record's fields, listed once in the field order of the `.avsc` file.

mod dlq;
mod fields;
mod news;
mod price;
mod sentiment;
mod trade;

use apache_avro::Schema;

pub use dlq::DlqRecord;
pub use news::CryptoNews;
pub use price::CryptoPrice;
pub(crate) use price::{
    V1_SCHEMA_ID as PRICE_V1_SCHEMA_ID, V1_SCHEMA_JSON as PRICE_V1_SCHEMA_JSON,
};
pub use sentiment::MarketSentiment;
pub use trade::{CryptoTrade, TakerSide};

/// Parses an embedded `.avsc`. These are compile-time constants covered by the tests, so a
/// failure is a bug in this crate, never bad input.
fn parse_embedded(json: &str, file: &str) -> Schema {
    match Schema::parse_str(json) {
        Ok(schema) => schema,
        Err(e) => panic!("embedded schema {file} is invalid: {e}"),
    }
}
