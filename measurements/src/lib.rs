//! The stored-data contract of CryptoViz: every measurement the consumers write and the API
//! reads, declared once.
//!
//! The consumers turn what they compute into the typed rows declared here and write them with
//! [`Measurement::to_batch`]; the store (embedded Parquet or InfluxDB line protocol) takes its
//! schema from that batch; the serving API reads stored rows back into the same types
//! ([`Measurement::from_row`]) and serialises them, and its OpenAPI document is derived from
//! them (`utoipa::ToSchema`). A field added to a row therefore reaches the sink, the API model
//! and the OpenAPI document (and from there the viewer's generated TypeScript types) without
//! being copied by hand; see `docs/architecture.md`, "Adding a field".
//!
//! Layout: [`column`](mod@column) holds the declaration types (a column's kind and nullability, the
//! [`columns!`] and [`closed_set!`] macros); [`time`] the stored and served time formats; then
//! one module per measurement: [`market`], [`coin_info`], [`analytics`], [`news`],
//! [`sentiment`], [`anomalies`], [`fear_greed`], [`trades`] (exchange trades and their
//! candles). Closed sets (window status, anomaly kind, severity, episode status, sentiment
//! label, taker side) are enums in the module of the measurement that
//! stores them; [`names`] lists every name and tag set as constants.
//!
//! Two modules hold what is not a measurement but is shared the same way. [`replay`] has the
//! replay request and progress the API serves and the consumers run: the API defines how a
//! replay is started (a `ReplayRunner` trait the binary implements with the consumers), and
//! both sides meet on these types without the API depending on the consumers. [`status`] has
//! the bounds of the consumers' latency histogram, which their status and the API's
//! `/metrics` share.
//!
//! This crate depends on the store (for [`WriteBatch`] and the Arrow types) and the topic
//! schemas only; the consumers, the API and the binary depend on it.

pub mod analytics;
pub mod anomalies;
pub mod coin_info;
pub mod column;
pub mod fear_greed;
pub mod market;
pub mod names;
pub mod news;
pub mod replay;
pub mod sentiment;
pub mod status;
pub mod time;
pub mod trades;

#[cfg(test)]
mod tests;

use cryptoviz_store::WriteBatch;
pub use datafusion::arrow;
use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
#[doc(hidden)]
pub use {serde, utoipa};

pub use column::{Columns, FieldDef, Kind};
pub use time::{Nanos, Time};

/// What can go wrong converting rows to batches and back.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Building or casting an Arrow array failed.
    #[error("arrow: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// The store refused the batch (a bug: the schemas are declared here).
    #[error("store: {0}")]
    Store(#[from] cryptoviz_store::Error),
    /// A non-null column is missing from a batch read back.
    #[error("column `{0}` is missing")]
    MissingColumn(&'static str),
    /// A non-null column holds a null.
    #[error("column `{0}` holds a null")]
    NullValue(&'static str),
    /// A stored string is not one of a closed set's values.
    #[error("`{value}` is not a {set}")]
    UnknownValue { set: &'static str, value: String },
    /// A stored row (as JSON) does not match its declared shape.
    #[error("stored row does not match its declared shape: {0}")]
    Row(#[from] serde_json::Error),
}

/// Result with the contract's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A stored measurement: its name and tags; its columns come from [`Columns`] (the row's
/// fields, in order). Implemented by [`measurement!`].
pub trait Measurement: Columns {
    /// Measurement name in the store.
    const NAME: &'static str;
    /// Tag columns: with `time` they identify a point.
    const TAGS: &'static [&'static str];

    /// The Arrow schema of a written batch (`time`, tags and fields in declaration order).
    fn schema() -> SchemaRef;

    /// Every column's declaration, in order.
    fn fields() -> Vec<FieldDef> {
        let mut out = Vec::new();
        Self::defs("", &mut out);
        out
    }

    /// The declared tags as the store wants them.
    fn tags() -> Vec<String> {
        Self::TAGS.iter().map(|t| t.to_string()).collect()
    }

    /// `rows` as a write batch (`None` when empty).
    fn to_batch(rows: &[Self]) -> Result<Option<WriteBatch>> {
        if rows.is_empty() {
            return Ok(None);
        }
        let mut builders = Self::builders(rows.len());
        for row in rows {
            row.append(&mut builders);
        }
        let mut columns: Vec<ArrayRef> = Vec::new();
        Self::finish(&mut builders, &mut columns);
        let batch = RecordBatch::try_new(Self::schema(), columns)?;
        Ok(Some(WriteBatch::new(Self::NAME, Self::tags(), batch)?))
    }

    /// Every row of a stored batch (columns found by name, cast to their declared kind; a
    /// missing nullable column reads as nulls).
    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>> {
        Self::read(batch, Self::NAME)
    }

    /// A stored row as a JSON object (keyed by column, times as RFC 3339) as this type.
    fn from_row(row: serde_json::Map<String, serde_json::Value>) -> Result<Self>
    where
        Self: serde::de::DeserializeOwned,
    {
        Ok(serde_json::from_value(serde_json::Value::Object(row))?)
    }
}

/// The schema of declared columns.
pub fn schema_of(fields: &[FieldDef]) -> SchemaRef {
    std::sync::Arc::new(Schema::new(
        fields.iter().map(FieldDef::arrow).collect::<Vec<_>>(),
    ))
}

/// Declares a measurement: its row struct (see [`columns!`]), name and tags.
#[macro_export]
macro_rules! measurement {
    (
        $(#[$meta:meta])*
        pub struct $row:ident in $name:literal, tags [$($tag:literal),* $(,)?] {
            $($body:tt)*
        }
    ) => {
        $crate::columns! {
            $(#[$meta])*
            pub struct $row { $($body)* }
        }

        impl $crate::Measurement for $row {
            const NAME: &'static str = $name;
            const TAGS: &'static [&'static str] = &[$($tag),*];

            fn schema() -> $crate::arrow::datatypes::SchemaRef {
                static SCHEMA: ::std::sync::LazyLock<$crate::arrow::datatypes::SchemaRef> =
                    ::std::sync::LazyLock::new(|| {
                        $crate::schema_of(&<$row as $crate::Measurement>::fields())
                    });
                SCHEMA.clone()
            }
        }
    };
}
