//! Window statistics and the indicators of their series as points of `crypto_analytics`.

use std::sync::{Arc, LazyLock};

use cryptoviz_store::WriteBatch;
use datafusion::arrow::array::{
    ArrayRef, Float64Builder, Int64Builder, StringBuilder, TimestampNanosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

use super::{ms_to_ns, time_field};
use crate::Result;
use crate::indicators::INDICATOR_FIELDS;
use crate::measurements::{ANALYTICS, ANALYTICS_TAGS};
use crate::windows::EmittedWindow;

/// Float fields, in column order; the first seven are never null.
const STATS: [&str; 11] = [
    "open",
    "high",
    "low",
    "close",
    "mean",
    "min",
    "max",
    "stddev",
    "volatility_pct",
    "volume",
    "vwap",
];

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut fields = vec![time_field()];
    fields.extend(
        ANALYTICS_TAGS
            .iter()
            .map(|t| Field::new(*t, DataType::Utf8, false)),
    );
    fields.extend(
        STATS
            .iter()
            .enumerate()
            .map(|(i, f)| Field::new(*f, DataType::Float64, i >= 7)),
    );
    fields.extend(
        INDICATOR_FIELDS
            .iter()
            .map(|f| Field::new(*f, DataType::Float64, true)),
    );
    fields.push(Field::new("count", DataType::Int64, false));
    fields.push(Field::new("window_end", DataType::Int64, false));
    fields.push(Field::new("status", DataType::Utf8, false));
    Arc::new(Schema::new(fields))
});

/// Builds a `crypto_analytics` batch from emitted windows. The point's time is the window's
/// start, so re-emitting a window (provisional, then closed) overwrites the same point.
pub fn batch(windows: &[EmittedWindow]) -> Result<Option<WriteBatch>> {
    if windows.is_empty() {
        return Ok(None);
    }
    let mut time = TimestampNanosecondBuilder::new().with_timezone("UTC");
    let mut tags: [StringBuilder; 3] = std::array::from_fn(|_| StringBuilder::new());
    let mut stats: [Float64Builder; STATS.len()] = std::array::from_fn(|_| Float64Builder::new());
    let mut indicators: [Float64Builder; INDICATOR_FIELDS.len()] =
        std::array::from_fn(|_| Float64Builder::new());
    let mut count = Int64Builder::new();
    let mut end = Int64Builder::new();
    let mut status = StringBuilder::new();
    for w in windows {
        time.append_value(ms_to_ns(w.start_ms));
        tags[0].append_value(&*w.crypto_id);
        tags[1].append_value(&*w.source);
        tags[2].append_value(&*w.window);
        let s = &w.stats;
        let values = [
            Some(s.open),
            Some(s.high),
            Some(s.low),
            Some(s.close),
            Some(s.mean),
            Some(s.low),
            Some(s.high),
            s.stddev,
            s.volatility_pct,
            s.volume,
            s.vwap,
        ];
        for (b, v) in stats.iter_mut().zip(values) {
            b.append_option(v);
        }
        for (b, v) in indicators.iter_mut().zip(w.indicators.to_array()) {
            b.append_option(v);
        }
        count.append_value(s.count as i64);
        end.append_value(ms_to_ns(w.end_ms));
        status.append_value(w.status.as_str());
    }
    let mut columns: Vec<ArrayRef> = vec![Arc::new(time.finish())];
    columns.extend(tags.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.extend(stats.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.extend(
        indicators
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef),
    );
    columns.push(Arc::new(count.finish()));
    columns.push(Arc::new(end.finish()));
    columns.push(Arc::new(status.finish()));
    let batch = RecordBatch::try_new(SCHEMA.clone(), columns)?;
    let tags = ANALYTICS_TAGS.iter().map(|t| t.to_string()).collect();
    Ok(Some(WriteBatch::new(ANALYTICS, tags, batch)?))
}
