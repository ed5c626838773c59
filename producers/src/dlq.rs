//! Dead letters for the CLI: list them, show one, replay the ones that now pass validation.
//!
//! A dead letter's id is `partition:offset` in `crypto-dlq`. [`replay`] reads as consumer
//! group [`REPLAY_GROUP`] and commits after each batch is republished, so a dead letter is
//! considered once: replaying twice republishes nothing new.

use std::time::Duration;

use cryptoviz_log::{Committed, ConsumedRecord, Log, LogConsumer, TopicPartition};
use cryptoviz_schemas::{
    CryptoNews, CryptoPrice, CryptoTrade, DlqRecord, MarketSentiment, Message, topics,
};

use crate::{Publishable, Publisher, Result};

/// Consumer group of [`replay`].
pub const REPLAY_GROUP: &str = "cryptoviz-dlq-replay";

const POLL: Duration = Duration::from_millis(100);

/// What [`replay`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReplayReport {
    /// Dead letters read.
    pub scanned: usize,
    /// Records republished to their original topic.
    pub replayed: usize,
    /// Records that parse but still fail validation (left in the DLQ).
    pub still_invalid: usize,
    /// Dead letters whose payload is not a record's JSON (raw upstream bodies) or that could
    /// not be decoded.
    pub not_replayable: usize,
}

/// Reads the DLQ up to its end offsets as of creation, one batch at a time.
struct ToEnd {
    ends: Vec<u64>,
    next: Vec<u64>,
    idle: u32,
}

impl ToEnd {
    async fn new(log: &dyn Log, consumer: &dyn LogConsumer) -> Result<Self> {
        let offsets = log.offsets(topics::DLQ).await?;
        let ends = offsets.iter().map(|(_, end)| *end).collect();
        let mut next: Vec<u64> = offsets.iter().map(|(start, _)| *start).collect();
        for tp in consumer.assignment() {
            if let Some(c) = consumer.committed(&tp).await?
                && let Some(n) = next.get_mut(tp.partition as usize)
            {
                *n = (*n).max(c.offset);
            }
        }
        Ok(Self {
            ends,
            next,
            idle: 0,
        })
    }

    /// The next batch below the end offsets; `None` once every partition is read (or the
    /// log stays silent for 2 s, e.g. records removed by retention).
    async fn next_batch(
        &mut self,
        consumer: &mut dyn LogConsumer,
    ) -> Result<Option<Vec<ConsumedRecord>>> {
        while self.next.iter().zip(&self.ends).any(|(n, e)| n < e) && self.idle < 20 {
            let records = consumer.poll(500, POLL).await?;
            if records.is_empty() {
                self.idle += 1;
                continue;
            }
            self.idle = 0;
            let mut batch = Vec::with_capacity(records.len());
            for r in records {
                let p = r.partition as usize;
                if self.ends.get(p).is_some_and(|e| r.offset < *e) {
                    if let Some(n) = self.next.get_mut(p) {
                        *n = (*n).max(r.offset + 1);
                    }
                    batch.push(r);
                }
            }
            if !batch.is_empty() {
                return Ok(Some(batch));
            }
        }
        Ok(None)
    }
}

/// The newest `limit` dead letters, oldest first, as `(partition, offset, record)`.
/// Undecodable entries are skipped.
///
/// Reads with [`Log::read`], without joining a consumer group (a group per call would be
/// kept by the log forever), and only the last `limit` records of each partition: dead
/// letters are appended as they fail, so a partition's newest are at its end.
pub async fn list(log: &dyn Log, limit: usize) -> Result<Vec<(u32, u64, DlqRecord)>> {
    if log.partition_count(topics::DLQ).await.is_err() {
        return Ok(Vec::new());
    }
    let mut all = Vec::new();
    for (partition, (start, end)) in (0u32..).zip(log.offsets(topics::DLQ).await?) {
        let tp = TopicPartition::new(topics::DLQ, partition);
        let mut next = end.saturating_sub(limit as u64).max(start);
        while next < end {
            let records = log.read(&tp, next, (end - next) as usize).await?;
            let Some(last) = records.last() else { break };
            next = last.offset + 1;
            all.extend(
                records
                    .into_iter()
                    .filter(|r| r.offset < end)
                    .filter_map(|r| {
                        let letter = cryptoviz_schemas::decode::<DlqRecord>(&r.value).ok()?;
                        Some((r.partition, r.offset, letter))
                    }),
            );
        }
    }
    all.sort_by_key(|(p, o, d)| (d.timestamp_ms, *p, *o));
    let skip = all.len().saturating_sub(limit);
    Ok(all.split_off(skip))
}

/// The dead letter `id` (`"partition:offset"`), if it exists. Read with [`Log::read`], no
/// consumer group.
pub async fn show(log: &dyn Log, id: &str) -> Result<Option<DlqRecord>> {
    let Some((p, o)) = id.split_once(':') else {
        return Ok(None);
    };
    let (Ok(partition), Ok(offset)) = (p.trim().parse::<u32>(), o.trim().parse::<u64>()) else {
        return Ok(None);
    };
    let Ok(offsets) = log.offsets(topics::DLQ).await else {
        return Ok(None);
    };
    match offsets.get(partition as usize) {
        Some((start, end)) if (*start..*end).contains(&offset) => {}
        _ => return Ok(None),
    }
    let tp = TopicPartition::new(topics::DLQ, partition);
    let records = log.read(&tp, offset, 1).await?;
    Ok(records
        .into_iter()
        .find(|r| r.offset == offset)
        .and_then(|r| cryptoviz_schemas::decode::<DlqRecord>(&r.value).ok()))
}

enum Outcome {
    Replayed,
    StillInvalid,
    NotReplayable,
}

async fn replay_as<M>(publisher: &Publisher, payload: &[u8], now_ms: i64) -> Result<Outcome>
where
    M: Publishable + serde::de::DeserializeOwned,
{
    let Ok(record) = serde_json::from_slice::<M>(payload) else {
        return Ok(Outcome::NotReplayable);
    };
    if record.validate_at(now_ms).is_err() {
        return Ok(Outcome::StillInvalid);
    }
    publisher
        .publish(std::slice::from_ref(&record), now_ms)
        .await?;
    Ok(Outcome::Replayed)
}

/// Re-validates every dead letter not yet considered by [`REPLAY_GROUP`] whose payload is the
/// JSON of a record of its original topic, and publishes the ones that now pass. Offsets are
/// committed after each batch, so no dead letter is republished twice.
pub async fn replay(log: &dyn Log, publisher: &Publisher) -> Result<ReplayReport> {
    if log.partition_count(topics::DLQ).await.is_err() {
        return Ok(ReplayReport::default());
    }
    let mut consumer = log.subscribe(REPLAY_GROUP, &[topics::DLQ]).await?;
    let mut to_end = ToEnd::new(log, consumer.as_ref()).await?;
    let mut report = ReplayReport::default();
    while let Some(records) = to_end.next_batch(consumer.as_mut()).await? {
        let now = cryptoviz_schemas::now_ms();
        let mut commits: Vec<(TopicPartition, Committed)> = Vec::new();
        for r in &records {
            report.scanned += 1;
            let outcome = match cryptoviz_schemas::decode::<DlqRecord>(&r.value) {
                Err(_) => Outcome::NotReplayable,
                Ok(d) => match d.original_topic.as_str() {
                    t if t == CryptoPrice::TOPIC => {
                        replay_as::<CryptoPrice>(publisher, &d.payload, now).await?
                    }
                    t if t == CryptoNews::TOPIC => {
                        replay_as::<CryptoNews>(publisher, &d.payload, now).await?
                    }
                    t if t == MarketSentiment::TOPIC => {
                        replay_as::<MarketSentiment>(publisher, &d.payload, now).await?
                    }
                    t if t == CryptoTrade::TOPIC => {
                        replay_as::<CryptoTrade>(publisher, &d.payload, now).await?
                    }
                    _ => Outcome::NotReplayable,
                },
            };
            match outcome {
                Outcome::Replayed => report.replayed += 1,
                Outcome::StillInvalid => report.still_invalid += 1,
                Outcome::NotReplayable => report.not_replayable += 1,
            }
            let tp = TopicPartition::new(topics::DLQ, r.partition);
            let committed = Committed {
                offset: r.offset + 1,
                metadata: String::new(),
            };
            match commits.iter_mut().find(|(t, _)| *t == tp) {
                Some((_, c)) => *c = committed,
                None => commits.push((tp, committed)),
            }
        }
        consumer.commit(&commits).await?;
    }
    Ok(report)
}

/// A dead letter as JSON for people and the API: id (`partition:offset`), time, original topic,
/// source, reason and payload size, and with `with_payload` the payload (as text when it is
/// UTF-8).
pub fn summary(id: &str, letter: &DlqRecord, with_payload: bool) -> serde_json::Value {
    let time = chrono::DateTime::from_timestamp_millis(letter.timestamp_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| letter.timestamp_ms.to_string());
    let mut value = serde_json::json!({
        "id": id,
        "time": time,
        "original_topic": letter.original_topic,
        "source": letter.source,
        "reason": letter.reason,
        "payload_bytes": letter.payload.len(),
    });
    if with_payload {
        value["payload"] = match std::str::from_utf8(&letter.payload) {
            Ok(text) => serde_json::Value::from(text),
            Err(_) => {
                serde_json::Value::from(format!("<{} bytes, not UTF-8>", letter.payload.len()))
            }
        };
    }
    value
}
