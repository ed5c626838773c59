//! `crypto_anomalies`: anomaly episodes per coin, kind and source, and their closed sets
//! ([`AnomalyKind`], [`Severity`], [`EpisodeStatus`]).
//!
//! The point's time is the episode's start, so every update of an episode (and a replay)
//! rewrites the same point; the last write wins.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::time::{Nanos, Time};

crate::closed_set! {
    /// What is abnormal (the `kind` tag).
    pub enum AnomalyKind {
        /// A 1-minute log return far from its rolling baseline.
        PriceReturn = "price_return",
        /// A 1-minute volume far from its rolling baseline.
        Volume = "volume",
        /// Two sources disagree on the price.
        Divergence = "divergence",
    }
}

crate::closed_set! {
    /// How far past the threshold the episode's peak went (the `severity` field).
    pub enum Severity {
        /// Up to 1.5 × the threshold.
        Low = "low",
        /// Up to 2 × the threshold.
        Medium = "medium",
        /// Beyond 2 × the threshold.
        High = "high",
    }
}

impl Severity {
    /// Grades `score` (a z-score, or a spread over its threshold) against `threshold`.
    pub fn grade(score: f64, threshold: f64) -> Self {
        let ratio = score.abs() / threshold;
        if ratio > 2.0 {
            Severity::High
        } else if ratio > 1.5 {
            Severity::Medium
        } else {
            Severity::Low
        }
    }
}

crate::closed_set! {
    /// Whether an episode may still grow (the `status` field).
    pub enum EpisodeStatus {
        /// The latest candle was abnormal (or the episode has not seen enough normal ones).
        Ongoing = "ongoing",
        /// Enough normal candles followed it: final.
        Ended = "ended",
    }
}

crate::measurement! {
    /// An anomaly episode (`crypto_anomalies`).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
    pub struct AnomalyRow in "crypto_anomalies", tags ["crypto_id", "kind", "source"] {
        /// Start of the episode.
        #[schema(value_type = String)]
        pub time: Time,
        pub crypto_id: String,
        pub kind: AnomalyKind,
        pub source: String,
        /// End of the episode's latest abnormal candle.
        #[schema(value_type = String)]
        pub end_time: Nanos,
        /// Start of the candle where the episode peaked.
        #[schema(value_type = String)]
        pub peak_time: Nanos,
        pub observed: f64,
        pub baseline: f64,
        /// Peak score (z-score, or divergence in percent).
        pub score: f64,
        pub severity: Severity,
        pub status: EpisodeStatus,
        pub detail: String,
    }
}
