//! The backtest's scores per model and baseline, and each model's Diebold–Mariano test
//! against its baseline.
//!
//! - volatility forecasts ([`VolModel`]): QLIKE, MSE, MAE, RMSE of the variance; the models
//!   are tested against `last_rv` on QLIKE;
//! - point forecasts of the price ([`PointModel`]): MAE, MSE, RMSE, directional accuracy;
//!   tested against the random walk on squared error;
//! - intervals (the random walk ± the 50/80/95 % bounds of a variance forecast): coverage and
//!   the pinball loss averaged over the six bounds; tested against the rolling-mean
//!   baseline's intervals on that pinball loss.

use serde::Serialize;

use crate::backtest::{Backtest, PointModel, Row, VolModel};
use crate::dm::diebold_mariano;
use crate::intervals::{LEVELS, price_intervals};
use crate::scores::{direction_hit, mean, pinball, qlike, share};

/// What a score is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The variance of the period's return.
    Volatility,
    /// The price at the period's end.
    Price,
}

/// One model's or baseline's scores (`None` where a score does not apply).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelScore {
    /// Model name, e.g. `garch` or `garch_intervals`.
    pub name: String,
    /// What it forecasts.
    pub target: Target,
    /// Whether it is a naive baseline.
    pub baseline: bool,
    /// Mean QLIKE (volatility).
    pub qlike: Option<f64>,
    /// Mean squared error.
    pub mse: Option<f64>,
    /// Mean absolute error.
    pub mae: Option<f64>,
    /// Root mean squared error.
    pub rmse: Option<f64>,
    /// Share of forecasts that called the direction (point forecasts that call one).
    pub directional_accuracy: Option<f64>,
    /// Observed coverage of the 50 % interval.
    pub coverage_50: Option<f64>,
    /// Observed coverage of the 80 % interval.
    pub coverage_80: Option<f64>,
    /// Observed coverage of the 95 % interval.
    pub coverage_95: Option<f64>,
    /// Mean pinball loss over the six interval bounds (intervals).
    pub pinball: Option<f64>,
    /// Two-sided Diebold–Mariano p-value against the baseline (models only).
    pub dm_pvalue_vs_baseline: Option<f64>,
}

impl ModelScore {
    fn new(name: String, target: Target, baseline: bool) -> Self {
        Self {
            name,
            target,
            baseline,
            qlike: None,
            mse: None,
            mae: None,
            rmse: None,
            directional_accuracy: None,
            coverage_50: None,
            coverage_80: None,
            coverage_95: None,
            pinball: None,
            dm_pvalue_vs_baseline: None,
        }
    }

    fn errors(&mut self, errors: &[f64]) {
        self.mse = mean(errors.iter().map(|e| e * e));
        self.mae = mean(errors.iter().map(|e| e.abs()));
        self.rmse = self.mse.map(f64::sqrt);
    }
}

/// The intervals whose coverage is reported: the rolling-mean baseline's and each model's.
pub const INTERVAL_MODELS: [VolModel; 5] = [
    VolModel::RollingMeanRv,
    VolModel::Ewma,
    VolModel::Garch,
    VolModel::Har,
    VolModel::LogHar,
];

/// Mean pinball loss of the interval bounds of `row` under variance forecast `m`.
fn interval_pinball(row: &Row, m: VolModel) -> f64 {
    let y = row.realised_price;
    let intervals = price_intervals(row.issued.price, row.issued.variance[m as usize]);
    let total: f64 = intervals
        .iter()
        .map(|i| {
            let (lo, hi) = i.quantile_levels();
            pinball(lo, i.lower, y) + pinball(hi, i.upper, y)
        })
        .sum();
    total / (2 * intervals.len()) as f64
}

/// Observed coverage per level of the intervals of variance forecast `m`.
pub fn coverage(rows: &[Row], m: VolModel) -> [Option<f64>; 3] {
    std::array::from_fn(|level| {
        share(rows.iter().map(|r| {
            price_intervals(r.issued.price, r.issued.variance[m as usize])[level]
                .covers(r.realised_price)
        }))
    })
}

fn dm_p(model: &[f64], baseline: &[f64]) -> Option<f64> {
    diebold_mariano(model, baseline, None)
        .ok()
        .map(|t| t.p_value)
}

/// The scores of every model and baseline of `backtest`.
pub fn evaluate(backtest: &Backtest) -> Vec<ModelScore> {
    let rows = &backtest.rows;
    let mut out = Vec::new();
    let qlikes = |m: VolModel| -> Vec<f64> {
        rows.iter()
            .map(|r| qlike(r.realised_variance, r.issued.variance[m as usize]))
            .collect()
    };
    let naive_qlike = qlikes(VolModel::LastRv);
    for m in VolModel::ALL {
        let mut s = ModelScore::new(m.name().into(), Target::Volatility, m.is_baseline());
        let losses = qlikes(m);
        s.qlike = mean(losses.iter().copied());
        let errors: Vec<f64> = rows
            .iter()
            .map(|r| r.realised_variance - r.issued.variance[m as usize])
            .collect();
        s.errors(&errors);
        if !m.is_baseline() {
            s.dm_pvalue_vs_baseline = dm_p(&losses, &naive_qlike);
        }
        out.push(s);
    }
    let price_errors = |p: PointModel| -> Vec<f64> {
        rows.iter()
            .map(|r| r.realised_price - r.issued.point[p as usize])
            .collect()
    };
    let squared = |e: &[f64]| -> Vec<f64> { e.iter().map(|e| e * e).collect() };
    let walk = squared(&price_errors(PointModel::RandomWalk));
    for p in PointModel::ALL {
        let baseline = p == PointModel::RandomWalk;
        let mut s = ModelScore::new(p.name().into(), Target::Price, baseline);
        let errors = price_errors(p);
        s.errors(&errors);
        let hits: Vec<bool> = rows
            .iter()
            .filter_map(|r| {
                direction_hit(r.issued.price, r.issued.point[p as usize], r.realised_price)
            })
            .collect();
        s.directional_accuracy = share(hits);
        if !baseline {
            s.dm_pvalue_vs_baseline = dm_p(&squared(&errors), &walk);
        }
        out.push(s);
    }
    let pinballs =
        |m: VolModel| -> Vec<f64> { rows.iter().map(|r| interval_pinball(r, m)).collect() };
    let base_pinball = pinballs(VolModel::RollingMeanRv);
    for m in INTERVAL_MODELS {
        let baseline = m.is_baseline();
        let mut s = ModelScore::new(format!("{}_intervals", m.name()), Target::Price, baseline);
        [s.coverage_50, s.coverage_80, s.coverage_95] = coverage(rows, m);
        let losses = pinballs(m);
        s.pinball = mean(losses.iter().copied());
        if !baseline {
            s.dm_pvalue_vs_baseline = dm_p(&losses, &base_pinball);
        }
        out.push(s);
    }
    debug_assert_eq!(LEVELS.len(), 3);
    out
}
