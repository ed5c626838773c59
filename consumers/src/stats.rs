//! Counters a running consumer exposes (the API serves them; the bench reads them).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::Serialize;

/// Where a consumer stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsumerState {
    /// Joining its group and restoring its checkpoints.
    #[default]
    Starting,
    /// Consuming.
    Running,
    /// A retryable error stopped its last step: it waits, rebuilds from its last commit and
    /// goes on (for as long as it takes).
    Retrying,
    /// A permanent error stopped it: nothing is consumed until the process is restarted.
    Failed,
    /// Shut down cleanly.
    Stopped,
}

/// The last error a consumer met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastError {
    /// The error, as displayed.
    pub message: String,
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
    /// Whether it was retried.
    pub retryable: bool,
}

/// Live counters of the price consumer.
#[derive(Debug, Default)]
pub struct ConsumerStats {
    state: Mutex<(ConsumerState, Option<LastError>)>,
    restarts: AtomicU64,
    ticks: AtomicU64,
    records: AtomicU64,
    dead_letters: AtomicU64,
    windows: AtomicU64,
    anomalies: AtomicU64,
    late_total: AtomicU64,
    late: Mutex<BTreeMap<String, u64>>,
    duplicates_total: AtomicU64,
    duplicates: Mutex<BTreeMap<String, u64>>,
    closed_until_ms: AtomicI64,
    commits: AtomicU64,
    store_retries: AtomicU64,
    emit_latency: Mutex<LatencyHistogram>,
}

/// Upper bounds (seconds) of [`StatsSnapshot::window_emit_latency`]'s buckets (shared with
/// the API's `/metrics`).
pub use cryptoviz_measurements::status::EMIT_LATENCY_BUCKETS;

/// A cumulative histogram (Prometheus style: each bucket counts values ≤ its bound).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LatencyHistogram {
    /// Counts per bound of [`EMIT_LATENCY_BUCKETS`], cumulative.
    pub buckets: Vec<u64>,
    /// Observations.
    pub count: u64,
    /// Their sum, seconds.
    pub sum_seconds: f64,
}

impl LatencyHistogram {
    fn observe(&mut self, seconds: f64) {
        if self.buckets.is_empty() {
            self.buckets = vec![0; EMIT_LATENCY_BUCKETS.len()];
        }
        for (count, bound) in self.buckets.iter_mut().zip(EMIT_LATENCY_BUCKETS) {
            if seconds <= bound {
                *count += 1;
            }
        }
        self.count += 1;
        self.sum_seconds += seconds;
    }
}

/// A copy of the counters.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StatsSnapshot {
    /// `starting`, `running`, `retrying`, `failed` or `stopped`.
    pub state: ConsumerState,
    /// The last error met, retried or not (kept after a recovery, for the record).
    pub last_error: Option<LastError>,
    /// Rebuilds from the last commit after a retryable error.
    pub restarts: u64,
    /// Ticks decoded and stored raw.
    pub ticks: u64,
    /// Records of the other topics (news, market sentiment) stored.
    pub records: u64,
    /// Records sent to the DLQ because they did not decode.
    pub dead_letters: u64,
    /// Windows written (every emission, closed or not).
    pub windows: u64,
    /// Anomaly episode updates written (starts, growths and ends).
    pub anomalies: u64,
    /// Late ticks (their window had closed), in total and per coin.
    pub late_rows: u64,
    pub late_rows_by_coin: BTreeMap<String, u64>,
    /// Records a source sent twice (equal bytes for the same coin and event time; counted
    /// once, see `consumers::identity`), in total and per source.
    pub duplicates: u64,
    pub duplicates_by_source: BTreeMap<String, u64>,
    /// Event time (ms) up to which windows are closed.
    pub closed_until_ms: Option<i64>,
    /// Offset commits made (each after a store acknowledgement).
    pub commits: u64,
    /// Store writes retried after a retryable failure.
    pub store_retries: u64,
    /// Wall time from a window's end to its closed row being written (seconds). Meaningful
    /// for live sources, whose event time is wall time; history imports and the simulated
    /// market at a speed-up skew it.
    pub window_emit_latency: LatencyHistogram,
}

impl ConsumerStats {
    pub(crate) fn set_state(&self, state: ConsumerState) {
        self.state.lock().0 = state;
    }

    /// Records `error`: the consumer retries it (`retryable`) or has failed.
    pub(crate) fn set_error(&self, error: &crate::Error, retryable: bool) {
        let mut s = self.state.lock();
        s.0 = if retryable {
            ConsumerState::Retrying
        } else {
            ConsumerState::Failed
        };
        s.1 = Some(LastError {
            message: error.to_string(),
            at_ms: cryptoviz_schemas::now_ms(),
            retryable,
        });
    }

    pub(crate) fn add_restart(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
    }

    /// The consumer's state.
    pub fn state(&self) -> ConsumerState {
        self.state.lock().0
    }

    /// `Err` with the reason once the consumer has failed for good (what `/ready` reports).
    pub fn check_alive(&self) -> Result<(), String> {
        let s = self.state.lock();
        match (&s.0, &s.1) {
            (ConsumerState::Failed, Some(e)) => Err(format!("consumer failed: {}", e.message)),
            (ConsumerState::Failed, None) => Err("consumer failed".into()),
            _ => Ok(()),
        }
    }

    pub(crate) fn add_ticks(&self, n: u64) {
        self.ticks.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn add_records(&self, n: u64) {
        self.records.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn add_dead_letters(&self, n: u64) {
        self.dead_letters.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn add_windows(&self, n: u64) {
        self.windows.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn add_anomalies(&self, n: u64) {
        self.anomalies.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn add_late(&self, coin: &str) {
        self.late_total.fetch_add(1, Ordering::Relaxed);
        *self.late.lock().entry(coin.to_string()).or_default() += 1;
    }
    pub(crate) fn add_duplicate(&self, source: &str) {
        self.duplicates_total.fetch_add(1, Ordering::Relaxed);
        let mut by = self.duplicates.lock();
        match by.get_mut(source) {
            Some(n) => *n += 1,
            None => {
                tracing::warn!(%source, "a source sent a record twice: counted once");
                by.insert(source.to_string(), 1);
            }
        }
    }
    pub(crate) fn set_closed_until(&self, ms: i64) {
        self.closed_until_ms.store(ms, Ordering::Relaxed);
    }
    pub(crate) fn add_commit(&self) {
        self.commits.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn add_store_retry(&self) {
        self.store_retries.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn observe_emit_latency(&self, seconds: impl IntoIterator<Item = f64>) {
        let mut h = self.emit_latency.lock();
        for s in seconds {
            h.observe(s.max(0.0));
        }
    }

    /// Ticks decoded so far.
    pub fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }

    /// A copy of every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        let closed = self.closed_until_ms.load(Ordering::Relaxed);
        let (state, last_error) = self.state.lock().clone();
        StatsSnapshot {
            state,
            last_error,
            restarts: self.restarts.load(Ordering::Relaxed),
            ticks: self.ticks(),
            records: self.records.load(Ordering::Relaxed),
            dead_letters: self.dead_letters.load(Ordering::Relaxed),
            windows: self.windows.load(Ordering::Relaxed),
            anomalies: self.anomalies.load(Ordering::Relaxed),
            late_rows: self.late_total.load(Ordering::Relaxed),
            late_rows_by_coin: self.late.lock().clone(),
            duplicates: self.duplicates_total.load(Ordering::Relaxed),
            duplicates_by_source: self.duplicates.lock().clone(),
            closed_until_ms: (closed != 0).then_some(closed),
            commits: self.commits.load(Ordering::Relaxed),
            store_retries: self.store_retries.load(Ordering::Relaxed),
            window_emit_latency: self.emit_latency.lock().clone(),
        }
    }
}
