//! Validation, encoding and keyed publishing of records, with dead-lettering.

use std::sync::Arc;

use bytes::Bytes;
use cryptoviz_log::{Log, Record};
use cryptoviz_schemas::{
    CryptoNews, CryptoPrice, CryptoTrade, DlqRecord, MarketSentiment, Message, topics,
};
use serde::Serialize;

use crate::{Result, SourceStatus};

/// A record type with a partitioning key and an event time (its topic is `Message::TOPIC`).
pub trait Publishable: Message + Serialize {
    /// The partitioning key: records with equal keys stay ordered.
    fn key(&self) -> &str;
    /// Event time in milliseconds since the Unix epoch (UTC).
    fn event_time_ms(&self) -> i64;
}

impl Publishable for CryptoPrice {
    fn key(&self) -> &str {
        &self.crypto_id
    }
    fn event_time_ms(&self) -> i64 {
        self.timestamp_ms
    }
}

impl Publishable for CryptoNews {
    fn key(&self) -> &str {
        &self.source
    }
    fn event_time_ms(&self) -> i64 {
        self.published_at_ms
    }
}

impl Publishable for MarketSentiment {
    fn key(&self) -> &str {
        &self.source
    }
    fn event_time_ms(&self) -> i64 {
        self.timestamp_ms
    }
}

/// Keyed by coin, like prices: a coin's trades from every exchange share a partition, in the
/// order each exchange's source appended them.
impl Publishable for CryptoTrade {
    fn key(&self) -> &str {
        &self.crypto_id
    }
    fn event_time_ms(&self) -> i64 {
        self.event_time_ms
    }
}

/// What one publish call did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PublishReport {
    /// Records appended to their topic.
    pub published: usize,
    /// Records dead-lettered because they failed validation.
    pub rejected: usize,
}

/// Validates, encodes and appends records for one source.
///
/// Every record is checked before it is encoded: the Rust types are the Avro schemas' types
/// (the schemas crate proves its encoder's bytes equal `apache-avro`'s), so what remains to
/// check is meaning — finite positive prices, plausible timestamps, required strings — which
/// [`Message::validate_at`] does against the *source's* clock (a simulated market runs ahead
/// of the wall clock).
#[derive(Clone)]
pub struct Publisher {
    log: Arc<dyn Log>,
    source: Arc<str>,
    status: Arc<SourceStatus>,
}

impl Publisher {
    /// A publisher appending to `log` on behalf of `source`.
    pub fn new(log: Arc<dyn Log>, source: &str, status: Arc<SourceStatus>) -> Self {
        Self {
            log,
            source: source.into(),
            status,
        }
    }

    /// The status this publisher updates.
    pub fn status(&self) -> &Arc<SourceStatus> {
        &self.status
    }

    /// Validates and publishes `records` as of `now_ms` (the source's clock); invalid records
    /// go to the DLQ with their reason and JSON form, the rest are appended in one batch.
    pub async fn publish<M: Publishable>(
        &self,
        records: &[M],
        now_ms: i64,
    ) -> Result<PublishReport> {
        if records.is_empty() {
            return Ok(PublishReport::default());
        }
        // One buffer for every key and value of the batch: records are slices of it.
        let mut buf = Vec::with_capacity(records.len() * 160);
        let mut spans = Vec::with_capacity(records.len());
        let mut dead = Vec::new();
        for record in records {
            if let Err(e) = record.validate_at(now_ms) {
                let raw = serde_json::to_vec(record).unwrap_or_default();
                dead.push(self.dead_letter(M::TOPIC, e.to_string(), raw, now_ms));
                continue;
            }
            let key_start = buf.len();
            buf.extend_from_slice(record.key().as_bytes());
            let value_start = buf.len();
            cryptoviz_schemas::encode(record, &mut buf);
            spans.push((key_start, value_start, buf.len(), record.event_time_ms()));
        }
        let all = Bytes::from(buf);
        let batch: Vec<Record> = spans
            .into_iter()
            .map(|(k, v, end, ts)| Record {
                key: Some(all.slice(k..v)),
                value: all.slice(v..end),
                timestamp_ms: ts,
            })
            .collect();
        let report = PublishReport {
            published: batch.len(),
            rejected: dead.len(),
        };
        if !dead.is_empty() {
            self.append_dlq(dead).await?;
        }
        if !batch.is_empty() {
            self.log.append(M::TOPIC, batch).await?;
        }
        self.status
            .record_publish(report.published as u64, report.rejected as u64, now_ms);
        Ok(report)
    }

    /// Sends a raw upstream payload that could not become a valid record to the DLQ.
    pub async fn reject(
        &self,
        original_topic: &str,
        reason: impl Into<String>,
        payload: Vec<u8>,
        now_ms: i64,
    ) -> Result<()> {
        let record = self.dead_letter(original_topic, reason.into(), payload, now_ms);
        self.append_dlq(vec![record]).await?;
        self.status.record_publish(0, 1, now_ms);
        Ok(())
    }

    fn dead_letter(&self, topic: &str, reason: String, payload: Vec<u8>, now_ms: i64) -> DlqRecord {
        tracing::warn!(source = %self.source, topic, %reason, "record dead-lettered");
        DlqRecord {
            original_topic: topic.to_string(),
            reason,
            payload,
            source: self.source.to_string(),
            timestamp_ms: now_ms,
        }
    }

    async fn append_dlq(&self, records: Vec<DlqRecord>) -> Result<()> {
        append_dlq(self.log.as_ref(), &records).await
    }
}

/// Appends dead letters to `crypto-dlq`, keyed by their original topic.
pub async fn append_dlq(log: &dyn Log, records: &[DlqRecord]) -> Result<()> {
    let batch = records
        .iter()
        .map(|r| Record {
            key: Some(Bytes::copy_from_slice(r.original_topic.as_bytes())),
            value: Bytes::from(cryptoviz_schemas::to_bytes(r)),
            timestamp_ms: r.timestamp_ms,
        })
        .collect();
    log.append(topics::DLQ, batch).await?;
    Ok(())
}
