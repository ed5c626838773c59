//! Forecasts of what can be forecast in a market — volatility, and price ranges from it —
//! with walk-forward backtests against naive baselines.
//!
//! Input: candles of one series ([`Candles`], from a history file or the store). They are
//! grouped into periods of the horizon (1 hour or 1 day) with their realised variance
//! ([`realized`]). Output: per period, forecasts of the next period's variance by EWMA
//! ([`ewma`]), GARCH(1,1) ([`garch`]) and HAR-RV ([`har`]) beside the naive [`baselines`];
//! the random walk and two challengers for the price ([`point`]); 50/80/95 % price
//! intervals from each variance forecast ([`intervals`]). The [`backtest`] driver issues
//! them walk-forward without look-ahead; [`evaluate`](mod@evaluate) scores them ([`scores`], [`dm`]) and
//! [`report`] draws a self-contained HTML page. `cryptoviz backtest` is the command line.
//!
//! Layout: one file per component; [`normal`], [`nelder_mead`] and [`ols`] are the small
//! numerical pieces the models need, hand-written to keep the crate free of heavy
//! dependencies.

pub mod backtest;
pub mod baselines;
pub mod diurnal;
pub mod dm;
mod error;
pub mod evaluate;
pub mod ewma;
pub mod garch;
pub mod har;
pub mod intervals;
mod nelder_mead;
pub mod normal;
mod ols;
pub mod point;
pub mod realized;
pub mod report;
pub mod scores;
mod svg;

pub use backtest::{Backtest, Config, Horizon, Window};
pub use error::{Error, Result};
pub use evaluate::{ModelScore, Target, evaluate};
pub use realized::Candles;
