//! Moving averages: SMA(n), the mean of the last `n` closes, and EMA(n), SMA-seeded then
//! `prev + α (close - prev)` with `α = 2 / (n + 1)`. Also the window and mean helpers the
//! Bollinger bands share.

/// Simple moving average; first value at index `period - 1`.
pub fn sma(closes: &[f64], period: usize) -> Vec<Option<f64>> {
    (0..closes.len())
        .map(|i| window(closes, i, period).map(mean))
        .collect()
}

/// Exponential moving average seeded with the SMA of the first `period` closes,
/// `α = 2 / (period + 1)`; first value at index `period - 1`.
pub fn ema(closes: &[f64], period: usize) -> Vec<Option<f64>> {
    let mut ema = Ema::new(period);
    closes.iter().map(|&close| ema.update(close)).collect()
}

/// The `period` closes ending at index `i`, if there are that many.
pub(super) fn window(closes: &[f64], i: usize, period: usize) -> Option<&[f64]> {
    if period == 0 || i >= closes.len() || i + 1 < period {
        return None;
    }
    Some(&closes[i + 1 - period..=i])
}

/// Mean of a non-empty window, summed as offsets from its first element: the offsets are small
/// and exact, so nothing is lost at high prices and a constant window gives its value exactly.
pub(super) fn mean(window: &[f64]) -> f64 {
    let base = window[0];
    base + window.iter().map(|x| x - base).sum::<f64>() / window.len() as f64
}

/// An SMA-seeded EMA fed one value at a time.
pub(super) struct Ema {
    period: usize,
    alpha: f64,
    /// The first `period` values, until the seed is computed.
    seed: Vec<f64>,
    value: Option<f64>,
}

impl Ema {
    pub(super) fn new(period: usize) -> Self {
        Ema {
            period,
            alpha: 2.0 / (period as f64 + 1.0),
            seed: Vec::new(),
            value: None,
        }
    }

    pub(super) fn update(&mut self, x: f64) -> Option<f64> {
        if self.period == 0 {
            return None;
        }
        match self.value {
            Some(prev) => self.value = Some(prev + self.alpha * (x - prev)),
            None => {
                self.seed.push(x);
                if self.seed.len() == self.period {
                    self.value = Some(mean(&self.seed));
                    self.seed = Vec::new();
                }
            }
        }
        self.value
    }
}
