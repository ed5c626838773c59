//! Arrow batches of the measurements the consumers write, one file per measurement.

pub mod analytics;
pub mod anomalies;
pub mod coin_info;
pub mod market;
pub mod news;
pub mod sentiment;

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};

/// The `time` column every measurement has: nanoseconds since the epoch, UTC.
pub fn time_field() -> Field {
    Field::new(
        "time",
        DataType::Timestamp(TimeUnit::Nanosecond, Some(Arc::from("UTC"))),
        false,
    )
}

/// Milliseconds to the store's nanoseconds.
pub fn ms_to_ns(ms: i64) -> i64 {
    ms.saturating_mul(1_000_000)
}
