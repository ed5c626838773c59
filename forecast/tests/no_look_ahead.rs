//! No look-ahead: perturbing the candles at or after a forecast's issue time never changes
//! that forecast (nor any earlier one).

mod common;

use common::{MINUTE, simulated};
use cryptoviz_forecast::backtest::{self, Config, Horizon, Window};
use cryptoviz_forecast::{Candles, Error};

/// `candles` with every close at or after `from_ms` scaled by a wild factor.
fn perturbed(candles: &Candles, from_ms: i64) -> Candles {
    let closes = candles
        .times_ms()
        .iter()
        .zip(candles.closes())
        .enumerate()
        .map(|(i, (&t, &c))| {
            if t >= from_ms {
                c * (1.5 + (i % 7) as f64 * 0.3)
            } else {
                c
            }
        })
        .collect();
    Candles::new(candles.times_ms().to_vec(), closes).unwrap()
}

fn check(config: Config) {
    let candles = simulated(4, 11);
    let base = backtest::run(&candles, &config).unwrap();
    assert!(base.rows.len() > 20, "{} forecasts", base.rows.len());
    for cut in [
        0,
        base.rows.len() / 3,
        base.rows.len() / 2,
        base.rows.len() - 1,
    ] {
        let issued_ms = base.rows[cut].issued.issued_ms;
        let changed = backtest::run(&perturbed(&candles, issued_ms), &config).unwrap();
        for (a, b) in base.rows.iter().zip(&changed.rows).take(cut + 1) {
            assert_eq!(
                a.issued, b.issued,
                "forecast at {} changed",
                a.issued.issued_ms
            );
        }
        // The perturbation is real: the outcome of the cut period changed.
        assert_ne!(
            base.rows[cut].realised_price,
            changed.rows[cut].realised_price
        );
        // And it reaches later forecasts, so the test would see a leak.
        if cut + 1 < base.rows.len() {
            assert_ne!(base.rows[cut + 1].issued, changed.rows[cut + 1].issued);
        }
    }
}

#[test]
fn expanding_window_never_sees_the_future() {
    check(Config::new(Horizon::Hour));
}

#[test]
fn rolling_window_never_sees_the_future() {
    check(Config {
        window: Window::Rolling(40),
        ..Config::new(Horizon::Hour)
    });
}

#[test]
fn the_last_candle_before_the_issue_time_is_used() {
    // Changing only the candle just before the issue time changes the forecast.
    let candles = simulated(3, 5);
    let config = Config::new(Horizon::Hour);
    let base = backtest::run(&candles, &config).unwrap();
    let issued_ms = base.rows[5].issued.issued_ms;
    let closes: Vec<f64> = candles
        .times_ms()
        .iter()
        .zip(candles.closes())
        .map(|(&t, &c)| if t == issued_ms - MINUTE { c * 1.01 } else { c })
        .collect();
    let changed = backtest::run(
        &Candles::new(candles.times_ms().to_vec(), closes).unwrap(),
        &config,
    )
    .unwrap();
    assert_eq!(base.rows[4].issued, changed.rows[4].issued);
    assert_ne!(base.rows[5].issued.price, changed.rows[5].issued.price);
}

#[test]
fn too_little_history_is_an_error_naming_the_need() {
    let candles = simulated(3, 5);
    let err = backtest::run(&candles, &Config::new(Horizon::Day)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooFewRows {
                needed: 35,
                got: 3,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("1d backtest"), "{err}");
    let err = backtest::run(
        &candles,
        &Config {
            window: Window::Rolling(10),
            ..Config::new(Horizon::Hour)
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("window"), "{err}");
}
