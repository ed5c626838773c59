//! The text output of `cryptoviz backtest`: one table per target, a row per model and
//! baseline.

use std::fmt::Write;

use cryptoviz_forecast::{Backtest, ModelScore, Target};

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.4e}"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{:.1}%", v * 100.0))
}

fn p(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.4}"))
}

/// Rows of `scores` matching `keep`, under `header`, each cell from `cells`.
fn section(
    out: &mut String,
    title: &str,
    header: &[&str],
    scores: &[ModelScore],
    keep: impl Fn(&ModelScore) -> bool,
    cells: impl Fn(&ModelScore) -> Vec<String>,
) {
    let _ = writeln!(out, "\n{title}");
    let mut line = format!("{:<28}{:<9}", "model", "baseline");
    for h in header {
        let _ = write!(line, "{h:>12}");
    }
    let _ = writeln!(out, "{}", line.trim_end());
    for s in scores.iter().filter(|s| keep(s)) {
        let mut line = format!("{:<28}{:<9}", s.name, if s.baseline { "yes" } else { "" });
        for c in cells(s) {
            let _ = write!(line, "{c:>12}");
        }
        let _ = writeln!(out, "{line}");
    }
}

/// The tables for `coin`.
pub(super) fn render(coin: &str, backtest: &Backtest, scores: &[ModelScore]) -> String {
    let mut out = format!(
        "{coin}, {} horizon: {} walk-forward forecasts ({:?} window{}), {} periods not scored\n",
        backtest.config.horizon,
        backtest.rows.len(),
        backtest.config.window,
        if backtest.config.diurnal {
            ", hour-of-day adjusted"
        } else {
            ""
        },
        backtest.unscored,
    );
    section(
        &mut out,
        "Volatility: variance of the period's log return vs realised variance (DM: QLIKE vs last_rv)",
        &["QLIKE", "MSE", "MAE", "RMSE", "DM p"],
        scores,
        |s| s.target == Target::Volatility,
        |s| {
            vec![
                p(s.qlike),
                num(s.mse),
                num(s.mae),
                num(s.rmse),
                p(s.dm_pvalue_vs_baseline),
            ]
        },
    );
    section(
        &mut out,
        "Price, point forecasts (DM: squared error vs random_walk)",
        &["MAE", "RMSE", "direction", "DM p"],
        scores,
        |s| s.target == Target::Price && s.coverage_80.is_none(),
        |s| {
            vec![
                format!("{:.2}", s.mae.unwrap_or(f64::NAN)),
                format!("{:.2}", s.rmse.unwrap_or(f64::NAN)),
                pct(s.directional_accuracy),
                p(s.dm_pvalue_vs_baseline),
            ]
        },
    );
    section(
        &mut out,
        "Price, random walk ± intervals (DM: pinball loss vs rolling_mean_rv_intervals)",
        &["cover 50%", "cover 80%", "cover 95%", "pinball", "DM p"],
        scores,
        |s| s.coverage_80.is_some(),
        |s| {
            vec![
                pct(s.coverage_50),
                pct(s.coverage_80),
                pct(s.coverage_95),
                format!("{:.3}", s.pinball.unwrap_or(f64::NAN)),
                p(s.dm_pvalue_vs_baseline),
            ]
        },
    );
    out
}
