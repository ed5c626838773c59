//! Point forecasts of the price that try to beat the random walk — and, on real data, do not.
//!
//! - drift: the random walk plus the mean log return of the window;
//! - AR(1): the next log return regressed on the last one by OLS (momentum or reversal).
//!
//! They are in the backtest to measure, with a Diebold–Mariano test, what the docs claim:
//! that a point forecast of a liquid coin's price does not beat "no change".

use crate::error::{Error, Result, need};
use crate::ols::ols;

/// Least returns for the AR(1) regression.
pub const MIN_AR_RETURNS: usize = 10;

/// The last price times exp(mean of `returns`).
pub fn drift(last_price: f64, returns: &[f64]) -> Result<f64> {
    need(|| "the drift forecast (returns)".into(), 1, returns.len())?;
    let mean = returns.iter().sum::<f64>() / returns.len() as f64;
    Ok(last_price * mean.exp())
}

/// The last price times exp(c + φ r_last), c and φ fitted by OLS of rₜ₊₁ on rₜ over `returns`.
pub fn ar1(last_price: f64, returns: &[f64]) -> Result<f64> {
    need(
        || "the AR(1) forecast (returns)".into(),
        MIN_AR_RETURNS,
        returns.len(),
    )?;
    // Scale to unit order for the normal equations.
    let scale = (returns.iter().map(|r| r * r).sum::<f64>() / returns.len() as f64).sqrt();
    if !scale.is_finite() || scale <= 0.0 {
        return Err(Error::Degenerate {
            model: "AR(1)",
            reason: "the returns are all zero".into(),
        });
    }
    let rows: Vec<[f64; 2]> = returns[..returns.len() - 1]
        .iter()
        .map(|r| [1.0, r / scale])
        .collect();
    let y: Vec<f64> = returns[1..].iter().map(|r| r / scale).collect();
    let [c, phi] = ols(&rows, &y).ok_or_else(|| Error::Degenerate {
        model: "AR(1)",
        reason: "singular regression (constant returns)".into(),
    })?;
    let next = (c + phi * returns[returns.len() - 1] / scale) * scale;
    Ok(last_price * next.exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_by_hand() {
        let f = drift(100.0, &[0.01, 0.03]).unwrap();
        assert!((f - 100.0 * 0.02f64.exp()).abs() < 1e-12);
    }

    #[test]
    fn ar1_follows_an_exact_autoregression() {
        // rₜ₊₁ = 0.001 − 0.5 rₜ exactly, from r₀ = 0.02: the fit returns φ = −0.5, c = 0.001.
        let mut r = vec![0.02];
        for _ in 0..15 {
            r.push(0.001 - 0.5 * r[r.len() - 1]);
        }
        let f = ar1(50.0, &r).unwrap();
        let expected = 50.0 * (0.001 - 0.5 * r[r.len() - 1]).exp();
        assert!((f - expected).abs() < 1e-9, "{f} vs {expected}");
        assert!(ar1(50.0, &[0.0; 20]).is_err());
    }
}
