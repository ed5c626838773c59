//! Price-return and volume z-scores of one series against a rolling baseline.

use std::collections::VecDeque;
use std::sync::Arc;

use super::episode::{EpisodeTracker, Observation};
use super::{Anomaly, AnomalyConfig, AnomalyKind};

/// The last `cap` values, with their mean and sample standard deviation.
#[derive(Debug, Clone)]
pub struct Rolling {
    values: VecDeque<f64>,
    cap: usize,
}

impl Rolling {
    /// An empty window of at most `cap` values.
    pub fn new(cap: usize) -> Self {
        Self {
            values: VecDeque::with_capacity(cap + 1),
            cap,
        }
    }

    /// Values held.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no value is held.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Adds a value, dropping the oldest beyond the capacity.
    pub fn push(&mut self, v: f64) {
        self.values.push_back(v);
        if self.values.len() > self.cap {
            self.values.pop_front();
        }
    }

    /// Mean and sample standard deviation (two passes: exact enough for any scale); `None`
    /// with fewer than two values.
    pub fn mean_std(&self) -> Option<(f64, f64)> {
        let n = self.values.len();
        if n < 2 {
            return None;
        }
        let mean = self.values.iter().sum::<f64>() / n as f64;
        let ss: f64 = self.values.iter().map(|v| (v - mean) * (v - mean)).sum();
        Some((mean, (ss / (n - 1) as f64).sqrt()))
    }
}

/// The z-score detectors of one (coin, source).
#[derive(Debug, Clone)]
pub struct SeriesDetector {
    crypto_id: Arc<str>,
    source: Arc<str>,
    last_close: Option<f64>,
    returns: Rolling,
    volumes: Rolling,
    price: EpisodeTracker,
    volume: EpisodeTracker,
}

impl SeriesDetector {
    /// Detectors with an empty baseline.
    pub fn new(crypto_id: Arc<str>, source: Arc<str>, config: &AnomalyConfig) -> Self {
        let cap = config.baseline_candles();
        Self {
            crypto_id,
            source,
            last_close: None,
            returns: Rolling::new(cap),
            volumes: Rolling::new(cap),
            price: EpisodeTracker::default(),
            volume: EpisodeTracker::default(),
        }
    }

    /// Scores the next closed 1-minute candle `[start_ms, end_ms)` against the baseline of the
    /// candles before it, then adds it to the baseline.
    pub fn on_candle(
        &mut self,
        (start_ms, end_ms): (i64, i64),
        close: f64,
        volume: Option<f64>,
        config: &AnomalyConfig,
        out: &mut Vec<Anomaly>,
    ) {
        if let Some(prev) = self.last_close {
            let r = (close / prev).ln();
            if let Some(obs) = score(&self.returns, r, config) {
                let obs = Observation {
                    start_ms,
                    end_ms,
                    observed: r * 100.0,
                    baseline: obs.0 * 100.0,
                    score: obs.1,
                    threshold: config.z_threshold,
                    detail: format!(
                        "1-minute return {:+.3}% against {:+.3}% ± {:.3}% over the baseline",
                        r * 100.0,
                        obs.0 * 100.0,
                        obs.2 * 100.0
                    ),
                };
                let key = (&self.crypto_id, AnomalyKind::PriceReturn, &self.source);
                self.price.observe(key, obs, config.end_after, out);
            }
            self.returns.push(r);
        }
        self.last_close = Some(close);
        if let Some(v) = volume {
            if let Some(obs) = score(&self.volumes, v, config) {
                let obs = Observation {
                    start_ms,
                    end_ms,
                    observed: v,
                    baseline: obs.0,
                    score: obs.1,
                    threshold: config.z_threshold,
                    detail: format!(
                        "1-minute volume {v:.6} against {:.6} ± {:.6} over the baseline",
                        obs.0, obs.2
                    ),
                };
                let key = (&self.crypto_id, AnomalyKind::Volume, &self.source);
                self.volume.observe(key, obs, config.end_after, out);
            }
            self.volumes.push(v);
        }
    }
}

/// `(baseline mean, z, baseline stddev)` of `x`, once the baseline is long enough and not flat.
fn score(baseline: &Rolling, x: f64, config: &AnomalyConfig) -> Option<(f64, f64, f64)> {
    if baseline.len() < config.min_baseline {
        return None;
    }
    let (mean, std) = baseline.mean_std()?;
    (std > 0.0).then(|| (mean, (x - mean) / std, std))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anomalies::{EpisodeStatus, Severity};

    fn config() -> AnomalyConfig {
        AnomalyConfig {
            baseline: std::time::Duration::from_secs(30 * 60),
            min_baseline: 10,
            ..AnomalyConfig::default()
        }
    }

    /// A deterministic wiggle: returns alternate ±0.1 %, ±0.05 %.
    fn calm(i: usize) -> f64 {
        [0.001, -0.001, 0.0005, -0.0005][i % 4]
    }

    #[test]
    fn a_jump_is_one_price_return_episode_with_the_expected_z() {
        let c = config();
        let mut d = SeriesDetector::new("bitcoin".into(), "sim".into(), &c);
        let mut out = Vec::new();
        let mut price = 100.0;
        let mut returns = Vec::new();
        for i in 0..40 {
            // Minute 35 jumps by 2 %; everything else wiggles.
            let r = if i == 35 { 0.02 } else { calm(i) };
            price *= f64::exp(r);
            if i > 0 {
                returns.push(r);
            }
            let m = i as i64 * 60_000;
            d.on_candle((m, m + 60_000), price, None, &c, &mut out);
        }
        let ended: Vec<_> = out
            .iter()
            .filter(|a| a.status == EpisodeStatus::Ended)
            .collect();
        assert_eq!(ended.len(), 1, "{out:#?}");
        let a = ended[0];
        assert_eq!(a.kind, AnomalyKind::PriceReturn);
        assert_eq!((a.start_ms, a.end_ms), (35 * 60_000, 36 * 60_000));
        // The z-score is computed against the 30 returns before minute 35 (minutes 5–34).
        let base = &returns[returns.len() - 5 - 30..returns.len() - 5];
        let mean = base.iter().sum::<f64>() / 30.0;
        let sd = (base.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / 29.0).sqrt();
        let z = (0.02 - mean) / sd;
        assert!((a.score - z).abs() < 1e-6 * z, "{} vs {z}", a.score);
        assert!((a.observed - 2.0).abs() < 1e-9);
        assert_eq!(a.severity, Severity::High);
    }

    #[test]
    fn a_volume_spike_is_a_volume_episode_and_flat_baselines_score_nothing() {
        let c = config();
        let mut d = SeriesDetector::new("eth".into(), "binance".into(), &c);
        let mut out = Vec::new();
        for i in 0..30 {
            let v = if i == 25 { 60.0 } else { 10.0 + (i % 3) as f64 };
            let m = i as i64 * 60_000;
            d.on_candle((m, m + 60_000), 100.0, Some(v), &c, &mut out);
        }
        // Constant price: returns are all 0, the baseline is flat, no price anomaly.
        assert!(out.iter().all(|a| a.kind == AnomalyKind::Volume));
        assert_eq!(out.len(), 2, "started, then ended: {out:#?}");
        assert_eq!(out[1].status, EpisodeStatus::Ended);
        assert_eq!(out[0].start_ms, 25 * 60_000);
        assert_eq!(out[0].observed, 60.0);
        assert!((out[0].baseline - 11.0).abs() < 0.2);
    }

    #[test]
    fn nothing_is_scored_before_the_baseline_fills() {
        let c = config();
        let mut d = SeriesDetector::new("x".into(), "s".into(), &c);
        let mut out = Vec::new();
        for (i, p) in [100.0, 101.0, 100.5, 150.0].into_iter().enumerate() {
            let m = i as i64 * 60_000;
            d.on_candle((m, m + 60_000), p, Some(1.0), &c, &mut out);
        }
        assert!(out.is_empty());
    }
}
