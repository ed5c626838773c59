//! The API's replay jobs run the consumers' replay: the [`ReplayRunner`] this binary injects
//! into the API (which does not depend on the consumers).

use std::sync::Arc;

use cryptoviz_api::replays::{ReplayRunner, RunningReplay};
use cryptoviz_consumers::ConsumerConfig;
use cryptoviz_consumers::replay::{self, ReplaySpec};
use cryptoviz_log::Log;
use cryptoviz_store::Store;
use tokio_util::sync::CancellationToken;

/// Replays with the consumers configured by `consumer` (its group names the replay groups;
/// lateness, flushing and detectors as configured).
pub(crate) struct ConsumerReplays {
    consumer: ConsumerConfig,
}

impl ConsumerReplays {
    /// A runner for the API's [`cryptoviz_api::AppState::with_replays`].
    pub(crate) fn shared(consumer: ConsumerConfig) -> Arc<dyn ReplayRunner> {
        Arc::new(Self { consumer })
    }
}

impl ReplayRunner for ConsumerReplays {
    fn start(
        &self,
        log: Arc<dyn Log>,
        store: Arc<dyn Store>,
        spec: ReplaySpec,
        cancel: CancellationToken,
    ) -> RunningReplay {
        let (progress, done) = replay::start(log, store, self.consumer.clone(), spec, cancel);
        RunningReplay {
            progress: Box::new(progress),
            done: Box::pin(done),
        }
    }
}
