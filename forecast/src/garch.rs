//! GARCH(1,1) by Gaussian maximum likelihood (Bollerslev 1986).
//!
//! rₜ = σₜ zₜ, zₜ ~ N(0, 1), σ²ₜ = ω + α r²ₜ₋₁ + β σ²ₜ₋₁, with ω > 0, α, β ≥ 0, α + β < 1.
//! The log-likelihood is −½ Σ [ln 2π + ln σ²ₜ + r²ₜ/σ²ₜ], the recursion starting at the
//! sample mean of r² (the zero-mean sample variance, as in Bollerslev's original and most
//! packages' default backcast). The fit minimises the negative log-likelihood with
//! [Nelder–Mead](crate::nelder_mead) over an unconstrained parameterisation that satisfies the
//! constraints by construction: ω = exp(θ₀), α + β = P·s(θ₁), α = (α + β)·s(θ₂), with s the
//! logistic function and P just below 1.

use crate::error::{Error, Result, need};
use crate::nelder_mead;

/// Least returns for a fit.
pub const MIN_RETURNS: usize = 10;

/// Upper bound on the persistence α + β (strictly stationary, strictly below 1).
const MAX_PERSISTENCE: f64 = 0.9999;

/// GARCH(1,1) parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Garch {
    /// ω, the constant.
    pub omega: f64,
    /// α, the weight of the last squared return.
    pub alpha: f64,
    /// β, the weight of the last variance.
    pub beta: f64,
}

/// A fitted model and its maximised log-likelihood.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// The parameters.
    pub model: Garch,
    /// The log-likelihood at them.
    pub log_likelihood: f64,
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// The sample mean of r², where the recursion starts.
pub fn initial_variance(returns: &[f64]) -> f64 {
    returns.iter().map(|r| r * r).sum::<f64>() / returns.len().max(1) as f64
}

impl Garch {
    /// Validated parameters.
    pub fn new(omega: f64, alpha: f64, beta: f64) -> Result<Self> {
        let bad = |name, reason: &str| Error::InvalidParameter {
            name,
            reason: reason.to_string(),
        };
        if !(omega > 0.0 && omega.is_finite()) {
            return Err(bad("omega", "must be positive"));
        }
        if !(alpha >= 0.0 && beta >= 0.0) {
            return Err(bad("alpha, beta", "must not be negative"));
        }
        if alpha + beta >= 1.0 {
            return Err(bad("alpha + beta", "must be below 1"));
        }
        Ok(Self { omega, alpha, beta })
    }

    /// ω / (1 − α − β), the long-run variance.
    pub fn unconditional_variance(&self) -> f64 {
        self.omega / (1.0 - self.alpha - self.beta)
    }

    /// The conditional variance for the period after `returns`, from `initial`.
    pub fn next_variance(&self, returns: &[f64], initial: f64) -> f64 {
        returns.iter().fold(initial, |var, r| {
            self.omega + self.alpha * r * r + self.beta * var
        })
    }

    /// The Gaussian log-likelihood of `returns`, the recursion starting at `initial`.
    pub fn log_likelihood(&self, returns: &[f64], initial: f64) -> f64 {
        let ln_2pi = (2.0 * std::f64::consts::PI).ln();
        let mut var = initial;
        let mut sum = 0.0;
        for r in returns {
            sum += ln_2pi + var.ln() + r * r / var;
            var = self.omega + self.alpha * r * r + self.beta * var;
        }
        -0.5 * sum
    }

    fn from_theta(theta: &[f64]) -> Self {
        let persistence = MAX_PERSISTENCE * logistic(theta[1]);
        let alpha = persistence * logistic(theta[2]);
        Self {
            omega: theta[0].exp(),
            alpha,
            beta: persistence - alpha,
        }
    }

    fn theta(&self) -> [f64; 3] {
        let persistence = (self.alpha + self.beta).clamp(1e-6, MAX_PERSISTENCE - 1e-6);
        let share = (self.alpha / persistence).clamp(1e-6, 1.0 - 1e-6);
        [
            self.omega.ln(),
            logit(persistence / MAX_PERSISTENCE),
            logit(share),
        ]
    }

    /// The maximum-likelihood fit to zero-mean `returns`. The likelihood of short or
    /// jumpy series has flat ridges and corners (α → 0) where a simplex stalls, so the fit
    /// starts from several points spread over the persistence range — (α, β) = (0.05, 0.90),
    /// (0.20, 0.70), (0.40, 0.30), ω matching the sample variance — plus `hint` (a previous
    /// fit, when refitting on a longer window), and keeps the most likely.
    pub fn fit(returns: &[f64], hint: Option<&Garch>) -> Result<Fit> {
        need(
            || "GARCH(1,1) fit (returns)".into(),
            MIN_RETURNS,
            returns.len(),
        )?;
        let var = initial_variance(returns);
        if !(var > 0.0 && var.is_finite()) {
            return Err(Error::Degenerate {
                model: "GARCH(1,1)",
                reason: "the returns are all zero".into(),
            });
        }
        let starts = [(0.05, 0.90), (0.20, 0.70), (0.40, 0.30)].map(|(alpha, beta)| Garch {
            omega: var * (1.0 - alpha - beta),
            alpha,
            beta,
        });
        let best = starts
            .iter()
            .chain(hint)
            .map(|start| Self::fit_from(returns, start))
            .max_by(|a, b| a.log_likelihood.total_cmp(&b.log_likelihood))
            .expect("at least one start");
        Ok(best)
    }

    /// The maximum-likelihood fit from `start`. The minimiser is restarted once from its
    /// first optimum, the usual guard against Nelder–Mead stopping early.
    fn fit_from(returns: &[f64], start: &Garch) -> Fit {
        let initial = initial_variance(returns);
        let nll = |theta: &[f64]| {
            let ll = Self::from_theta(theta).log_likelihood(returns, initial);
            if ll.is_finite() { -ll } else { f64::INFINITY }
        };
        let mut theta = start.theta().to_vec();
        for _ in 0..2 {
            theta = nelder_mead::minimize(nll, &theta, 0.5, 1e-7, 2_000).x;
        }
        let model = Self::from_theta(&theta);
        Fit {
            model,
            log_likelihood: model.log_likelihood(returns, initial),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    #[test]
    fn log_likelihood_by_hand() {
        // ω = 0.1, α = 0.1, β = 0.8, σ²₁ = 1, r = 1, −2.
        // σ²₂ = 0.1 + 0.1·1 + 0.8·1 = 1.
        // ℓ = −½[2 ln 2π + ln 1 + 1/1 + ln 1 + 4/1] = −ln 2π − 2.5 = −4.337877066409345
        let g = Garch::new(0.1, 0.1, 0.8).unwrap();
        let ll = g.log_likelihood(&[1.0, -2.0], 1.0);
        assert!((ll - (-4.337_877_066_409_345)).abs() < 1e-12, "{ll}");
        // σ²₃ = 0.1 + 0.1·4 + 0.8·1 = 1.3
        assert!((g.next_variance(&[1.0, -2.0], 1.0) - 1.3).abs() < 1e-15);
        assert!((g.unconditional_variance() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn constraints_are_checked() {
        assert!(Garch::new(0.0, 0.1, 0.8).is_err());
        assert!(Garch::new(0.1, -0.1, 0.8).is_err());
        assert!(Garch::new(0.1, 0.3, 0.7).is_err());
        assert!(Garch::fit(&[0.0; 50], None).is_err());
        assert!(Garch::fit(&[0.1; 5], None).is_err());
    }

    /// A path of `n` returns from `g`, with a fixed seed.
    fn simulate(g: &Garch, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut var = g.unconditional_variance();
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let z: f64 = StandardNormal.sample(&mut rng);
            let r = var.sqrt() * z;
            out.push(r);
            var = g.omega + g.alpha * r * r + g.beta * var;
        }
        out
    }

    #[test]
    fn recovers_simulated_parameters() {
        // Hourly-return scale: unconditional variance 2e-5 (0.45 % per hour).
        let truth = Garch::new(2e-7, 0.08, 0.91).unwrap();
        let returns = simulate(&truth, 20_000, 7);
        let fit = Garch::fit(&returns, None).unwrap();
        let m = fit.model;
        assert!((m.alpha - 0.08).abs() < 0.02, "{m:?}");
        assert!((m.beta - 0.91).abs() < 0.02, "{m:?}");
        assert!((m.omega / 2e-7 - 1.0).abs() < 0.5, "{m:?}");
        // The optimum is at least as likely as the truth.
        let at_truth = truth.log_likelihood(&returns, initial_variance(&returns));
        assert!(
            fit.log_likelihood >= at_truth - 1e-6,
            "{fit:?} vs {at_truth}"
        );
    }
}
