//! # cryptoviz-log: the bus seam
//!
//! The durable, partitioned, replayable topic log between CryptoViz stages: producers
//! [`Log::append`] market events (keyed by coin), window consumers [`Log::subscribe`] as a
//! consumer group, poll, and [`LogConsumer::commit`] offsets plus opaque metadata (their window
//! watermarks) once their side effects are acknowledged. The [`Log`] / [`LogConsumer`] traits
//! are Kafka-shaped so a Kafka backend can be dropped in by config; [`EmbeddedLog`] is the
//! default single-process backend, with no external service.
//!
//! ## On-disk layout ([`EmbeddedLog`])
//!
//! ```text
//! <dir>/.lock                                     flock held while open (one owner per dir)
//! <dir>/topics/<topic>/topic.json                 {"partitions": N}
//! <dir>/topics/<topic>/<partition>/<base:020>.log   append-only segment, named by first offset
//! <dir>/topics/<topic>/<partition>/<base:020>.index sparse index, one entry per ~4 KiB of log
//! <dir>/groups/<group>.json                       committed offsets + metadata of a group
//! ```
//!
//! A segment is a sequence of frames (little-endian):
//! `len:u32 | crc32(body):u32 | body = offset:u64 ts:i64 key_len:i32 (-1 = null) key value_len:u32 value`.
//! An index entry is `relative_offset:u32 | position:u32 | max_ts_before:i64 | crc32:u32`,
//! so seeking by offset or by timestamp reads at most ~4 KiB past the target.
//!
//! ## Durability ([`FsyncPolicy`]) and what a crash can lose
//!
//! * `Always` (default): every append batch is written with one `write(2)` and `fdatasync`ed
//!   before it is acknowledged; concurrent batches share one fsync (group commit). Consumers
//!   only see acknowledged records. Neither `kill -9` nor power loss loses acknowledged records.
//! * `Interval(d)`: acknowledged after `write(2)`; a background task fsyncs every `d`.
//!   `kill -9` loses nothing (the page cache survives the process); power loss can lose up to
//!   `d` of acknowledged records.
//! * `Never`: acknowledged after `write(2)`, fsync only on segment roll and [`Log::flush`].
//!   Survives `kill -9`; power loss can lose everything since the last flush.
//!
//! On open each segment's tail is re-scanned from its last valid index entry. A torn or
//! CRC-failing tail of the *active* segment with no intact record after it (a batch cut by a
//! crash before it was acknowledged) is truncated with a `warn!` and offsets resume after the
//! last valid record. Any other damage (a closed segment damaged or cut short, or damage
//! followed by intact records) stops start-up with [`Error::Corrupt`] naming the file;
//! [`embedded::repair`] (`cryptoviz log repair`) moves it aside without ever reusing an
//! offset. A missing or corrupt index is rebuilt from the log. Committed group offsets are
//! written atomically (temp file, fsync, rename, fsync dir).
//!
//! A full disk stalls appends (retried with back-off until space returns, reported by
//! [`EmbeddedLog::stalled`]) instead of failing them or leaving a half-written record.
//!
//! Index files are not fsynced per batch: they are validated (CRC per entry, positions inside
//! the log) and rebuilt on open, so losing them costs only recovery time.

#![warn(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

pub use bytes::Bytes;

pub mod embedded;
mod error;
pub mod kafka;
mod partitioner;

pub use embedded::{EmbeddedLog, EmbeddedLogConfig, FsyncPolicy, RetentionReport};
pub use error::{Error, Result};
pub use kafka::{KafkaConfig, KafkaLog};
pub use partitioner::{murmur2, partition_for_key};

/// One partition of one topic.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: String,
    /// Partition number, `0..partition_count`.
    pub partition: u32,
}

impl TopicPartition {
    /// Convenience constructor.
    pub fn new(topic: impl Into<String>, partition: u32) -> Self {
        Self {
            topic: topic.into(),
            partition,
        }
    }
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.topic, self.partition)
    }
}

/// A record to append.
#[derive(Clone, Debug)]
pub struct Record {
    /// Partitioning key (the coin); `None` round-robins.
    pub key: Option<Bytes>,
    /// Payload (Avro-framed by `cryptoviz-schemas`, opaque here).
    pub value: Bytes,
    /// Event time in Unix milliseconds; used by seek-by-timestamp and age retention.
    pub timestamp_ms: i64,
}

/// A record read back by a consumer.
#[derive(Clone, Debug)]
pub struct ConsumedRecord {
    /// Topic it came from.
    pub topic: Arc<str>,
    /// Partition it came from.
    pub partition: u32,
    /// Its offset in the partition.
    pub offset: u64,
    /// Event time in Unix milliseconds, as appended.
    pub timestamp_ms: i64,
    /// Key, as appended.
    pub key: Option<Bytes>,
    /// Value, as appended.
    pub value: Bytes,
}

/// Where an appended record landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Produced {
    /// Partition it was written to.
    pub partition: u32,
    /// Offset it was given.
    pub offset: u64,
}

/// A committed position. `offset` is the NEXT offset to read (Kafka semantics); `metadata` is
/// an opaque string stored atomically with it (Kafka offset-commit metadata; consumers store
/// window watermarks there).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Committed {
    /// Next offset to read.
    pub offset: u64,
    /// Opaque metadata stored with the offset.
    pub metadata: String,
}

/// Target of [`LogConsumer::seek`].
#[derive(Clone, Copy, Debug)]
pub enum SeekTo {
    /// Earliest retained offset.
    Beginning,
    /// The end: only records appended from now on.
    End,
    /// An explicit offset (clamped into the retained range).
    Offset(u64),
    /// The earliest offset whose timestamp is `>=` this (Unix ms); the end if there is none.
    Timestamp(i64),
}

/// Partitions taken from / given to a consumer by a rebalance. A partition may appear in both
/// lists (taken away and given back in between two calls): drop its state, then restart it
/// from the committed offset.
#[derive(Clone, Debug, Default)]
pub struct AssignmentChange {
    /// Partitions no longer assigned.
    pub revoked: Vec<TopicPartition>,
    /// Partitions newly assigned (reading starts at the group's committed offset).
    pub assigned: Vec<TopicPartition>,
}

/// The bus: a partitioned, replayable topic log with consumer groups.
#[async_trait::async_trait]
pub trait Log: Send + Sync + 'static {
    /// Creates the topic with `partitions` partitions if missing (no-op if it exists).
    async fn ensure_topic(&self, topic: &str, partitions: u32) -> Result<()>;
    /// Number of partitions of an existing topic.
    async fn partition_count(&self, topic: &str) -> Result<u32>;
    /// Appends a batch. Keyed records go to `partition_for_key(key, n)` (Kafka's murmur2
    /// partitioner, so the same coin lands in the same partition on both backends); unkeyed
    /// ones round-robin. Returns when the batch is acknowledged (durable per the fsync policy),
    /// one Produced per record in input order. Auto-creates a missing topic with the default
    /// partition count.
    async fn append(&self, topic: &str, records: Vec<Record>) -> Result<Vec<Produced>>;
    /// Joins consumer group `group` for `topics`. Members of one group split the partitions
    /// (range assignment, rebalanced when a member joins or leaves/drops); a new member starts
    /// each partition at the group's committed offset, else at the beginning (earliest).
    async fn subscribe(&self, group: &str, topics: &[&str]) -> Result<Box<dyn LogConsumer>>;
    /// Per partition `[start (earliest retained), end (next offset to be written))`.
    async fn offsets(&self, topic: &str) -> Result<Vec<(u64, u64)>>;
    /// Committed offsets of a group (for lag / status), one entry per partition.
    async fn group_offsets(&self, group: &str, topic: &str) -> Result<Vec<Option<Committed>>>;
    /// Up to `max` records of one partition from offset `from` (raised to the earliest
    /// retained offset), in offset order, without joining a consumer group: nothing is
    /// committed and no group state is kept, so an operator's or an API's ad-hoc read leaves
    /// no trace. Returns what is there now (possibly fewer than `max`, empty at the end).
    async fn read(&self, tp: &TopicPartition, from: u64, max: usize)
    -> Result<Vec<ConsumedRecord>>;
    /// Flushes and fsyncs everything (called on shutdown).
    async fn flush(&self) -> Result<()>;
    /// Why appends are stalled right now (a full disk under the embedded log), for a readiness
    /// probe; `None` while the log takes writes. A remote broker reports its failures through
    /// the calls themselves.
    fn stalled(&self) -> Option<String> {
        None
    }
}

/// One member of a consumer group.
#[async_trait::async_trait]
pub trait LogConsumer: Send + Sync {
    /// Up to `max` records from the assigned partitions (fair across partitions, in offset
    /// order within each), waiting up to `timeout` for data; empty Vec on timeout.
    async fn poll(&mut self, max: usize, timeout: Duration) -> Result<Vec<ConsumedRecord>>;
    /// The partitions currently assigned to this consumer.
    fn assignment(&self) -> Vec<TopicPartition>;
    /// Assignment changes since the last call (the first call after subscribe reports the
    /// initial assignment as `assigned`).
    fn take_assignment_change(&mut self) -> Option<AssignmentChange>;
    /// The group's committed offset for `tp`.
    async fn committed(&self, tp: &TopicPartition) -> Result<Option<Committed>>;
    /// Durably stores offsets+metadata for the group (atomic: write temp, fsync, rename).
    async fn commit(&mut self, offsets: &[(TopicPartition, Committed)]) -> Result<()>;
    /// Moves this consumer's read position (not the committed offset).
    async fn seek(&mut self, tp: &TopicPartition, to: SeekTo) -> Result<()>;
}

/// Checks a topic name against Kafka's rules: 1..=249 characters from `[A-Za-z0-9._-]`,
/// and not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<()> {
    validate_name("topic", name)
}

pub(crate) fn validate_name(what: &'static str, name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("must not be empty")
    } else if name.len() > 249 {
        Some("must be at most 249 characters")
    } else if name == "." || name == ".." {
        Some("must not be '.' or '..'")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        Some("may only contain ASCII letters, digits, '.', '_' and '-'")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidName {
            what,
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafka_rules() {
        for ok in ["prices", "raw.ticks-v1", "a_b", &"x".repeat(249)] {
            validate_topic_name(ok).unwrap();
        }
        for bad in [
            "",
            ".",
            "..",
            "has space",
            "slash/y",
            "ünï",
            &"x".repeat(250),
        ] {
            let err = validate_topic_name(bad).unwrap_err();
            assert!(
                err.is_caller_error() && !err.is_retryable(),
                "{bad:?}: {err}"
            );
        }
    }
}
