//! Bytes from the log to typed records; what does not decode, or decodes to a record that
//! breaks its schema's rules, becomes a dead letter.
//!
//! The producers validate every record before publishing, and decoding validates it again:
//! a log can hold records from an older producer, another tool or a replayed file, and one
//! poison pill — a tag value the store cannot take, an event time years ahead that would
//! carry the watermark with it for good — must cost one dead letter, never a stopped consumer
//! or a stream whose every later tick is late.

use cryptoviz_log::ConsumedRecord;
use cryptoviz_schemas::{DlqRecord, Message};

/// Decodes `record` as an `M` and validates it against the clock `now_ms` ([`Message::
/// validate_at`]: an event time from 2009 to a day past `now_ms`, tag values the store can
/// take, …), or describes why it cannot be one as a dead letter that keeps the raw bytes, the
/// topic and where it was read. `now_ms` also stamps the dead letter.
pub fn decode<M: Message>(
    record: &ConsumedRecord,
    consumer: &str,
    now_ms: i64,
) -> Result<M, DlqRecord> {
    let m = cryptoviz_schemas::decode::<M>(&record.value)
        .map_err(|e| dead_letter(record, consumer, now_ms, e))?;
    m.validate_at(now_ms)
        .map_err(|e| invalid(record, consumer, now_ms, &e))?;
    Ok(m)
}

/// [`decode`] over `out`, keeping its allocations (see [`cryptoviz_schemas::decode_into`]);
/// on error `out` holds nothing to use. Event times are checked against `horizon_ms` (the
/// wall clock, or `i64::MAX` where a simulated market deliberately runs ahead of it).
pub fn decode_into<M: Message>(
    record: &ConsumedRecord,
    consumer: &str,
    now_ms: i64,
    horizon_ms: i64,
    out: &mut M,
) -> Result<(), DlqRecord> {
    cryptoviz_schemas::decode_into(&record.value, out)
        .map_err(|e| dead_letter(record, consumer, now_ms, e))?;
    out.validate_at(horizon_ms)
        .map_err(|e| invalid(record, consumer, now_ms, &e))
}

fn dead_letter(
    record: &ConsumedRecord,
    consumer: &str,
    now_ms: i64,
    e: cryptoviz_schemas::Error,
) -> DlqRecord {
    letter(
        record,
        consumer,
        now_ms,
        format!(
            "undecodable record at {}/{} offset {}: {e}",
            record.topic, record.partition, record.offset
        ),
    )
}

fn invalid(
    record: &ConsumedRecord,
    consumer: &str,
    now_ms: i64,
    e: &cryptoviz_schemas::ValidationError,
) -> DlqRecord {
    letter(
        record,
        consumer,
        now_ms,
        format!(
            "invalid record at {}/{} offset {}: {e}",
            record.topic, record.partition, record.offset
        ),
    )
}

fn letter(record: &ConsumedRecord, consumer: &str, now_ms: i64, reason: String) -> DlqRecord {
    DlqRecord {
        original_topic: record.topic.to_string(),
        reason,
        payload: record.value.to_vec(),
        source: consumer.to_string(),
        timestamp_ms: now_ms,
    }
}
