//! Volatility: Bollinger(n, k) bands, middle = SMA(n) and middle ± k σ with σ the population
//! standard deviation of the last `n` closes (a second pass over the deviations).

use super::moving_average::{mean, window};

/// `(upper, middle, lower)` per close: middle = SMA(period), bands = middle ± k σ with σ the
/// population standard deviation of the window; first value at index `period - 1`.
pub fn bollinger(closes: &[f64], period: usize, k: f64) -> Vec<Option<(f64, f64, f64)>> {
    (0..closes.len())
        .map(|i| window(closes, i, period).map(|w| bands(w, k)))
        .collect()
}

/// Bollinger bands of a non-empty window; the variance is a second pass over the deviations.
pub(super) fn bands(window: &[f64], k: f64) -> (f64, f64, f64) {
    let middle = mean(window);
    let variance = window
        .iter()
        .map(|x| {
            let d = x - middle;
            d * d
        })
        .sum::<f64>()
        / window.len() as f64;
    let width = k * variance.sqrt();
    (middle + width, middle, middle - width)
}
