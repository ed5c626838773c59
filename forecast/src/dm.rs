//! The Diebold–Mariano test of equal predictive accuracy (Diebold & Mariano 1995, J. Business
//! & Economic Statistics 13(3)).
//!
//! With dₜ = L(model)ₜ − L(baseline)ₜ, the statistic is d̄ / √(V̂/T), V̂ the long-run variance
//! of dₜ by Newey & West (1987): γ₀ + 2 Σₖ₌₁..ₗ (1 − k/(l+1)) γₖ, with the lag l =
//! ⌊4 (T/100)^(2/9)⌋ unless given. Under the null it is standard normal; the p-value is
//! two-sided. Negative statistics mean the model's losses are lower.

use crate::error::{Error, Result, need};
use crate::normal;

/// The outcome of a test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DmTest {
    /// The DM statistic.
    pub statistic: f64,
    /// Two-sided p-value from the standard normal.
    pub p_value: f64,
    /// The Newey–West lag used.
    pub lag: usize,
}

/// Newey and West's rule-of-thumb lag for `n` observations.
pub fn default_lag(n: usize) -> usize {
    (4.0 * (n as f64 / 100.0).powf(2.0 / 9.0)).floor() as usize
}

/// Tests whether `model` and `baseline` (losses per forecast, aligned) differ in mean.
pub fn diebold_mariano(model: &[f64], baseline: &[f64], lag: Option<usize>) -> Result<DmTest> {
    if model.len() != baseline.len() {
        return Err(Error::InvalidParameter {
            name: "baseline",
            reason: format!("{} losses for {} model losses", baseline.len(), model.len()),
        });
    }
    need(
        || "the Diebold–Mariano test (forecasts)".into(),
        3,
        model.len(),
    )?;
    let d: Vec<f64> = model.iter().zip(baseline).map(|(a, b)| a - b).collect();
    let n = d.len();
    let lag = lag.unwrap_or_else(|| default_lag(n)).min(n - 1);
    let mean = d.iter().sum::<f64>() / n as f64;
    let gamma = |k: usize| {
        (k..n)
            .map(|t| (d[t] - mean) * (d[t - k] - mean))
            .sum::<f64>()
            / n as f64
    };
    let mut variance = gamma(0);
    for k in 1..=lag {
        variance += 2.0 * (1.0 - k as f64 / (lag + 1) as f64) * gamma(k);
    }
    if variance.is_nan() || variance <= 0.0 {
        return Err(Error::Degenerate {
            model: "Diebold–Mariano test",
            reason: "the loss differences do not vary".into(),
        });
    }
    let statistic = mean / (variance / n as f64).sqrt();
    let p_value = 2.0 * (1.0 - normal::cdf(statistic.abs()));
    Ok(DmTest {
        statistic,
        p_value,
        lag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_zero_by_hand() {
        // d = 1, 2, 3, 2: mean 2, γ₀ = (1 + 0 + 1 + 0)/4 = 0.5, DM = 2/√(0.5/4) = 5.656854.
        let t = diebold_mariano(&[2.0, 3.0, 4.0, 3.0], &[1.0; 4], Some(0)).unwrap();
        assert!((t.statistic - 5.656_854_249_492_38).abs() < 1e-12, "{t:?}");
        assert!(t.p_value < 1e-7);
    }

    #[test]
    fn lag_one_by_hand() {
        // d = 1, −1, 1, −1: mean 0 → statistic 0, p = 1.
        let t = diebold_mariano(&[1.0, -1.0, 1.0, -1.0], &[0.0; 4], Some(1)).unwrap();
        assert_eq!(t.statistic, 0.0);
        assert!((t.p_value - 1.0).abs() < 1e-7);
        // d = 3, 1, 3, 1: mean 2, γ₀ = 1, γ₁ = −3/4, V̂ = 1 + 2·½·(−¾) = ¼, DM = 2/√(¼/4) = 8.
        let t = diebold_mariano(&[3.0, 1.0, 3.0, 1.0], &[0.0; 4], Some(1)).unwrap();
        assert!((t.statistic - 8.0).abs() < 1e-12, "{t:?}");
    }

    #[test]
    fn p_value_from_the_normal() {
        // d = 0, −2, 0, −2: mean −1, γ₀ = 1, DM = −1/√(1/4) = −2, p = 2(1 − Φ(2)) = 0.0455003.
        let t = diebold_mariano(&[0.0, -2.0, 0.0, -2.0], &[0.0; 4], Some(0)).unwrap();
        assert!((t.statistic + 2.0).abs() < 1e-12);
        assert!((t.p_value - 0.045_500_263_9).abs() < 1e-6, "{t:?}");
        assert!(diebold_mariano(&[1.0; 4], &[1.0; 4], None).is_err());
        assert!(diebold_mariano(&[1.0; 4], &[1.0; 3], None).is_err());
        assert_eq!(default_lag(100), 4);
    }
}
