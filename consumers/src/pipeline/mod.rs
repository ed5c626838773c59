//! The consumers' loop: poll → process → write → commit, shared by both consumer groups.
//!
//! A consumer is a `driver::Driver` around an operator (`driver::Operator`), in the manner
//! of Arroyo's operators: the driver owns the log consumer, polls, dead-letters, delivers and
//! commits; the operator turns a polled batch into buffered outputs (`process_batch`), moves
//! event time on when nothing arrives (`handle_watermark`), hands its outputs over with the
//! offsets they cover (`handle_checkpoint`), and rebuilds its state from the committed offsets
//! of a new assignment (`restore`). There are two operators:
//!
//! - [`prices`]: `crypto-prices` → raw ingest and event-time windows, whose commits carry the
//!   watermark state ([`crate::checkpoint`]);
//! - [`trades`]: `crypto-trades` → raw trades and trade candles, with the same windows and
//!   checkpoints as the prices (both hold a `windowed::Windowed` state, generic over what
//!   a window aggregates);
//! - [`records`]: `crypto-news` and `crypto-market-sentiment`, not windowed, written and
//!   committed poll by poll.
//!
//! Layout: `config` (the `[consumer]` section, [`ConsumerConfig`]), `driver` (the operator
//! trait, the step, start, run and recovery), `delivery` (dead letters and the store write with
//! retry), `commit` (a write in flight, the commit that waits for it, the checkpoint's store
//! copy for logs that drop commit metadata).
//!
//! The rule throughout: never commit an offset before the store has acknowledged what the
//! records below it produced. A crash at any point replays from the last commit, and the
//! idempotent store rewrites the same points (see `docs/architecture.md`).

use std::sync::Arc;

use cryptoviz_log::Log;
use cryptoviz_store::Store;

use crate::replay::ReplayBounds;
use crate::stats::ConsumerStats;

pub(crate) mod commit;
mod config;
pub(crate) mod delivery;
pub(crate) mod driver;
pub mod prices;
pub mod records;
pub mod trades;
mod windowed;

pub use config::ConsumerConfig;
pub use prices::{PricePipeline, WINDOW_1M};
pub use records::RecordsPipeline;
pub use trades::TradePipeline;

/// What every part of a consumer sees: where it reads from and writes to, and who it is.
pub(crate) struct Context {
    /// The log, for dead letters (the driver holds the group's consumer itself).
    pub log: Arc<dyn Log>,
    pub store: Arc<dyn Store>,
    pub stats: Arc<ConsumerStats>,
    /// The consumer group.
    pub group: String,
    /// `consumer:<group>`, for the logs and the dead letters' origin.
    pub name: String,
    /// Set for a replay: read these bounds instead of resuming from the committed offsets.
    pub replay: Option<ReplayBounds>,
}

impl Context {
    pub(crate) fn new(
        log: Arc<dyn Log>,
        store: Arc<dyn Store>,
        stats: Arc<ConsumerStats>,
        group: &str,
        replay: Option<ReplayBounds>,
    ) -> Self {
        Self {
            log,
            store,
            stats,
            group: group.to_string(),
            name: format!("consumer:{group}"),
            replay,
        }
    }
}
