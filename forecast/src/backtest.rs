//! The walk-forward backtest: every model and baseline forecasts each period from the
//! periods before it, and is scored on what happened.
//!
//! The candles are grouped into periods of the horizon ([`realized::periods`]). The forecast
//! for period k is issued at its start and sees only periods before k (all of them with
//! [`Window::Expanding`], the last n with [`Window::Rolling`]): the slice handed to the models
//! ends before the issue time, so nothing later can reach them (a test perturbs the future
//! and checks). GARCH is re-estimated every [`Horizon::refit_every`] periods, from several
//! starting points and its previous fit, and filtered through the newest returns at every
//! forecast, as a live system would run it. With [`Config::diurnal`] (off by default), the
//! models see hourly RV and returns divided by the hour-of-day pattern of the window
//! ([`crate::diurnal`]) and their forecasts are multiplied back by the pattern of the
//! forecast hour; the baselines see raw RV. A period is scored when it is complete and had trades (realised
//! variance > 0); the first [`Config::warmup`] periods only train.

use std::fmt;
use std::str::FromStr;

use crate::baselines::{last_rv, random_walk, rolling_mean_rv};
use crate::diurnal::Diurnal;
use crate::error::{Error, Result, need};
use crate::ewma::{RISKMETRICS_LAMBDA, ewma};
use crate::garch::{Garch, initial_variance};
use crate::har::{self, Har, HarLags, LogHar};
use crate::point::{ar1, drift};
use crate::realized::{self, Candles, Period};

/// How far ahead a forecast looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Horizon {
    /// The next UTC hour.
    Hour,
    /// The next UTC day.
    Day,
}

impl Horizon {
    /// The period width in ms.
    pub fn width_ms(self) -> i64 {
        match self {
            Horizon::Hour => 3_600_000,
            Horizon::Day => 86_400_000,
        }
    }

    /// `1h` or `1d`.
    pub fn name(self) -> &'static str {
        match self {
            Horizon::Hour => "1h",
            Horizon::Day => "1d",
        }
    }

    /// HAR-RV's lags at this horizon.
    pub fn har_lags(self) -> HarLags {
        match self {
            Horizon::Hour => HarLags::HOURLY,
            Horizon::Day => HarLags::DAILY,
        }
    }

    /// Periods between two GARCH re-estimations (daily, like a desk's overnight refit).
    pub fn refit_every(self) -> usize {
        match self {
            Horizon::Hour => 24,
            Horizon::Day => 1,
        }
    }
}

impl fmt::Display for Horizon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Horizon {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "1h" => Ok(Horizon::Hour),
            "1d" => Ok(Horizon::Day),
            _ => Err(Error::InvalidParameter {
                name: "horizon",
                reason: format!("`{s}` is not one of 1h, 1d"),
            }),
        }
    }
}

/// Which past periods a forecast is fitted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Every period before the issue time.
    Expanding,
    /// The last n periods before the issue time.
    Rolling(usize),
}

/// The backtest's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// The horizon.
    pub horizon: Horizon,
    /// The fit window.
    pub window: Window,
    /// EWMA's decay.
    pub ewma_lambda: f64,
    /// Whether the models see hourly RV and returns adjusted for the hour of day
    /// ([`crate::diurnal`]); no effect on daily periods.
    pub diurnal: bool,
}

impl Config {
    /// Expanding window, RiskMetrics' λ, no hour-of-day adjustment (on the real history it
    /// helped HAR-RV in levels and EWMA but hurt the best model, log HAR-RV, and the 95 %
    /// coverage: docs/forecasting.md).
    pub fn new(horizon: Horizon) -> Self {
        Self {
            horizon,
            window: Window::Expanding,
            ewma_lambda: RISKMETRICS_LAMBDA,
            diurnal: false,
        }
    }

    /// Periods of history before the first forecast: what HAR-RV needs to fit.
    pub fn warmup(&self) -> usize {
        self.horizon.har_lags().long + har::MIN_ROWS
    }
}

/// The volatility forecasts, in the order of [`Issued::variance`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolModel {
    /// Baseline: the last period's realised variance.
    LastRv,
    /// Baseline: the mean realised variance of the last HAR-medium periods.
    RollingMeanRv,
    /// RiskMetrics EWMA of period returns.
    Ewma,
    /// GARCH(1,1) of period returns.
    Garch,
    /// HAR-RV of realised variance.
    Har,
    /// HAR-RV in logs.
    LogHar,
}

impl VolModel {
    /// Every volatility forecast, baselines first.
    pub const ALL: [VolModel; 6] = [
        VolModel::LastRv,
        VolModel::RollingMeanRv,
        VolModel::Ewma,
        VolModel::Garch,
        VolModel::Har,
        VolModel::LogHar,
    ];

    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            VolModel::LastRv => "last_rv",
            VolModel::RollingMeanRv => "rolling_mean_rv",
            VolModel::Ewma => "ewma",
            VolModel::Garch => "garch",
            VolModel::Har => "har",
            VolModel::LogHar => "har_log",
        }
    }

    /// Whether it is a naive baseline.
    pub fn is_baseline(self) -> bool {
        matches!(self, VolModel::LastRv | VolModel::RollingMeanRv)
    }
}

/// The point forecasts of the price, in the order of [`Issued::point`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointModel {
    /// Baseline: no change.
    RandomWalk,
    /// The random walk with the window's mean return.
    Drift,
    /// AR(1) of period returns.
    Ar1,
}

impl PointModel {
    /// Every point forecast, the baseline first.
    pub const ALL: [PointModel; 3] = [PointModel::RandomWalk, PointModel::Drift, PointModel::Ar1];

    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            PointModel::RandomWalk => "random_walk",
            PointModel::Drift => "drift",
            PointModel::Ar1 => "ar1",
        }
    }
}

/// The forecasts issued at the start of one period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Issued {
    /// Issue time = start of the forecast period, ms since the epoch.
    pub issued_ms: i64,
    /// The last close before the issue time.
    pub price: f64,
    /// Variance of the period's log return, per [`VolModel::ALL`].
    pub variance: [f64; 6],
    /// Price at the period's end, per [`PointModel::ALL`].
    pub point: [f64; 3],
}

/// One scored forecast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    /// What was forecast.
    pub issued: Issued,
    /// The period's realised variance.
    pub realised_variance: f64,
    /// The last close of the period.
    pub realised_price: f64,
}

/// A finished backtest.
#[derive(Debug, Clone, PartialEq)]
pub struct Backtest {
    /// The settings.
    pub config: Config,
    /// The scored forecasts, in time order.
    pub rows: Vec<Row>,
    /// Forecasts not scored (their period incomplete or without trades).
    pub unscored: usize,
    /// The last GARCH fit.
    pub garch: Garch,
}

/// What the models see of the history: RV and returns, adjusted for the hour of day when
/// [`Config::diurnal`] is set (the baselines always see the raw RV).
struct Inputs {
    diurnal: Diurnal,
    rv: Vec<f64>,
    returns: Vec<f64>,
}

impl Inputs {
    fn new(history: &[Period], config: &Config) -> Self {
        let width = config.horizon.width_ms();
        let diurnal = if config.diurnal {
            Diurnal::estimate(history, width)
        } else {
            Diurnal::flat(width)
        };
        let returns = history
            .iter()
            .map(|p| p.ret / diurnal.factor(p.start_ms).sqrt())
            .collect();
        Self {
            rv: diurnal.adjust(history),
            returns,
            diurnal,
        }
    }
}

/// The forecasts for the period after `history`, GARCH with parameters `garch`.
fn issue(history: &[Period], issued_ms: i64, garch: &Garch, config: &Config) -> Result<Issued> {
    let rv: Vec<f64> = history.iter().map(|p| p.rv).collect();
    let returns: Vec<f64> = history.iter().map(|p| p.ret).collect();
    let closes: Vec<f64> = history.iter().map(|p| p.close).collect();
    let lags = config.horizon.har_lags();
    let price = random_walk(&closes)?;
    let inputs = Inputs::new(history, config);
    let (adj_rv, adj_returns) = (&inputs.rv, &inputs.returns);
    let season = inputs.diurnal.factor(issued_ms);
    Ok(Issued {
        issued_ms,
        price,
        variance: [
            last_rv(&rv)?,
            rolling_mean_rv(&rv, lags.medium)?,
            ewma(adj_returns, config.ewma_lambda)? * season,
            garch.next_variance(adj_returns, initial_variance(adj_returns)) * season,
            Har::fit(adj_rv, lags)?.forecast(adj_rv) * season,
            LogHar::fit(adj_rv, lags)?.forecast(adj_rv) * season,
        ],
        point: [price, drift(price, &returns)?, ar1(price, &returns)?],
    })
}

/// Runs the walk-forward backtest over `candles`.
pub fn run(candles: &Candles, config: &Config) -> Result<Backtest> {
    let periods = realized::periods(candles, config.horizon.width_ms());
    let warmup = config.warmup();
    if let Window::Rolling(n) = config.window
        && n < warmup
    {
        return Err(Error::InvalidParameter {
            name: "window",
            reason: format!(
                "a rolling window of {n} periods is shorter than the warm-up ({warmup})"
            ),
        });
    }
    need(
        || {
            format!(
                "the {} backtest ({warmup} periods of warm-up + 1 to forecast; periods)",
                config.horizon
            )
        },
        warmup + 1,
        periods.len(),
    )?;
    let mut rows = Vec::new();
    let mut unscored = 0;
    let mut garch: Option<Garch> = None;
    for k in warmup..periods.len() {
        let lo = match config.window {
            Window::Expanding => 0,
            Window::Rolling(n) => k - n.min(k),
        };
        let history = &periods[lo..k];
        if (k - warmup).is_multiple_of(config.horizon.refit_every()) {
            let inputs = Inputs::new(history, config);
            garch = Some(Garch::fit(&inputs.returns, garch.as_ref())?.model);
        }
        let model = garch.as_ref().expect("fitted at the first forecast");
        let issued = issue(history, periods[k].start_ms, model, config)?;
        let target = &periods[k];
        if target.complete && target.candles > 0 && target.rv > 0.0 {
            rows.push(Row {
                issued,
                realised_variance: target.rv,
                realised_price: target.close,
            });
        } else {
            unscored += 1;
        }
    }
    Ok(Backtest {
        config: *config,
        rows,
        unscored,
        garch: garch.expect("at least one forecast"),
    })
}
