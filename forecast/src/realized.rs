//! Realised variance from intraday returns, and the candles it is computed from.
//!
//! The realised variance of a period is the sum of the squared log returns of the candles
//! that close in it (Andersen & Bollerslev 1998, "Answering the skeptics"): with 1-minute
//! candles, 60 returns per hour, 1,440 per day. It is the target the volatility models are
//! scored against, and the input of HAR-RV.

use crate::error::{Error, Result};

/// Candles of one series: open times and closes, validated (sorted, no duplicate time,
/// positive finite prices).
#[derive(Debug, Clone, PartialEq)]
pub struct Candles {
    times_ms: Vec<i64>,
    closes: Vec<f64>,
}

impl Candles {
    /// Validated candles from open times (ms since the epoch) and close prices.
    pub fn new(times_ms: Vec<i64>, closes: Vec<f64>) -> Result<Self> {
        if times_ms.len() != closes.len() {
            return Err(Error::InvalidParameter {
                name: "closes",
                reason: format!(
                    "{} closes for {} times (one close per time)",
                    closes.len(),
                    times_ms.len()
                ),
            });
        }
        for (row, &price) in closes.iter().enumerate() {
            if !(price.is_finite() && price > 0.0) {
                return Err(Error::NonPositivePrice { row, price });
            }
        }
        for (row, pair) in times_ms.windows(2).enumerate() {
            let (previous_ms, time_ms) = (pair[0], pair[1]);
            if time_ms == previous_ms {
                return Err(Error::DuplicateTime {
                    row: row + 1,
                    time_ms,
                });
            }
            if time_ms < previous_ms {
                return Err(Error::UnsortedTime {
                    row: row + 1,
                    time_ms,
                    previous_ms,
                });
            }
        }
        Ok(Self { times_ms, closes })
    }

    /// Open times, ms since the epoch.
    pub fn times_ms(&self) -> &[i64] {
        &self.times_ms
    }

    /// Close prices.
    pub fn closes(&self) -> &[f64] {
        &self.closes
    }

    /// Number of candles.
    pub fn len(&self) -> usize {
        self.times_ms.len()
    }

    /// Whether there is no candle.
    pub fn is_empty(&self) -> bool {
        self.times_ms.is_empty()
    }

    /// The smallest gap between two candles (the candle width for a regular file).
    fn spacing_ms(&self) -> Option<i64> {
        self.times_ms.windows(2).map(|w| w[1] - w[0]).min()
    }
}

/// One period (an hour or a day) of candles.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Period {
    /// Start of the period, ms since the epoch (a multiple of the period's width).
    pub start_ms: i64,
    /// The last close in the period (the previous period's when it has no candle).
    pub close: f64,
    /// Log return over the period: ln(close / previous period's close).
    pub ret: f64,
    /// Realised variance: the sum of the squared candle log returns in the period.
    pub rv: f64,
    /// Candles in the period.
    pub candles: usize,
    /// Whether the candles reach the end of the period (false only for a cut-off last one).
    pub complete: bool,
}

/// Log returns of consecutive prices.
pub fn log_returns(prices: &[f64]) -> Vec<f64> {
    prices.windows(2).map(|w| (w[1] / w[0]).ln()).collect()
}

/// Realised variance: the sum of squared returns.
pub fn realized_variance(returns: &[f64]) -> f64 {
    returns.iter().map(|r| r * r).sum()
}

/// The candles grouped into consecutive periods of `width_ms`, aligned on multiples of it
/// (UTC hours and days). A candle belongs to the period of its open time; its return is
/// taken from the previous candle's close, so a period's returns add up to its log return.
/// Periods without a candle are kept (return 0, variance 0, `candles` 0).
pub fn periods(candles: &Candles, width_ms: i64) -> Vec<Period> {
    let (times, closes) = (candles.times_ms(), candles.closes());
    let Some(&first) = times.first() else {
        return Vec::new();
    };
    let anchor = first.div_euclid(width_ms) * width_ms;
    let mut out: Vec<Period> = Vec::new();
    let mut prev_close = closes[0];
    let mut period_open_close = closes[0];
    for (i, (&t, &close)) in times.iter().zip(closes).enumerate() {
        let index = ((t - anchor) / width_ms) as usize;
        while out.len() <= index {
            if let Some(last) = out.last_mut() {
                last.ret = (last.close / period_open_close).ln();
                period_open_close = last.close;
            }
            let start_ms = anchor + out.len() as i64 * width_ms;
            out.push(Period {
                start_ms,
                close: prev_close,
                ret: 0.0,
                rv: 0.0,
                candles: 0,
                complete: true,
            });
        }
        let p = out.last_mut().expect("pushed above");
        if i > 0 {
            let r = (close / prev_close).ln();
            p.rv += r * r;
        }
        p.close = close;
        p.candles += 1;
        prev_close = close;
    }
    if let Some(last) = out.last_mut() {
        last.ret = (last.close / period_open_close).ln();
        let end = last.start_ms + width_ms;
        let spacing = candles.spacing_ms().unwrap_or(width_ms);
        last.complete = times[times.len() - 1] + spacing >= end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn realised_variance_is_the_sum_of_squared_log_returns() {
        let r = log_returns(&[100.0, 101.0, 99.0]);
        // ln(1.01)² + ln(99/101)² = 0.000099009 + 0.000400027 = 0.000499036
        let expected = 1.01f64.ln().powi(2) + (99.0f64 / 101.0).ln().powi(2);
        assert!((realized_variance(&r) - expected).abs() < 1e-15);
        assert!((expected - 0.000_499_036).abs() < 1e-9, "{expected}");
    }

    #[test]
    fn candles_group_into_aligned_periods() {
        // Two hours of 1-minute candles from 00:58: the first period holds 2 candles.
        let times: Vec<i64> = (0..62).map(|i| 58 * MIN + i * MIN).collect();
        let closes: Vec<f64> = (0..62).map(|i| 100.0 + i as f64).collect();
        let c = Candles::new(times, closes.clone()).unwrap();
        let p = periods(&c, 60 * MIN);
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].start_ms, p[0].candles), (0, 2));
        assert_eq!((p[1].start_ms, p[1].candles), (60 * MIN, 60));
        assert!((p[0].ret - (101.0f64 / 100.0).ln()).abs() < 1e-15);
        assert!((p[1].ret - (161.0f64 / 101.0).ln()).abs() < 1e-15);
        let r1 = realized_variance(&log_returns(&closes[1..]));
        assert!((p[1].rv - r1).abs() < 1e-15);
        assert!(p[1].complete);
    }

    #[test]
    fn a_cut_off_last_period_is_incomplete_and_gaps_are_empty_periods() {
        let times = vec![0, MIN, 125 * MIN, 126 * MIN];
        let c = Candles::new(times, vec![1.0, 2.0, 4.0, 8.0]).unwrap();
        let p = periods(&c, 60 * MIN);
        assert_eq!(p.len(), 3);
        assert_eq!(p[1].candles, 0);
        assert_eq!(p[1].close, 2.0);
        assert!(!p[2].complete);
        assert!((p[2].ret - 2f64.ln() * 2.0).abs() < 1e-12);
    }

    #[test]
    fn bad_input_is_named() {
        assert_eq!(
            Candles::new(vec![0, MIN], vec![1.0, 0.0]),
            Err(Error::NonPositivePrice { row: 1, price: 0.0 })
        );
        assert!(matches!(
            Candles::new(vec![0, 0], vec![1.0, 1.0]),
            Err(Error::DuplicateTime { row: 1, .. })
        ));
        assert!(matches!(
            Candles::new(vec![MIN, 0], vec![1.0, 1.0]),
            Err(Error::UnsortedTime { row: 1, .. })
        ));
        assert!(Candles::new(vec![0], vec![f64::NAN]).is_err());
    }
}
