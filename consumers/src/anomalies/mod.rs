//! Anomalies in the closed 1-minute candles, written to `crypto_anomalies`.
//!
//! Three kinds, each per coin:
//! - **price return** ([`zscore`]): the candle's log return close-to-close against the mean and
//!   standard deviation of the returns of the preceding `baseline` (60 minutes by default);
//!   abnormal when |z| > `z_threshold` (3);
//! - **volume** ([`zscore`]): the candle's traded volume against the same rolling baseline of
//!   volumes (only for sources that report volume);
//! - **cross-source divergence** ([`divergence`]): two sources' closes of the same coin in the
//!   same minute differ by more than `divergence_pct` (1 %).
//!
//! Consecutive abnormal candles form one *episode* ([`episode`]): one anomaly with its start,
//! peak and end, not one per tick. An episode ends after `end_after` normal candles in a row.
//! Its point in `crypto_anomalies` is keyed by (coin, kind, source, start), so each update of
//! an ongoing episode — and a replay — rewrites the same point; the last write has status
//! `ended`.
//!
//! Everything is driven by closed candles in event-time order, so the result depends only on
//! the data, not on when it arrived; after a restart the detectors are rebuilt from the stored
//! candles of the last few hours (see `candles`).

pub mod divergence;
pub mod episode;
pub mod zscore;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Configuration of the detectors (`[consumer.anomalies]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalyConfig {
    /// Rolling baseline of the z-scores (whole minutes).
    #[serde(with = "humantime_serde")]
    pub baseline: Duration,
    /// Candles the baseline needs before anything is scored.
    pub min_baseline: usize,
    /// |z| above which a candle is abnormal.
    pub z_threshold: f64,
    /// Spread between two sources' prices, in percent, above which they diverge.
    pub divergence_pct: f64,
    /// Normal candles in a row that end an episode.
    pub end_after: u32,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        Self {
            baseline: Duration::from_secs(3600),
            min_baseline: 20,
            z_threshold: 3.0,
            divergence_pct: 1.0,
            end_after: 2,
        }
    }
}

impl AnomalyConfig {
    /// Checks every value; the error names the offending key.
    pub fn validate(&self) -> Result<()> {
        let bad =
            |key: &str, why: String| Err(Error::Config(format!("consumer.anomalies.{key}: {why}")));
        let minutes = self.baseline_candles();
        if !self.baseline.as_secs().is_multiple_of(60) || !(2..=10_080).contains(&minutes) {
            return bad(
                "baseline",
                format!(
                    "must be whole minutes between 2m and 7d, got {}",
                    humantime_serde::re::humantime::format_duration(self.baseline)
                ),
            );
        }
        if !(2..=minutes).contains(&self.min_baseline) {
            return bad(
                "min_baseline",
                format!(
                    "must be between 2 and the baseline's {minutes} candles, got {}",
                    self.min_baseline
                ),
            );
        }
        if !(self.z_threshold.is_finite() && self.z_threshold > 0.0) {
            return bad(
                "z_threshold",
                format!("must be > 0, got {}", self.z_threshold),
            );
        }
        if !(self.divergence_pct.is_finite() && self.divergence_pct > 0.0) {
            return bad(
                "divergence_pct",
                format!("must be > 0, got {}", self.divergence_pct),
            );
        }
        if self.end_after == 0 {
            return bad("end_after", "must be at least 1".into());
        }
        Ok(())
    }

    /// The baseline in 1-minute candles.
    pub fn baseline_candles(&self) -> usize {
        (self.baseline.as_secs() / 60) as usize
    }
}

/// The closed sets of an episode, declared with the `crypto_anomalies` measurement.
pub use cryptoviz_measurements::anomalies::{AnomalyKind, EpisodeStatus, Severity};

/// One anomaly episode as it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    pub crypto_id: Arc<str>,
    pub kind: AnomalyKind,
    /// The source whose candles were scored; `cross-source` for divergences.
    pub source: Arc<str>,
    /// Start of the first abnormal candle (the point's time).
    pub start_ms: i64,
    /// End of the last abnormal candle.
    pub end_ms: i64,
    /// Start of the candle with the largest |score|.
    pub peak_ms: i64,
    /// At the peak: the return (%), the volume, or the spread (%).
    pub observed: f64,
    /// At the peak: the baseline mean return (%) or volume, or the divergence threshold (%).
    pub baseline: f64,
    /// At the peak: the z-score, or spread / threshold for a divergence.
    pub score: f64,
    pub severity: Severity,
    pub status: EpisodeStatus,
    /// A sentence for people, e.g. `coinmarketcap 96100 vs coingecko 95000`.
    pub detail: String,
}

/// The source tag of divergence anomalies.
pub const CROSS_SOURCE: &str = "cross-source";
