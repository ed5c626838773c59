//! The backtest as one self-contained HTML page: the score table and three inline SVG plots
//! (forecast vs realised volatility, interval hits and misses over time, calibration). No
//! script, no external file: it can be mailed, archived or opened offline.

use std::fmt::Write;

use crate::backtest::{Backtest, VolModel};
use crate::evaluate::{INTERVAL_MODELS, ModelScore, coverage};
use crate::intervals::{LEVELS, price_intervals};
use crate::svg::{Chart, escape, range};

const COLORS: [(VolModel, &str); 6] = [
    (VolModel::LastRv, "#bbbbbb"),
    (VolModel::RollingMeanRv, "#8c564b"),
    (VolModel::Ewma, "#2ca02c"),
    (VolModel::Garch, "#1f77b4"),
    (VolModel::Har, "#ff7f0e"),
    (VolModel::LogHar, "#9467bd"),
];

fn color(m: VolModel) -> &'static str {
    COLORS
        .iter()
        .find(|(c, _)| *c == m)
        .map_or("#000", |(_, c)| c)
}

/// `YYYY-MM-DD HH:MM` (UTC) of `ms` since the epoch (Howard Hinnant's civil-from-days).
pub(crate) fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

fn cell(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.digits$e}"))
}

fn table(scores: &[ModelScore]) -> String {
    let mut s = String::from(
        "<table><tr><th>model</th><th>target</th><th>baseline</th><th>QLIKE</th><th>MSE</th>\
         <th>MAE</th><th>RMSE</th><th>direction</th><th>cov. 50</th><th>cov. 80</th>\
         <th>cov. 95</th><th>pinball</th><th>DM p vs baseline</th></tr>\n",
    );
    for m in scores {
        let pct = |v: Option<f64>| v.map_or_else(|| "—".into(), |v| format!("{:.1} %", v * 100.0));
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{:?}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&m.name),
            m.target,
            if m.baseline { "yes" } else { "" },
            cell(m.qlike, 3),
            cell(m.mse, 3),
            cell(m.mae, 3),
            cell(m.rmse, 3),
            pct(m.directional_accuracy),
            pct(m.coverage_50),
            pct(m.coverage_80),
            pct(m.coverage_95),
            cell(m.pinball, 3),
            m.dm_pvalue_vs_baseline
                .map_or_else(|| "—".into(), |p| format!("{p:.3}")),
        );
    }
    s.push_str("</table>\n");
    s
}

/// Forecast vs realised volatility (√variance, % per period) over time.
fn volatility_plot(bt: &Backtest) -> String {
    let rows = &bt.rows;
    let t = |i: usize| rows[i].issued.issued_ms as f64;
    let pct = |v: f64| v.max(0.0).sqrt() * 100.0;
    let realised: Vec<(f64, f64)> = (0..rows.len())
        .map(|i| (t(i), pct(rows[i].realised_variance)))
        .collect();
    let models = [
        VolModel::Ewma,
        VolModel::Garch,
        VolModel::Har,
        VolModel::LogHar,
    ];
    let y = range(
        realised.iter().map(|p| p.1).chain(
            rows.iter()
                .flat_map(|r| models.map(|m| pct(r.issued.variance[m as usize]))),
        ),
    );
    let mut c = Chart::new(range(realised.iter().map(|p| p.0)), (0.0_f64.max(y.0), y.1));
    c.line(&realised, "#999999", 1.0);
    let mut legend = vec![("realised", "#999999")];
    for m in models {
        let pts: Vec<(f64, f64)> = (0..rows.len())
            .map(|i| (t(i), pct(rows[i].issued.variance[m as usize])))
            .collect();
        c.line(&pts, color(m), 1.5);
        legend.push((m.name(), color(m)));
    }
    c.finish(|x| utc(x as i64), |y| format!("{y:.2} %"), &legend)
}

/// The best volatility model by QLIKE (baselines excluded).
fn best_model(scores: &[ModelScore]) -> VolModel {
    VolModel::ALL
        .into_iter()
        .filter(|m| !m.is_baseline())
        .min_by(|a, b| {
            let q = |m: &VolModel| {
                scores
                    .iter()
                    .find(|s| s.name == m.name())
                    .and_then(|s| s.qlike)
                    .unwrap_or(f64::INFINITY)
            };
            q(a).total_cmp(&q(b))
        })
        .unwrap_or(VolModel::Garch)
}

/// Realised returns against the model's 80 % and 95 % bands; misses in colour.
fn hits_plot(bt: &Backtest, m: VolModel) -> String {
    let rows = &bt.rows;
    let mut lower = [Vec::new(), Vec::new()];
    let mut upper = [Vec::new(), Vec::new()];
    let mut dots = Vec::new();
    for r in rows {
        let x = r.issued.issued_ms as f64;
        let ret = |p: f64| (p / r.issued.price).ln() * 100.0;
        let intervals = price_intervals(r.issued.price, r.issued.variance[m as usize]);
        for (k, i) in [intervals[1], intervals[2]].into_iter().enumerate() {
            lower[k].push((x, ret(i.lower)));
            upper[k].push((x, ret(i.upper)));
        }
        let (color, label) = if !intervals[2].covers(r.realised_price) {
            ("#d62728", "outside 95 %")
        } else if !intervals[1].covers(r.realised_price) {
            ("#ff7f0e", "outside 80 %")
        } else {
            ("#555555", "inside 80 %")
        };
        dots.push((x, ret(r.realised_price), color, label, r.issued.issued_ms));
    }
    let y = range(
        dots.iter()
            .map(|d| d.1)
            .chain(upper[1].iter().map(|p| p.1))
            .chain(lower[1].iter().map(|p| p.1)),
    );
    let mut c = Chart::new(range(dots.iter().map(|d| d.0)), y);
    c.band(&lower[1], &upper[1], "#9ecae1");
    c.band(&lower[0], &upper[0], "#3182bd");
    for (x, y, color, label, ms) in dots {
        c.dot(x, y, 2.0, color, &format!("{} {y:.3} % ({label})", utc(ms)));
    }
    c.finish(
        |x| utc(x as i64),
        |y| format!("{y:.2} %"),
        &[
            ("80 % band", "#3182bd"),
            ("95 % band", "#9ecae1"),
            ("outside 80 %", "#ff7f0e"),
            ("outside 95 %", "#d62728"),
        ],
    )
}

/// Nominal vs observed coverage per interval model, with the diagonal.
fn calibration_plot(bt: &Backtest) -> String {
    let mut c = Chart::new((0.4, 1.0), (0.0, 1.0));
    c.line(&[(0.4, 0.4), (1.0, 1.0)], "#999999", 1.0);
    let mut legend = vec![("nominal = observed", "#999999")];
    for m in INTERVAL_MODELS {
        let observed = coverage(&bt.rows, m);
        let pts: Vec<(f64, f64)> = LEVELS
            .iter()
            .zip(observed)
            .filter_map(|(&l, o)| o.map(|o| (l, o)))
            .collect();
        c.line(&pts, color(m), 1.5);
        for &(l, o) in &pts {
            c.dot(
                l,
                o,
                3.5,
                color(m),
                &format!(
                    "{}: nominal {:.0} %, observed {:.1} %",
                    m.name(),
                    l * 100.0,
                    o * 100.0
                ),
            );
        }
        legend.push((m.name(), color(m)));
    }
    c.finish(
        |x| format!("{:.0} %", x * 100.0),
        |y| format!("{:.0} %", y * 100.0),
        &legend,
    )
}

/// The report page for `backtest` of `coin`, with its `scores`.
pub fn html(coin: &str, backtest: &Backtest, scores: &[ModelScore]) -> String {
    let rows = &backtest.rows;
    let span = match (rows.first(), rows.last()) {
        (Some(a), Some(b)) => format!(
            "{} – {} UTC",
            utc(a.issued.issued_ms),
            utc(b.issued.issued_ms)
        ),
        _ => "no scored forecast".into(),
    };
    let best = best_model(scores);
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Backtest: {coin} {h}</title><style>\
         body{{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse;font-size:12px}}td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}\
         td:first-child{{text-align:left}}</style></head><body>\n\
         <h1>Backtest: {coin}, {h} horizon</h1>\n\
         <p>{n} walk-forward forecasts issued {span} ({u} periods not scored: incomplete or \
         without trades). Each forecast saw only candles before its issue time \
         ({w:?} window). Volatility is the variance of the period's log return, scored on \
         the realised variance of 1-minute returns; DM p-values test each model against its \
         baseline (last_rv; random_walk; rolling_mean_rv_intervals).</p>\n<h2>Scores</h2>\n{t}\
         <h2>Forecast vs realised volatility (√variance per period)</h2>\n{v}\
         <h2>Interval hits and misses: {b}</h2>\n<p>Realised log return of each period \
         against the {b} 80 % and 95 % bands.</p>\n{hits}\
         <h2>Calibration: nominal vs observed coverage</h2>\n{cal}</body></html>\n",
        coin = escape(coin),
        h = backtest.config.horizon,
        n = rows.len(),
        u = backtest.unscored,
        w = backtest.config.window,
        t = table(scores),
        v = volatility_plot(backtest),
        b = best.name(),
        hits = hits_plot(backtest, best),
        cal = calibration_plot(backtest),
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00");
        assert_eq!(utc(1_677_628_800_000), "2023-03-01 00:00");
        assert_eq!(utc(1_678_449_600_000 + 90 * 60_000), "2023-03-10 13:30");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00");
    }
}
