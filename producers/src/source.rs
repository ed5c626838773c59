//! The source trait and the status every source reports.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

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
    stream: OnceLock<StreamCounters>,
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
    /// Connection and trade-id counters of a streaming source (the exchanges); absent for
    /// polling sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamSnapshot>,
}

/// Counters of a streaming (WebSocket) source, kept per exchange: what the connection and the
/// trade-id checks did. Gaps and duplicates are judged by trade id, never by time.
#[derive(Debug, Default)]
pub struct StreamCounters {
    connected: std::sync::atomic::AtomicBool,
    reconnects: AtomicU64,
    gaps_filled: AtomicU64,
    gaps_unfillable: AtomicU64,
    trades_filled: AtomicU64,
    trades_missed: AtomicU64,
    duplicates_dropped: AtomicU64,
    subscription_errors: AtomicU64,
    last_trade_ms: AtomicU64,
}

/// A point-in-time copy of [`StreamCounters`].
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct StreamSnapshot {
    /// Whether the WebSocket is connected and subscribed now.
    pub connected: bool,
    /// Connections opened after the first one (each after a drop, a stale timeout or an error).
    pub reconnects: u64,
    /// Gaps in a symbol's trade ids that were filled completely from the exchange's REST
    /// trade history.
    pub gaps_filled: u64,
    /// Gaps that could not be filled (completely): REST failed, refused or returned too little.
    pub gaps_unfillable: u64,
    /// Trades published from REST to fill gaps.
    pub trades_filled: u64,
    /// Trades known to be missing (in the unfillable gaps).
    pub trades_missed: u64,
    /// Trades received again (by trade id) and dropped.
    pub duplicates_dropped: u64,
    /// Subscriptions the exchange refused (an unknown symbol, a bad request).
    pub subscription_errors: u64,
    /// Exchange time (ms since the epoch) of the newest trade received, if any.
    pub last_trade_ms: Option<i64>,
}

impl StreamCounters {
    /// Marks the connection up or down.
    pub fn set_connected(&self, connected: bool) {
        self.connected.store(connected, Ordering::Relaxed);
    }
    /// Counts a new connection after the first.
    pub fn reconnected(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }
    /// Counts a gap filled with `trades` trades.
    pub fn gap_filled(&self, trades: u64) {
        self.gaps_filled.fetch_add(1, Ordering::Relaxed);
        self.trades_filled.fetch_add(trades, Ordering::Relaxed);
    }
    /// Counts a gap left (partly) open: `filled` trades were recovered, `missed` were not.
    pub fn gap_unfillable(&self, filled: u64, missed: u64) {
        self.gaps_unfillable.fetch_add(1, Ordering::Relaxed);
        self.trades_filled.fetch_add(filled, Ordering::Relaxed);
        self.trades_missed.fetch_add(missed, Ordering::Relaxed);
    }
    /// Counts `n` duplicate trades dropped.
    pub fn duplicates(&self, n: u64) {
        self.duplicates_dropped.fetch_add(n, Ordering::Relaxed);
    }
    /// Counts a refused subscription.
    pub fn subscription_error(&self) {
        self.subscription_errors.fetch_add(1, Ordering::Relaxed);
    }
    /// Records the exchange time of a trade (keeps the newest).
    pub fn saw_trade(&self, event_time_ms: i64) {
        self.last_trade_ms
            .fetch_max(event_time_ms.max(0) as u64, Ordering::Relaxed);
    }
    /// A copy of the counters.
    pub fn snapshot(&self) -> StreamSnapshot {
        let last = self.last_trade_ms.load(Ordering::Relaxed);
        StreamSnapshot {
            connected: self.connected.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            gaps_filled: self.gaps_filled.load(Ordering::Relaxed),
            gaps_unfillable: self.gaps_unfillable.load(Ordering::Relaxed),
            trades_filled: self.trades_filled.load(Ordering::Relaxed),
            trades_missed: self.trades_missed.load(Ordering::Relaxed),
            duplicates_dropped: self.duplicates_dropped.load(Ordering::Relaxed),
            subscription_errors: self.subscription_errors.load(Ordering::Relaxed),
            last_trade_ms: (last > 0).then_some(last as i64),
        }
    }
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

    /// The stream counters of this source, created on first use: a source that calls this is
    /// a streaming source, and its snapshot carries them.
    pub fn stream(&self) -> &StreamCounters {
        self.stream.get_or_init(StreamCounters::default)
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
            stream: self.stream.get().map(StreamCounters::snapshot),
        }
    }
}
