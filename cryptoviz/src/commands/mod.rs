//! One file per subcommand.

pub mod bench;
pub mod consume;
pub mod dlq;
pub mod import;
pub mod log;
pub mod openapi;
pub mod produce;
pub mod replay;
pub mod run;
pub mod sentiment_eval;
pub mod serve;
