//! Anomaly episodes as points of `crypto_anomalies`.

use std::sync::{Arc, LazyLock};

use cryptoviz_store::WriteBatch;
use datafusion::arrow::array::{
    ArrayRef, Float64Builder, Int64Builder, StringBuilder, TimestampNanosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

use super::{ms_to_ns, time_field};
use crate::Result;
use crate::anomalies::Anomaly;
use crate::measurements::{ANOMALIES, ANOMALY_TAGS};

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut fields = vec![time_field()];
    fields.extend(
        ANOMALY_TAGS
            .iter()
            .map(|t| Field::new(*t, DataType::Utf8, false)),
    );
    for f in ["end_time", "peak_time"] {
        fields.push(Field::new(f, DataType::Int64, false));
    }
    for f in ["observed", "baseline", "score"] {
        fields.push(Field::new(f, DataType::Float64, false));
    }
    for f in ["severity", "status", "detail"] {
        fields.push(Field::new(f, DataType::Utf8, false));
    }
    Arc::new(Schema::new(fields))
});

/// Builds a `crypto_anomalies` batch. The point's time is the episode's start, so every update
/// of an episode (and a replay) rewrites the same point; the last write wins.
pub fn batch(anomalies: &[Anomaly]) -> Result<Option<WriteBatch>> {
    if anomalies.is_empty() {
        return Ok(None);
    }
    let mut time = TimestampNanosecondBuilder::new().with_timezone("UTC");
    let mut tags: [StringBuilder; 3] = std::array::from_fn(|_| StringBuilder::new());
    let mut times: [Int64Builder; 2] = std::array::from_fn(|_| Int64Builder::new());
    let mut values: [Float64Builder; 3] = std::array::from_fn(|_| Float64Builder::new());
    let mut texts: [StringBuilder; 3] = std::array::from_fn(|_| StringBuilder::new());
    for a in anomalies {
        time.append_value(ms_to_ns(a.start_ms));
        tags[0].append_value(&*a.crypto_id);
        tags[1].append_value(a.kind.as_str());
        tags[2].append_value(&*a.source);
        times[0].append_value(ms_to_ns(a.end_ms));
        times[1].append_value(ms_to_ns(a.peak_ms));
        for (b, v) in values.iter_mut().zip([a.observed, a.baseline, a.score]) {
            b.append_value(v);
        }
        for (b, v) in
            texts
                .iter_mut()
                .zip([a.severity.as_str(), a.status.as_str(), a.detail.as_str()])
        {
            b.append_value(v);
        }
    }
    let mut columns: Vec<ArrayRef> = vec![Arc::new(time.finish())];
    columns.extend(tags.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.extend(times.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.extend(values.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.extend(texts.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    let batch = RecordBatch::try_new(SCHEMA.clone(), columns)?;
    let tags = ANOMALY_TAGS.iter().map(|t| t.to_string()).collect();
    Ok(Some(WriteBatch::new(ANOMALIES, tags, batch)?))
}
