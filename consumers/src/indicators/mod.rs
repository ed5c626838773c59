//! Technical indicators over a series of closes: pure computation, no I/O.
//!
//! Every function takes closes oldest first and answers with one value per close, `None` until
//! enough closes exist. The definitions are the classic ones, computed from the first close given
//! (no look-back beyond the slice), as StockCharts ChartSchool documents them:
//!
//! - **SMA(n)**: mean of the last `n` closes; first value at index `n - 1`.
//! - **EMA(n)**: seeded with the SMA of the first `n` closes (index `n - 1`), then
//!   `ema = prev + α (close - prev)` with `α = 2 / (n + 1)`.
//! - **RSI(n)** (Wilder): the first average gain / loss is the simple mean of the first `n`
//!   close-to-close changes, then `avg = (prev × (n - 1) + current) / n`;
//!   `RSI = 100 - 100 / (1 + avg_gain / avg_loss)`. First value at index `n` (it needs `n`
//!   changes). When `avg_loss` is zero the RSI is 100, and 50 when both averages are zero (a flat
//!   series has no direction).
//! - **MACD(fast, slow, signal)**: line = EMA(fast) - EMA(slow), defined from index `slow - 1`;
//!   signal = EMA(signal) of the line, seeded with the SMA of its first `signal` values (first
//!   value at `slow + signal - 2`); histogram = line - signal.
//! - **Bollinger(n, k)**: middle = SMA(n), bands = middle ± k σ, where σ is the *population*
//!   standard deviation of the last `n` closes (divide by `n`, as Bollinger and StockCharts do).
//!
//! [`compute`] gives the values for the last close, [`series`] for every close;
//! `compute(closes) == *series(closes).last()` exactly, because both run the same code in the same
//! order. They use SMA/EMA 20 and 50, RSI 14, MACD(12, 26, 9) and Bollinger(20, 2). Warm-up, in
//! closes needed: SMA/EMA 20 and Bollinger 20, SMA/EMA 50 50, RSI 15, MACD line 26, signal and
//! histogram 34.
//!
//! Layout: one file per family — `moving_average` (SMA, EMA), `momentum` (RSI, MACD),
//! `volatility` (Bollinger) — and this one, with the values of a candle and the two ways to
//! compute them; `tests` checks them against published worked examples.
//!
//! A period of 0 yields only `None`; no input panics. Numerics: prices around 95 000 moving by
//! cents would lose digits in a running sum or in `E[x²] - E[x]²`, so every window mean sums the
//! offsets from the window's first close and the Bollinger variance is a second pass over the
//! window's deviations from its mean. Windows are summed afresh for each close — O(n × period),
//! still linear in `n` — which also makes a constant series give SMA = EMA = price and a
//! Bollinger width of exactly 0. Non-finite closes are not expected (records are validated
//! upstream); they propagate as NaN rather than panic.

mod momentum;
mod moving_average;
mod volatility;

pub use momentum::{macd, rsi};
pub use moving_average::{ema, sma};
pub use volatility::bollinger;

use momentum::{Macd, Rsi};
use moving_average::{Ema, mean, window};
use volatility::bands;

const SHORT: usize = 20;
const LONG: usize = 50;
const RSI_PERIOD: usize = 14;
const MACD_FAST: usize = 12;
const MACD_SLOW: usize = 26;
const MACD_SIGNAL: usize = 9;
const BOLLINGER_PERIOD: usize = 20;
const BOLLINGER_K: f64 = 2.0;

/// Indicator values for the last candle of a series of closes (each `None` until enough
/// candles exist), declared with the `crypto_analytics` columns they are stored in.
pub use cryptoviz_measurements::analytics::{INDICATOR_FIELDS, IndicatorSet as IndicatorValues};

/// Values for the last close (all `None` for no closes).
pub fn compute(closes: &[f64]) -> IndicatorValues {
    let Some((&newest, older)) = closes.split_last() else {
        return IndicatorValues::default();
    };
    let mut state = Stateful::new();
    for &close in older {
        state.advance(close);
    }
    let mut last = state.update(newest);
    add_windowed(&mut last, closes, older.len());
    last
}

/// Values for every close: element `i` equals `compute(&closes[..=i])`, in O(n) total.
pub fn series(closes: &[f64]) -> Vec<IndicatorValues> {
    let mut state = Stateful::new();
    closes
        .iter()
        .enumerate()
        .map(|(i, &close)| {
            let mut values = state.update(close);
            add_windowed(&mut values, closes, i);
            values
        })
        .collect()
}

/// The indicators of [`compute`] and [`series`] that carry state from close to close.
struct Stateful {
    ema_20: Ema,
    ema_50: Ema,
    rsi_14: Rsi,
    macd: Macd,
}

impl Stateful {
    fn new() -> Self {
        Stateful {
            ema_20: Ema::new(SHORT),
            ema_50: Ema::new(LONG),
            rsi_14: Rsi::new(RSI_PERIOD),
            macd: Macd::new(MACD_FAST, MACD_SLOW, MACD_SIGNAL),
        }
    }

    /// Takes the next close without producing values (what [`Stateful::update`] does, minus
    /// building the result).
    fn advance(&mut self, close: f64) {
        self.macd.update(close);
        self.ema_20.update(close);
        self.ema_50.update(close);
        self.rsi_14.update(close);
    }

    /// The stateful fields for the next close; the windowed ones are left `None`.
    fn update(&mut self, close: f64) -> IndicatorValues {
        let (macd, macd_signal, macd_hist) = self.macd.update(close);
        IndicatorValues {
            ema_20: self.ema_20.update(close),
            ema_50: self.ema_50.update(close),
            rsi_14: self.rsi_14.update(close),
            macd,
            macd_signal,
            macd_hist,
            ..IndicatorValues::default()
        }
    }
}

/// Fills the window-based fields (SMAs, Bollinger) for the close at index `i`.
fn add_windowed(values: &mut IndicatorValues, closes: &[f64], i: usize) {
    values.sma_20 = window(closes, i, SHORT).map(mean);
    values.sma_50 = window(closes, i, LONG).map(mean);
    let bb = window(closes, i, BOLLINGER_PERIOD).map(|w| bands(w, BOLLINGER_K));
    values.bb_upper = bb.map(|b| b.0);
    values.bb_middle = bb.map(|b| b.1);
    values.bb_lower = bb.map(|b| b.2);
}

#[cfg(test)]
mod tests;
