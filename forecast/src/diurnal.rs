//! Intraday periodicity of volatility: the hour-of-day pattern of realised variance.
//!
//! Crypto trades around the clock, but not evenly: volatility rises with the US and European
//! sessions. Hourly RV is divided by its hour's factor before a model sees it and the
//! forecast multiplied back (the periodicity adjustment of Andersen & Bollerslev 1997,
//! "Intraday periodicity and volatility persistence in financial markets", J. Empirical
//! Finance 4). The factor of an hour is the mean RV of the window's periods at that hour over
//! the mean of all, shrunk toward 1 by one pseudo-observation so a few days of history give
//! no extreme factor. Daily periods have one slot: factor 1.

use crate::realized::Period;

const DAY_MS: i64 = 86_400_000;

/// Periodicity factors for periods of `width_ms`, one per slot of the day.
#[derive(Debug, Clone, PartialEq)]
pub struct Diurnal {
    width_ms: i64,
    factors: Vec<f64>,
}

impl Diurnal {
    /// The factors estimated on `history`.
    pub fn estimate(history: &[Period], width_ms: i64) -> Self {
        let slots = (DAY_MS / width_ms).max(1) as usize;
        let mut sum = vec![0.0; slots];
        let mut count = vec![0usize; slots];
        for p in history {
            let s = Self::slot_of(p.start_ms, width_ms, slots);
            sum[s] += p.rv;
            count[s] += 1;
        }
        let overall = history.iter().map(|p| p.rv).sum::<f64>() / history.len().max(1) as f64;
        let factors = if overall > 0.0 && slots > 1 {
            (0..slots)
                .map(|s| (sum[s] / overall + 1.0) / (count[s] as f64 + 1.0))
                .collect()
        } else {
            vec![1.0; slots]
        };
        Self { width_ms, factors }
    }

    /// No adjustment: every factor 1.
    pub fn flat(width_ms: i64) -> Self {
        Self {
            width_ms,
            factors: vec![1.0],
        }
    }

    fn slot_of(start_ms: i64, width_ms: i64, slots: usize) -> usize {
        (start_ms.rem_euclid(DAY_MS) / width_ms) as usize % slots
    }

    /// The factor of the period starting at `start_ms`.
    pub fn factor(&self, start_ms: i64) -> f64 {
        self.factors[Self::slot_of(start_ms, self.width_ms, self.factors.len())]
    }

    /// The RV of `history` divided by its periods' factors.
    pub fn adjust(&self, history: &[Period]) -> Vec<f64> {
        history
            .iter()
            .map(|p| p.rv / self.factor(p.start_ms))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(start_ms: i64, rv: f64) -> Period {
        Period {
            start_ms,
            close: 1.0,
            ret: 0.0,
            rv,
            candles: 60,
            complete: true,
        }
    }

    #[test]
    fn factors_by_hand() {
        const H: i64 = 3_600_000;
        // Two days; hour 0 has RV 4 and 2, every other hour 1: overall mean = 52/48.
        let history: Vec<Period> = (0..48)
            .map(|i| {
                let rv = match i {
                    0 => 4.0,
                    24 => 2.0,
                    _ => 1.0,
                };
                period(i * H, rv)
            })
            .collect();
        let d = Diurnal::estimate(&history, H);
        let overall = 52.0 / 48.0;
        // (6/overall + 1)/3 for hour 0, (2/overall + 1)/3 for the others.
        assert!((d.factor(0) - (6.0 / overall + 1.0) / 3.0).abs() < 1e-12);
        assert!((d.factor(5 * H + 24 * H) - (2.0 / overall + 1.0) / 3.0).abs() < 1e-12);
        let adjusted = d.adjust(&history[..1]);
        assert!((adjusted[0] - 4.0 / d.factor(0)).abs() < 1e-12);
        // Daily periods: one slot, factor 1.
        let daily = Diurnal::estimate(&history, DAY_MS);
        assert_eq!(daily.factor(0), 1.0);
    }
}
