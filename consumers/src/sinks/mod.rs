//! Arrow batches of the measurements the consumers write, one file per measurement. The
//! measurements (names, tags, columns) are declared in `cryptoviz-measurements`; a sink turns
//! what the consumers computed into those rows.

pub mod analytics;
pub mod anomalies;
pub mod coin_info;
pub mod market;
pub mod news;
pub mod sentiment;
pub mod trades;

use datafusion::arrow::datatypes::Field;

/// The `time` column (of the consumers' own checkpoint measurement): nanoseconds since the epoch, UTC.
pub fn time_field() -> Field {
    Field::new(
        cryptoviz_store::TIME_COLUMN,
        cryptoviz_store::time_data_type(),
        false,
    )
}

pub use cryptoviz_measurements::time::ms_to_ns;
