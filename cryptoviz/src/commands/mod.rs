//! One file per subcommand.

pub(crate) mod backtest;
pub(crate) mod bench;
pub(crate) mod bench_trades;
pub(crate) mod consume;
pub(crate) mod dlq;
pub(crate) mod import;
pub(crate) mod log;
pub(crate) mod openapi;
pub(crate) mod produce;
pub(crate) mod replay;
pub(crate) mod run;
pub(crate) mod sentiment_eval;
pub(crate) mod serve;
