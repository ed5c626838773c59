//! Configuration of the embedded backend.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};

/// When appended data is fsynced, and therefore what a crash can lose.
///
/// Deserializes from `"always"`, `"never"`, or a human duration such as `"200ms"` / `"1s"`
/// (meaning `Interval`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// fsync every append batch before acknowledging it (concurrent batches share one fsync).
    /// Nothing acknowledged is lost, even on power loss.
    #[default]
    Always,
    /// Acknowledge after `write(2)`; fsync in the background at this interval. Survives
    /// `kill -9`; power loss loses up to the interval.
    Interval(Duration),
    /// Acknowledge after `write(2)`; fsync only on `flush()`. Survives `kill -9`; power loss
    /// can lose everything since the last flush.
    Never,
}

impl<'de> Deserialize<'de> for FsyncPolicy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.trim().to_ascii_lowercase().as_str() {
            "always" => Ok(FsyncPolicy::Always),
            "never" => Ok(FsyncPolicy::Never),
            other => humantime::parse_duration(other)
                .map(FsyncPolicy::Interval)
                .map_err(|e| {
                    serde::de::Error::custom(format!(
                        "fsync must be \"always\", \"never\" or a duration like \"1s\": {e}"
                    ))
                }),
        }
    }
}

/// Configuration of [`EmbeddedLog`](super::EmbeddedLog). Every field has a default that works
/// out of the box; durations are human strings (`"7d"`, `"500ms"`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddedLogConfig {
    /// Data directory (created if missing). Default `data/log`.
    pub dir: PathBuf,
    /// Partitions of auto-created topics. Default 3.
    pub default_partitions: u32,
    /// A segment is rolled once it would grow past this many bytes. Default 64 MiB, at most
    /// 1 GiB.
    pub segment_bytes: u64,
    /// Delete closed segments whose newest record timestamp is older than this. Default none.
    #[serde(deserialize_with = "opt_duration")]
    pub retention: Option<Duration>,
    /// Delete the oldest closed segments while a partition stays above this size. Default none.
    pub retention_bytes: Option<u64>,
    /// How often the background task enforces retention. Default 5 minutes.
    #[serde(deserialize_with = "duration")]
    pub retention_check_interval: Duration,
    /// Durability of appends. Default `always`.
    pub fsync: FsyncPolicy,
    /// Largest encoded record accepted by `append`. Default 8 MiB, at most 64 MiB.
    pub max_record_bytes: usize,
}

impl Default for EmbeddedLogConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("data/log"),
            default_partitions: 3,
            segment_bytes: 64 << 20,
            retention: None,
            retention_bytes: None,
            retention_check_interval: Duration::from_secs(300),
            fsync: FsyncPolicy::Always,
            max_record_bytes: 8 << 20,
        }
    }
}

impl EmbeddedLogConfig {
    /// Defaults with the given data directory.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            ..Self::default()
        }
    }

    /// Checks ranges; the error names the offending key.
    pub fn validate(&self) -> Result<()> {
        let bad = |key, reason: &str| {
            Err(Error::Config {
                key,
                reason: reason.to_owned(),
            })
        };
        if self.dir.as_os_str().is_empty() {
            return bad("dir", "must not be empty");
        }
        if self.default_partitions == 0 {
            return bad("default_partitions", "must be at least 1");
        }
        if self.segment_bytes == 0 || self.segment_bytes > 1 << 30 {
            return bad("segment_bytes", "must be in 1..=1073741824");
        }
        if self.max_record_bytes == 0 || self.max_record_bytes > 64 << 20 {
            return bad("max_record_bytes", "must be in 1..=67108864");
        }
        if self.retention_check_interval.is_zero() {
            return bad("retention_check_interval", "must be positive");
        }
        if let FsyncPolicy::Interval(d) = self.fsync
            && d.is_zero()
        {
            return bad("fsync", "interval must be positive");
        }
        if self.retention.is_some_and(|d| d.is_zero()) {
            return bad("retention", "must be positive when set");
        }
        Ok(())
    }
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s).map_err(serde::de::Error::custom)
}

fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => humantime::parse_duration(&s)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deserializes_with_defaults_and_human_durations() {
        let c: EmbeddedLogConfig =
            serde_json::from_str(r#"{"dir": "/tmp/x", "retention": "7days", "fsync": "250ms"}"#)
                .unwrap();
        assert_eq!(c.default_partitions, 3);
        assert_eq!(c.segment_bytes, 64 << 20);
        assert_eq!(c.retention, Some(Duration::from_secs(7 * 86400)));
        assert_eq!(c.fsync, FsyncPolicy::Interval(Duration::from_millis(250)));
        c.validate().unwrap();
        let c: EmbeddedLogConfig = serde_json::from_str(r#"{"fsync": "never"}"#).unwrap();
        assert_eq!(c.fsync, FsyncPolicy::Never);
        assert!(serde_json::from_str::<EmbeddedLogConfig>(r#"{"fsync": "sometimes"}"#).is_err());
        let err = EmbeddedLogConfig {
            default_partitions: 0,
            ..EmbeddedLogConfig::default()
        }
        .validate()
        .unwrap_err();
        assert!(err.to_string().contains("default_partitions"), "{err}");
    }
}
