//! EWMA variance, RiskMetrics style.
//!
//! σ²ₜ₊₁ = λ σ²ₜ + (1 − λ) rₜ², with λ = 0.94 (J.P. Morgan/Reuters, *RiskMetrics — Technical
//! Document*, 4th ed., 1996, §5.2; 0.94 is their value for daily data, kept here for every
//! horizon as the documented default). The recursion starts from the mean squared return of
//! the first [`SEED_RETURNS`] returns of the window.

use crate::error::{Error, Result, need};

/// RiskMetrics' decay factor.
pub const RISKMETRICS_LAMBDA: f64 = 0.94;

/// Returns whose mean square seeds the recursion.
pub const SEED_RETURNS: usize = 20;

/// The variance forecast for the period after `returns`, starting the recursion at `initial`.
pub fn ewma_from(returns: &[f64], lambda: f64, initial: f64) -> f64 {
    returns
        .iter()
        .fold(initial, |var, r| lambda * var + (1.0 - lambda) * r * r)
}

/// The variance forecast for the period after `returns` (zero-mean returns), seeded from the
/// first returns' mean square.
pub fn ewma(returns: &[f64], lambda: f64) -> Result<f64> {
    if !(lambda > 0.0 && lambda < 1.0) {
        return Err(Error::InvalidParameter {
            name: "lambda",
            reason: format!("{lambda} is not in (0, 1)"),
        });
    }
    need(|| "EWMA (returns)".into(), 1, returns.len())?;
    let seed = &returns[..returns.len().min(SEED_RETURNS)];
    let initial = seed.iter().map(|r| r * r).sum::<f64>() / seed.len() as f64;
    Ok(ewma_from(returns, lambda, initial))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_recursion() {
        // σ²₁ = 1e-4; r = 0.01, −0.02, 0.
        // σ²₂ = 0.94·1e-4 + 0.06·1e-4 = 1e-4
        // σ²₃ = 0.94·1e-4 + 0.06·4e-4 = 1.18e-4
        // σ²₄ = 0.94·1.18e-4 + 0 = 1.1092e-4
        let v = ewma_from(&[0.01, -0.02, 0.0], RISKMETRICS_LAMBDA, 1e-4);
        assert!((v - 1.1092e-4).abs() < 1e-15, "{v}");
    }

    #[test]
    fn seeded_from_the_first_returns() {
        // Seed = (0.01² + 0.02² + 0²)/3 = 5e-4/3; then three steps as above.
        let seed = 5e-4 / 3.0;
        let expected = ((0.94 * seed + 0.06 * 1e-4) * 0.94 + 0.06 * 4e-4) * 0.94;
        let v = ewma(&[0.01, -0.02, 0.0], 0.94).unwrap();
        assert!((v - expected).abs() < 1e-15);
        assert!(ewma(&[], 0.94).is_err());
        assert!(ewma(&[0.1], 1.0).is_err());
    }
}
