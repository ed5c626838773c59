//! The `[consumer]` section of the config file: the group, event-time lateness and idleness,
//! and how much is buffered before a store write and a commit. Validated at start-up, with
//! errors that name the key.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::anomalies::AnomalyConfig;
use crate::{Error, Result};

/// Configuration of the consumers (`[consumer]` in the config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsumerConfig {
    /// Consumer group; instances of one group split the partitions.
    pub group: String,
    /// How long after a window's end (in event time) ticks are still accepted.
    #[serde(with = "humantime_serde")]
    pub allowed_lateness: Duration,
    /// A partition that delivers nothing for this long (wall time) stops holding the
    /// watermark back; when all are idle, open windows are emitted as provisional.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Longest time outputs are buffered before a store write and an offset commit.
    #[serde(with = "humantime_serde")]
    pub flush_interval: Duration,
    /// Buffered ticks that force a store write.
    pub flush_rows: usize,
    /// Most records taken from the log per poll.
    pub poll_max: usize,
    /// Accept ticks whose event time is more than a day past the wall clock. Off: such a tick
    /// is dead-lettered at decode (one bad clock must not carry the watermark ahead for good
    /// and make every later tick late). `cryptoviz run --simulate --speed N` with N > 1 turns
    /// it on, since its market clock runs ahead on purpose.
    pub accept_future_event_times: bool,
    /// The anomaly detectors.
    pub anomalies: AnomalyConfig,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        Self {
            group: "cryptoviz-analytics".into(),
            allowed_lateness: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(3),
            flush_interval: Duration::from_millis(250),
            flush_rows: 100_000,
            poll_max: 20_000,
            accept_future_event_times: false,
            anomalies: AnomalyConfig::default(),
        }
    }
}

impl ConsumerConfig {
    /// Checks every value; the error names the offending key.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, why: &str| Err(Error::Config(format!("consumer.{key}: {why}")));
        if self.group.trim().is_empty() {
            return bad("group", "must not be empty");
        }
        if self.flush_interval.is_zero() {
            return bad("flush_interval", "must be positive");
        }
        if self.idle_timeout.is_zero() {
            return bad("idle_timeout", "must be positive");
        }
        if self.flush_rows == 0 {
            return bad("flush_rows", "must be at least 1");
        }
        if self.poll_max == 0 {
            return bad("poll_max", "must be at least 1");
        }
        self.anomalies.validate()
    }
}
