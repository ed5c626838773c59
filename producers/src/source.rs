//! The source trait and the status every source reports.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::http::BreakerState;
use crate::{Publisher, Result};

/// Everything a running source needs: where to publish and when to stop.
#[derive(Clone)]
pub struct SourceContext {
    /// Cancelled when the process shuts down; a source returns promptly after it fires.
    pub shutdown: CancellationToken,
    /// Validates, encodes and appends records (and dead-letters the bad ones).
    pub publisher: Publisher,
}

/// A producer of market records (Arroyo's `SourceOperator`, Vector's source).
#[async_trait::async_trait]
pub trait Source: Send {
    /// Stable, low-cardinality name, e.g. `simulated` or `coingecko`.
    fn name(&self) -> &str;
    /// Runs until `ctx.shutdown` is cancelled. Upstream failures are reported through the
    /// publisher's status, not returned: an error here means the source cannot go on at all.
    async fn run(&mut self, ctx: SourceContext) -> Result<()>;
}

/// Live counters of one source, shared with the API.
#[derive(Debug, Default)]
pub struct SourceStatus {
    name: String,
    published: AtomicU64,
    rejected: AtomicU64,
    last_success_ms: AtomicU64,
    last_error: Mutex<Option<(i64, String)>>,
    breaker: Mutex<Option<BreakerState>>,
}

/// A point-in-time copy of a [`SourceStatus`].
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StatusSnapshot {
    /// Source name.
    pub name: String,
    /// Records appended to their topic.
    pub published: u64,
    /// Records that failed validation and went to the DLQ.
    pub rejected: u64,
    /// Wall-clock time (ms since the epoch) of the last successful publish, if any.
    pub last_success_ms: Option<i64>,
    /// Wall-clock time and message of the last error, if any.
    pub last_error: Option<(i64, String)>,
    /// Circuit breaker of an HTTP agent (`closed`, `open`, `half-open`); `None` for sources
    /// without one (the simulator).
    pub breaker: Option<BreakerState>,
}

impl SourceStatus {
    /// A fresh status for source `name`.
    pub fn new(name: impl Into<String>) -> Arc<Self> {
        Arc::new(Self {
            name: name.into(),
            ..Self::default()
        })
    }

    /// Records a successful publish of `published` records and `rejected` dead letters.
    pub fn record_publish(&self, published: u64, rejected: u64, now_ms: i64) {
        self.published.fetch_add(published, Ordering::Relaxed);
        self.rejected.fetch_add(rejected, Ordering::Relaxed);
        self.last_success_ms
            .store(now_ms.max(0) as u64, Ordering::Relaxed);
    }

    /// Records an error (the message must not contain secrets).
    pub fn record_error(&self, message: impl Into<String>, now_ms: i64) {
        *self.last_error.lock() = Some((now_ms, message.into()));
    }

    /// Records the state of the source's circuit breaker.
    pub fn set_breaker(&self, state: BreakerState) {
        *self.breaker.lock() = Some(state);
    }

    /// The last recorded breaker state, if the source has a breaker.
    pub fn breaker(&self) -> Option<BreakerState> {
        *self.breaker.lock()
    }

    /// The last error message, if any.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().as_ref().map(|(_, m)| m.clone())
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> StatusSnapshot {
        let last = self.last_success_ms.load(Ordering::Relaxed);
        StatusSnapshot {
            name: self.name.clone(),
            published: self.published.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            last_success_ms: (last > 0).then_some(last as i64),
            last_error: self.last_error.lock().clone(),
            breaker: *self.breaker.lock(),
        }
    }
}
