//! HAR-RV: the heterogeneous autoregressive model of realised variance (Corsi 2009, "A simple
//! approximate long-memory model of realized volatility", J. Financial Econometrics 7(2)).
//!
//! RVₜ₊₁ = b₀ + b_d RVₜ + b_w RV⁽ʷ⁾ₜ + b_m RV⁽ᵐ⁾ₜ + εₜ₊₁, where RV⁽ʷ⁾ and RV⁽ᵐ⁾ are the means of
//! the last `medium` and `long` periods' RV (Corsi: 1, 5 and 22 days), fitted by OLS. The
//! forecast is floored at the smallest positive RV of the fit window, since the linear model
//! can go negative after a collapse of volatility and a variance cannot.
//!
//! [`LogHar`] is the same regression in logarithms, ln RVₜ₊₁ on the logs of the three
//! averages (Andersen, Bollerslev & Diebold 2007, "Roughing it up", REStat 89(4)): the
//! spikes of RV weigh less on the fit, the forecast is positive by construction, and it is
//! exp(ŷ + s²/2), s² the residual variance, the log-normal mean. ŷ is kept within the range
//! of the log RV the model was fitted on: with a dozen rows (daily periods) the regression
//! can be explosive, and exp() of an extrapolation is not a forecast anyone should act on.

use crate::error::{Error, Result, need};
use crate::ols::ols;

/// The three averaging lengths, in periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HarLags {
    /// The short component (Corsi's daily: 1).
    pub short: usize,
    /// The medium component (Corsi's weekly: 5).
    pub medium: usize,
    /// The long component (Corsi's monthly: 22).
    pub long: usize,
}

impl HarLags {
    /// Corsi's daily, weekly and monthly lags, for daily periods.
    pub const DAILY: HarLags = HarLags {
        short: 1,
        medium: 5,
        long: 22,
    };
    /// For hourly periods: the last hour, the last 6 hours and the last day.
    pub const HOURLY: HarLags = HarLags {
        short: 1,
        medium: 6,
        long: 24,
    };
}

/// Least regression rows for a fit (four coefficients).
pub const MIN_ROWS: usize = 12;

/// A fitted HAR-RV.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Har {
    /// b₀, b_d, b_w, b_m (in the units of RV).
    pub coefficients: [f64; 4],
    /// The lags.
    pub lags: HarLags,
    floor: f64,
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// The regressors [1, RV_d, RV_w, RV_m] for the period after `rv`.
fn regressors(rv: &[f64], lags: HarLags) -> [f64; 4] {
    let n = rv.len();
    [
        1.0,
        mean(&rv[n - lags.short..]),
        mean(&rv[n - lags.medium..]),
        mean(&rv[n - lags.long..]),
    ]
}

impl Har {
    /// The OLS fit on the series `rv` (one value per period, oldest first).
    pub fn fit(rv: &[f64], lags: HarLags) -> Result<Self> {
        if !(1 <= lags.short && lags.short <= lags.medium && lags.medium <= lags.long) {
            return Err(Error::InvalidParameter {
                name: "lags",
                reason: format!("{lags:?} must satisfy 1 <= short <= medium <= long"),
            });
        }
        need(
            || format!("HAR-RV with a {}-period long lag (periods)", lags.long),
            lags.long + MIN_ROWS,
            rv.len(),
        )?;
        // Regress in units of the mean RV: keeps X'X of order one.
        let scale = mean(rv);
        if !(scale > 0.0 && scale.is_finite()) {
            return Err(Error::Degenerate {
                model: "HAR-RV",
                reason: "the realised variance is zero throughout".into(),
            });
        }
        let scaled: Vec<f64> = rv.iter().map(|v| v / scale).collect();
        let rows: Vec<[f64; 4]> = (lags.long..rv.len())
            .map(|t| regressors(&scaled[..t], lags))
            .collect();
        let b = ols(&rows, &scaled[lags.long..]).ok_or_else(|| Error::Degenerate {
            model: "HAR-RV",
            reason: "singular regression (constant or collinear components)".into(),
        })?;
        let floor = rv
            .iter()
            .copied()
            .filter(|v| *v > 0.0)
            .fold(f64::INFINITY, f64::min);
        Ok(Self {
            coefficients: [b[0] * scale, b[1], b[2], b[3]],
            lags,
            floor,
        })
    }

    /// The forecast of the RV of the period after `rv` (which needs at least `long` values).
    pub fn forecast(&self, rv: &[f64]) -> f64 {
        let x = regressors(rv, self.lags);
        let raw: f64 = x.iter().zip(&self.coefficients).map(|(x, b)| x * b).sum();
        raw.max(self.floor)
    }
}

/// A fitted HAR-RV in logarithms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogHar {
    /// b₀, b_d, b_w, b_m of the log regression.
    pub coefficients: [f64; 4],
    /// The residual variance s².
    pub residual_variance: f64,
    /// The lags.
    pub lags: HarLags,
    floor: f64,
    /// The largest RV of the fit sample.
    ceiling: f64,
}

/// The log regressors, zero RV floored at `floor`.
fn log_regressors(rv: &[f64], lags: HarLags, floor: f64) -> [f64; 4] {
    let x = regressors(rv, lags);
    [
        1.0,
        x[1].max(floor).ln(),
        x[2].max(floor).ln(),
        x[3].max(floor).ln(),
    ]
}

impl LogHar {
    /// The OLS fit of the log model on `rv` (zeros are floored at the smallest positive RV).
    pub fn fit(rv: &[f64], lags: HarLags) -> Result<Self> {
        let linear = Har::fit(rv, lags)?;
        let floor = linear.floor;
        let rows: Vec<[f64; 4]> = (lags.long..rv.len())
            .map(|t| log_regressors(&rv[..t], lags, floor))
            .collect();
        let y: Vec<f64> = rv[lags.long..].iter().map(|v| v.max(floor).ln()).collect();
        let b = ols(&rows, &y).ok_or_else(|| Error::Degenerate {
            model: "log HAR-RV",
            reason: "singular regression (constant or collinear components)".into(),
        })?;
        let residuals = rows.iter().zip(&y).map(|(x, y)| {
            let fit: f64 = x.iter().zip(&b).map(|(x, b)| x * b).sum();
            (y - fit).powi(2)
        });
        let residual_variance = residuals.sum::<f64>() / (y.len() - 4).max(1) as f64;
        let ceiling = rv.iter().copied().fold(floor, f64::max);
        Ok(Self {
            coefficients: b,
            residual_variance,
            lags,
            floor,
            ceiling,
        })
    }

    /// The forecast of the RV of the period after `rv`: exp(ŷ + s²/2).
    pub fn forecast(&self, rv: &[f64]) -> f64 {
        let x = log_regressors(rv, self.lags, self.floor);
        let log: f64 = x.iter().zip(&self.coefficients).map(|(x, b)| x * b).sum();
        let log = log.clamp(self.floor.ln(), self.ceiling.ln());
        (log + self.residual_variance / 2.0).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAGS: HarLags = HarLags {
        short: 1,
        medium: 2,
        long: 3,
    };

    #[test]
    fn regressors_by_hand() {
        // After 1, 2, 3, 6: daily 6, "weekly" (2) 4.5, "monthly" (3) 11/3.
        let x = regressors(&[1.0, 2.0, 3.0, 6.0], LAGS);
        assert_eq!(x[..3], [1.0, 6.0, 4.5]);
        assert!((x[3] - 11.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn forecast_by_hand() {
        let har = Har {
            coefficients: [0.1, 0.3, 0.2, 0.25],
            lags: LAGS,
            floor: 0.01,
        };
        // 0.1 + 0.3·6 + 0.2·4.5 + 0.25·11/3 = 0.1 + 1.8 + 0.9 + 0.91666… = 3.71666…
        let f = har.forecast(&[1.0, 2.0, 3.0, 6.0]);
        assert!((f - (2.8 + 0.25 * 11.0 / 3.0)).abs() < 1e-12, "{f}");
        // A negative linear forecast is floored.
        let falling = Har {
            coefficients: [-10.0, 0.0, 0.0, 0.0],
            ..har
        };
        assert_eq!(falling.forecast(&[1.0, 2.0, 3.0]), 0.01);
    }

    #[test]
    fn recovers_an_exact_har_recursion() {
        // A series that follows RVₜ₊₁ = 0.1 + 0.3 RVₜ + 0.2 RV⁽²⁾ₜ + 0.25 RV⁽³⁾ₜ exactly, from
        // uneven starting values (their transient keeps the regressors apart): the OLS must
        // return the coefficients, and the forecast the next value.
        let mut rv = vec![1.0, 5.0, 0.2];
        for t in 3..21 {
            let x = regressors(&rv[..t], LAGS);
            rv.push(0.1 + 0.3 * x[1] + 0.2 * x[2] + 0.25 * x[3]);
        }
        let har = Har::fit(&rv[..20], LAGS).unwrap();
        for (got, want) in har.coefficients.iter().zip([0.1, 0.3, 0.2, 0.25]) {
            assert!((got - want).abs() < 1e-6, "{:?}", har.coefficients);
        }
        assert!((har.forecast(&rv[..20]) - rv[20]).abs() < 1e-9);
    }

    #[test]
    fn log_model_recovers_an_exact_log_recursion() {
        // ln RVₜ₊₁ = 0.1 + 0.4 ln RV⁽¹⁾ + 0.3 ln RV⁽²⁾ + 0.1 ln RV⁽³⁾ exactly: coefficients back,
        // zero residual variance, and the forecast is the next value.
        let mut rv: Vec<f64> = vec![0.5, 3.0, 0.1];
        for t in 3..21 {
            let x = regressors(&rv[..t], LAGS);
            rv.push((0.1 + 0.4 * x[1].ln() + 0.3 * x[2].ln() + 0.1 * x[3].ln()).exp());
        }
        let har = LogHar::fit(&rv[..20], LAGS).unwrap();
        for (got, want) in har.coefficients.iter().zip([0.1, 0.4, 0.3, 0.1]) {
            assert!((got - want).abs() < 1e-6, "{:?}", har.coefficients);
        }
        assert!(har.residual_variance < 1e-20);
        assert!((har.forecast(&rv[..20]) / rv[20] - 1.0).abs() < 1e-9);
    }

    #[test]
    fn log_forecast_stays_within_the_fitted_range() {
        let har = LogHar {
            coefficients: [50.0, 2.0, 0.0, 0.0],
            residual_variance: 0.0,
            lags: LAGS,
            floor: 0.5,
            ceiling: 4.0,
        };
        assert!((har.forecast(&[1.0, 2.0, 3.0]) - 4.0).abs() < 1e-12);
        let low = LogHar {
            coefficients: [-50.0, 0.0, 0.0, 0.0],
            ..har
        };
        assert!((low.forecast(&[1.0, 2.0, 3.0]) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn too_short_or_flat_series_are_refused() {
        assert!(matches!(
            Har::fit(&[1.0; 10], LAGS),
            Err(Error::TooFewRows { needed: 15, .. })
        ));
        assert!(Har::fit(&[0.0; 40], LAGS).is_err());
        assert!(Har::fit(&[2.0; 40], LAGS).is_err());
    }
}
