//! The backtest on three weeks of real Binance.US BTC/USDT 1-minute candles (March 2023, the
//! USDC de-peg inside), from the shared fixtures: at least one volatility model beats the
//! naive baseline on QLIKE, and the figures of docs/forecasting.md are reproduced.

use cryptoviz_forecast::backtest::{self, Config, Horizon, Row, VolModel};
use cryptoviz_forecast::evaluate::coverage;
use cryptoviz_forecast::{Candles, ModelScore, evaluate};

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/history/binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv"
);

/// Days since 1970-01-01 of a civil date (Howard Hinnant's days-from-civil).
fn days(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The candles of the file (`2023-03-01 00:00:00+00:00,open,high,low,close,volume`), or
/// `None` with a message when it is absent.
fn load() -> Option<Candles> {
    let Ok(text) = std::fs::read_to_string(FILE) else {
        eprintln!("skipped: {FILE} is absent");
        return None;
    };
    let (mut times, mut closes) = (Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let n = |s: &str| s.parse::<i64>().unwrap();
        let t = f[0];
        let d = days(n(&t[0..4]), n(&t[5..7]), n(&t[8..10]));
        let secs = d * 86_400 + n(&t[11..13]) * 3600 + n(&t[14..16]) * 60 + n(&t[17..19]);
        times.push(secs * 1000);
        closes.push(f[4].parse::<f64>().unwrap());
    }
    Some(Candles::new(times, closes).unwrap())
}

fn score<'a>(scores: &'a [ModelScore], name: &str) -> &'a ModelScore {
    scores.iter().find(|s| s.name == name).unwrap()
}

/// Relative difference within 1e-6 (the figures are printed to 3–4 digits in the docs).
fn close(got: Option<f64>, want: f64) -> bool {
    got.is_some_and(|g| ((g - want) / want).abs() < 1e-6)
}

#[test]
fn volatility_models_beat_the_naive_baseline_on_real_candles() {
    let Some(candles) = load() else { return };
    assert_eq!(candles.len(), 30_240);
    let bt = backtest::run(&candles, &Config::new(Horizon::Hour)).unwrap();
    assert_eq!((bt.rows.len(), bt.unscored), (468, 0));
    let scores = evaluate(&bt);

    // QLIKE per volatility forecast (docs/forecasting.md, results table).
    let naive = score(&scores, "last_rv").qlike.unwrap();
    for (name, qlike) in [
        ("last_rv", 0.580_204_277_6),
        ("rolling_mean_rv", 0.567_733_916_8),
        ("ewma", 0.719_186_532_6),
        ("garch", 0.856_543_089_8),
        ("har", 0.629_530_003_5),
        ("har_log", 0.422_941_888_4),
    ] {
        let got = score(&scores, name).qlike;
        assert!(close(got, qlike), "{name}: QLIKE {got:?}, pinned {qlike}");
    }
    let best = scores
        .iter()
        .filter(|s| !s.baseline && s.qlike.is_some())
        .min_by(|a, b| a.qlike.unwrap().total_cmp(&b.qlike.unwrap()))
        .unwrap();
    assert!(
        best.qlike.unwrap() < naive,
        "no model beats last_rv: {best:?}"
    );
    // And significantly so.
    assert!(best.dm_pvalue_vs_baseline.unwrap() < 0.01, "{best:?}");

    // Point forecasts do not beat the random walk.
    let walk = score(&scores, "random_walk");
    assert!(close(walk.mae, 106.131_474_358_97));
    assert!(close(walk.rmse, 30_579.004_531_837_607_f64.sqrt()));
    for name in ["drift", "ar1"] {
        let s = score(&scores, name);
        assert!(s.mse.unwrap() > walk.mse.unwrap(), "{s:?}");
        assert!(s.dm_pvalue_vs_baseline.unwrap() > 0.1, "{s:?}");
    }
    assert!(close(
        score(&scores, "drift").directional_accuracy,
        0.514_957_264_957
    ));

    // Interval coverage (80 %, 95 %).
    for (name, c80, c95) in [
        (
            "rolling_mean_rv_intervals",
            0.863_247_863_2,
            0.938_034_188_0,
        ),
        ("ewma_intervals", 0.852_564_102_6, 0.931_623_931_6),
        ("garch_intervals", 0.837_606_837_6, 0.933_760_683_8),
        ("har_intervals", 0.861_111_111_1, 0.933_760_683_8),
        ("har_log_intervals", 0.858_974_359_0, 0.944_444_444_4),
    ] {
        let s = score(&scores, name);
        assert!(close(s.coverage_80, c80), "{name}: {s:?}");
        assert!(close(s.coverage_95, c95), "{name}: {s:?}");
    }
}

#[test]
fn the_hour_of_day_adjustment_helps_har_in_levels() {
    let Some(candles) = load() else { return };
    let config = Config {
        diurnal: true,
        ..Config::new(Horizon::Hour)
    };
    let scores = evaluate(&backtest::run(&candles, &config).unwrap());
    for (name, qlike) in [
        ("ewma", 0.675_020_333_5),
        ("garch", 0.877_238_536_1),
        ("har", 0.481_367_213_0),
        ("har_log", 0.450_029_334_8),
    ] {
        let got = score(&scores, name).qlike;
        assert!(close(got, qlike), "{name}: QLIKE {got:?}, pinned {qlike}");
    }
    let s = score(&scores, "garch_intervals");
    assert!(close(s.coverage_95, 0.895_299_145_3), "{s:?}");
}

#[test]
fn intervals_under_cover_in_the_usdc_depeg_days() {
    let Some(candles) = load() else { return };
    let bt = backtest::run(&candles, &Config::new(Horizon::Hour)).unwrap();
    // 10–13 March 2023: SVB fails, USDC loses its peg and regains it.
    let depeg = days(2023, 3, 10) * 86_400_000..days(2023, 3, 14) * 86_400_000;
    let (inside, outside): (Vec<Row>, Vec<Row>) = bt
        .rows
        .iter()
        .partition(|r| depeg.contains(&r.issued.issued_ms));
    assert_eq!(inside.len(), 96);
    // Observed coverage (50, 80, 95 %) in those 96 hours and in the 372 others.
    for (m, in_depeg, elsewhere) in [
        (
            VolModel::RollingMeanRv,
            [0.614_583_3, 0.802_083_3, 0.885_416_7],
            [0.647_849_5, 0.879_032_3, 0.951_612_9],
        ),
        (
            VolModel::Ewma,
            [0.687_5, 0.833_333_3, 0.895_833_3],
            [0.653_225_8, 0.857_526_9, 0.940_860_2],
        ),
        (
            VolModel::Garch,
            [0.583_333_3, 0.781_25, 0.885_416_7],
            [0.658_602_2, 0.852_150_5, 0.946_236_6],
        ),
        (
            VolModel::Har,
            [0.625, 0.760_416_7, 0.875],
            [0.674_731_2, 0.887_096_8, 0.948_924_7],
        ),
        (
            VolModel::LogHar,
            [0.625, 0.781_25, 0.895_833_3],
            [0.666_666_7, 0.879_032_3, 0.956_989_2],
        ),
    ] {
        let near = |got: [Option<f64>; 3], want: [f64; 3]| {
            got.iter()
                .zip(want)
                .all(|(g, w)| (g.unwrap() - w).abs() < 1e-6)
        };
        let got = coverage(&inside, m);
        assert!(near(got, in_depeg), "{}: {got:?}", m.name());
        let got = coverage(&outside, m);
        assert!(near(got, elsewhere), "{}: {got:?}", m.name());
    }
}
