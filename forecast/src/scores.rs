//! Forecast scores: per-forecast losses and their means.
//!
//! - QLIKE (Patton 2011, "Volatility forecast comparison using imperfect volatility proxies",
//!   J. Econometrics 160): L(σ², h) = σ²/h − ln(σ²/h) − 1, σ² the realised variance and h
//!   the forecast; zero for a perfect forecast, and — unlike MSE — it ranks forecasts the same
//!   way whatever the noise in the realised-variance proxy. It punishes under-prediction
//!   harder than over-prediction.
//! - squared and absolute errors (MSE, RMSE, MAE);
//! - directional accuracy: the share of forecasts whose predicted change has the sign of the
//!   realised change;
//! - pinball (quantile) loss: (τ − 1{y < q})(y − q) for the τ-quantile q;
//! - interval coverage: the share of outcomes inside the interval.

/// Patton's QLIKE for realised variance `realised` (> 0) and forecast `forecast` (> 0).
pub fn qlike(realised: f64, forecast: f64) -> f64 {
    let ratio = realised / forecast;
    ratio - ratio.ln() - 1.0
}

/// Pinball loss of the `tau`-quantile forecast `q` for the outcome `y`.
pub fn pinball(tau: f64, q: f64, y: f64) -> f64 {
    if y < q {
        (tau - 1.0) * (y - q)
    } else {
        tau * (y - q)
    }
}

/// The mean of `xs` (`None` when empty).
pub fn mean(xs: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (sum, n) = xs
        .into_iter()
        .fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// Whether a forecast `forecast` from `last` called the direction of `actual`: `None` when it
/// calls none (no predicted change), else whether the signs of the changes agree (an outcome
/// with no change is a miss).
pub fn direction_hit(last: f64, forecast: f64, actual: f64) -> Option<bool> {
    let predicted = forecast - last;
    if predicted == 0.0 {
        return None;
    }
    Some((actual - last) * predicted > 0.0)
}

/// Share of `true` in `hits` (`None` when empty).
pub fn share(hits: impl IntoIterator<Item = bool>) -> Option<f64> {
    mean(hits.into_iter().map(|h| if h { 1.0 } else { 0.0 }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qlike_by_hand() {
        assert_eq!(qlike(2.0, 2.0), 0.0);
        // σ²/h = 2: 2 − ln 2 − 1 = 0.30685…; σ²/h = ½: ½ + ln 2 − 1 = 0.19315…
        assert!((qlike(2.0, 1.0) - 0.306_852_819_440_054_7).abs() < 1e-15);
        assert!((qlike(1.0, 2.0) - 0.193_147_180_559_945_3).abs() < 1e-15);
    }

    #[test]
    fn pinball_by_hand() {
        // τ = 0.9, q = 10: y = 12 costs 0.9·2 = 1.8; y = 8 costs 0.1·2 = 0.2.
        assert!((pinball(0.9, 10.0, 12.0) - 1.8).abs() < 1e-12);
        assert!((pinball(0.9, 10.0, 8.0) - 0.2).abs() < 1e-12);
    }

    #[test]
    fn direction_and_means() {
        assert_eq!(direction_hit(10.0, 10.0, 11.0), None);
        assert_eq!(direction_hit(10.0, 10.5, 11.0), Some(true));
        assert_eq!(direction_hit(10.0, 10.5, 9.0), Some(false));
        assert_eq!(direction_hit(10.0, 9.5, 10.0), Some(false));
        assert_eq!(mean([1.0, 2.0, 6.0]), Some(3.0));
        assert_eq!(mean([]), None);
        assert_eq!(share([true, false, true, true]), Some(0.75));
    }
}
