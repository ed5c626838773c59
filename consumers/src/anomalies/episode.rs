//! Turning per-candle verdicts into episodes: one anomaly from the first abnormal candle to the
//! last, with the peak in between.

use std::sync::Arc;

use super::{Anomaly, AnomalyKind, EpisodeStatus, Severity};

/// The verdict on one candle.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub start_ms: i64,
    pub end_ms: i64,
    pub observed: f64,
    pub baseline: f64,
    pub score: f64,
    /// The score's threshold (for the severity).
    pub threshold: f64,
    pub detail: String,
}

impl Observation {
    /// Whether the candle is abnormal.
    pub fn is_abnormal(&self) -> bool {
        self.score.abs() > self.threshold
    }
}

/// The episode state of one (coin, kind, source).
#[derive(Debug, Clone, Default)]
pub struct EpisodeTracker {
    current: Option<Anomaly>,
    normal_run: u32,
}

impl EpisodeTracker {
    /// Feeds one candle's verdict; pushes the episode to `out` when it starts, grows or ends.
    pub fn observe(
        &mut self,
        (crypto_id, kind, source): (&Arc<str>, AnomalyKind, &Arc<str>),
        obs: Observation,
        end_after: u32,
        out: &mut Vec<Anomaly>,
    ) {
        if obs.is_abnormal() {
            self.normal_run = 0;
            let severity = Severity::grade(obs.score, obs.threshold);
            match &mut self.current {
                Some(a) => {
                    a.end_ms = obs.end_ms;
                    if obs.score.abs() > a.score.abs() {
                        a.peak_ms = obs.start_ms;
                        a.observed = obs.observed;
                        a.baseline = obs.baseline;
                        a.score = obs.score;
                        a.severity = severity;
                        a.detail = obs.detail;
                    }
                }
                None => {
                    self.current = Some(Anomaly {
                        crypto_id: crypto_id.clone(),
                        kind,
                        source: source.clone(),
                        start_ms: obs.start_ms,
                        end_ms: obs.end_ms,
                        peak_ms: obs.start_ms,
                        observed: obs.observed,
                        baseline: obs.baseline,
                        score: obs.score,
                        severity,
                        status: EpisodeStatus::Ongoing,
                        detail: obs.detail,
                    })
                }
            }
            out.extend(self.current.clone());
        } else if let Some(a) = &mut self.current {
            self.normal_run += 1;
            if self.normal_run >= end_after {
                a.status = EpisodeStatus::Ended;
                out.extend(self.current.take());
                self.normal_run = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(minute: i64, score: f64) -> Observation {
        Observation {
            start_ms: minute * 60_000,
            end_ms: (minute + 1) * 60_000,
            observed: score * 10.0,
            baseline: 0.0,
            score,
            threshold: 3.0,
            detail: String::new(),
        }
    }

    #[test]
    fn one_episode_from_first_to_last_abnormal_candle_with_its_peak() {
        let coin: Arc<str> = "bitcoin".into();
        let source: Arc<str> = "sim".into();
        let mut t = EpisodeTracker::default();
        let mut out = Vec::new();
        let key = (&coin, AnomalyKind::PriceReturn, &source);
        for (m, z) in [
            (0, 1.0),
            (1, 3.5),
            (2, -7.0),
            (3, 1.0),
            (4, 4.0),
            (5, 0.0),
            (6, 0.5),
        ] {
            t.observe(key, obs(m, z), 2, &mut out);
        }
        // Updates at minutes 1, 2 and 4 (ongoing), then the end after two normal candles.
        assert_eq!(out.len(), 4);
        let last = out.last().unwrap();
        assert_eq!(last.status, EpisodeStatus::Ended);
        assert_eq!(
            (last.start_ms, last.end_ms, last.peak_ms),
            (60_000, 300_000, 120_000)
        );
        assert_eq!((last.score, last.severity), (-7.0, Severity::High));
        assert!(out[..3].iter().all(|a| a.status == EpisodeStatus::Ongoing));
        assert!(
            out.iter().all(|a| a.start_ms == 60_000),
            "one episode, one point"
        );
        // A new excursion starts a new episode.
        t.observe(key, obs(7, 3.2), 2, &mut out);
        assert_eq!(
            (out[4].start_ms, out[4].severity),
            (7 * 60_000, Severity::Low)
        );
    }

    #[test]
    fn severity_grades_by_multiples_of_the_threshold() {
        assert_eq!(Severity::grade(3.1, 3.0), Severity::Low);
        assert_eq!(Severity::grade(-4.6, 3.0), Severity::Medium);
        assert_eq!(Severity::grade(6.01, 3.0), Severity::High);
    }
}
