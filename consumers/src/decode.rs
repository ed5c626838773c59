//! Bytes from the log to typed records; what does not decode becomes a dead letter.

use cryptoviz_log::ConsumedRecord;
use cryptoviz_schemas::{DlqRecord, Message};

/// Decodes `record` as an `M`, or describes why it cannot be one as a dead letter that keeps
/// the raw bytes, the topic and where it was read.
pub fn decode<M: Message>(
    record: &ConsumedRecord,
    consumer: &str,
    now_ms: i64,
) -> Result<M, DlqRecord> {
    cryptoviz_schemas::decode::<M>(&record.value)
        .map_err(|e| dead_letter(record, consumer, now_ms, e))
}

/// [`decode`] over `out`, keeping its allocations (see [`cryptoviz_schemas::decode_into`]);
/// on error `out` holds nothing to use.
pub fn decode_into<M: Message>(
    record: &ConsumedRecord,
    consumer: &str,
    now_ms: i64,
    out: &mut M,
) -> Result<(), DlqRecord> {
    cryptoviz_schemas::decode_into(&record.value, out)
        .map_err(|e| dead_letter(record, consumer, now_ms, e))
}

fn dead_letter(
    record: &ConsumedRecord,
    consumer: &str,
    now_ms: i64,
    e: cryptoviz_schemas::Error,
) -> DlqRecord {
    DlqRecord {
        original_topic: record.topic.to_string(),
        reason: format!(
            "undecodable record at {}/{} offset {}: {e}",
            record.topic, record.partition, record.offset
        ),
        payload: record.value.to_vec(),
        source: consumer.to_string(),
        timestamp_ms: now_ms,
    }
}
