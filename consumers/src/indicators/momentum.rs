//! Momentum: Wilder's RSI(n) and MACD(fast, slow, signal), both fed one close at a time (the
//! state [`super::compute`] and [`super::series`] carry from close to close).

use super::moving_average::Ema;

/// Wilder's RSI; first value at index `period`. See [`super`] for the zero-loss rule.
pub fn rsi(closes: &[f64], period: usize) -> Vec<Option<f64>> {
    let mut rsi = Rsi::new(period);
    closes.iter().map(|&close| rsi.update(close)).collect()
}

/// `(macd, signal, histogram)` per close. The line starts where both EMAs exist (index
/// `max(fast, slow) - 1`), the signal and histogram `signal - 1` values later.
pub fn macd(
    closes: &[f64],
    fast: usize,
    slow: usize,
    signal: usize,
) -> Vec<(Option<f64>, Option<f64>, Option<f64>)> {
    let mut macd = Macd::new(fast, slow, signal);
    closes.iter().map(|&close| macd.update(close)).collect()
}

/// Wilder's RSI fed one close at a time.
pub(super) struct Rsi {
    period: usize,
    prev: Option<f64>,
    changes: usize,
    /// Sums of gains and losses during warm-up, averages afterwards.
    avg_gain: f64,
    avg_loss: f64,
}

impl Rsi {
    pub(super) fn new(period: usize) -> Self {
        Rsi {
            period,
            prev: None,
            changes: 0,
            avg_gain: 0.0,
            avg_loss: 0.0,
        }
    }

    pub(super) fn update(&mut self, close: f64) -> Option<f64> {
        let prev = self.prev.replace(close)?;
        if self.period == 0 {
            return None;
        }
        let change = close - prev;
        let (gain, loss) = if change > 0.0 {
            (change, 0.0)
        } else {
            (0.0, -change)
        };
        let n = self.period as f64;
        self.changes += 1;
        if self.changes < self.period {
            self.avg_gain += gain;
            self.avg_loss += loss;
            return None;
        }
        if self.changes == self.period {
            self.avg_gain = (self.avg_gain + gain) / n;
            self.avg_loss = (self.avg_loss + loss) / n;
        } else {
            self.avg_gain = (self.avg_gain * (n - 1.0) + gain) / n;
            self.avg_loss = (self.avg_loss * (n - 1.0) + loss) / n;
        }
        Some(if self.avg_loss == 0.0 {
            if self.avg_gain == 0.0 { 50.0 } else { 100.0 }
        } else {
            100.0 - 100.0 / (1.0 + self.avg_gain / self.avg_loss)
        })
    }
}

/// MACD fed one close at a time.
pub(super) struct Macd {
    fast: Ema,
    slow: Ema,
    signal: Ema,
}

impl Macd {
    pub(super) fn new(fast: usize, slow: usize, signal: usize) -> Self {
        Macd {
            fast: Ema::new(fast),
            slow: Ema::new(slow),
            signal: Ema::new(signal),
        }
    }

    pub(super) fn update(&mut self, close: f64) -> (Option<f64>, Option<f64>, Option<f64>) {
        let fast = self.fast.update(close);
        let slow = self.slow.update(close);
        let line = fast.zip(slow).map(|(f, s)| f - s);
        let signal = line.and_then(|m| self.signal.update(m));
        let hist = line.zip(signal).map(|(m, s)| m - s);
        (line, signal, hist)
    }
}
