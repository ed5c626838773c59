//! Prediction intervals for the price from a variance forecast.
//!
//! The log return to the horizon is taken as N(0, σ²), σ² the model's variance forecast, so
//! the central interval at level c is P₀·exp(± z σ), z = Φ⁻¹((1 + c)/2). Fat tails and a
//! variance forecast that is too low both show up as coverage below nominal (the backtest
//! measures it).

use crate::normal;

/// The nominal levels reported: 50 %, 80 %, 95 %.
pub const LEVELS: [f64; 3] = [0.5, 0.8, 0.95];

/// One central interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Nominal coverage, e.g. 0.8.
    pub level: f64,
    /// Lower bound (the (1 − level)/2 quantile).
    pub lower: f64,
    /// Upper bound (the (1 + level)/2 quantile).
    pub upper: f64,
}

impl Interval {
    /// Whether `price` is inside (bounds included).
    pub fn covers(&self, price: f64) -> bool {
        self.lower <= price && price <= self.upper
    }

    /// The quantile levels of the bounds: ((1 − level)/2, (1 + level)/2).
    pub fn quantile_levels(&self) -> (f64, f64) {
        ((1.0 - self.level) / 2.0, (1.0 + self.level) / 2.0)
    }
}

/// The 50/80/95 % intervals around `price` for a log-return variance `variance`.
pub fn price_intervals(price: f64, variance: f64) -> [Interval; 3] {
    let sigma = variance.max(0.0).sqrt();
    LEVELS.map(|level| {
        let z = normal::quantile((1.0 + level) / 2.0);
        Interval {
            level,
            lower: price * (-z * sigma).exp(),
            upper: price * (z * sigma).exp(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_by_hand() {
        // σ = 0.01: the 95 % interval is 100·exp(±1.959964·0.01) = [98.05912, 101.97930].
        let [i50, i80, i95] = price_intervals(100.0, 1e-4);
        assert!((i95.lower - 98.059_12).abs() < 1e-4, "{i95:?}");
        assert!((i95.upper - 101.979_30).abs() < 1e-4, "{i95:?}");
        assert!(i50.upper < i80.upper && i80.upper < i95.upper);
        assert!(i80.covers(101.0) && !i50.covers(101.0));
        assert_eq!(i80.quantile_levels(), (0.09999999999999998, 0.9));
    }
}
