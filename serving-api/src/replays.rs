//! Replay jobs started through the API (`POST /api/v1/replays`): the same replay as
//! `cryptoviz replay`, run as a background task of the API process, watched with
//! `GET /api/v1/replays/{id}` and cancelled with `DELETE`.
//!
//! The API does not run the consumers itself: a [`ReplayRunner`] is injected
//! ([`crate::AppState::with_replays`]); the binary's runs the consumers' replay. The request
//! and progress types are the contract's (`cryptoviz_measurements::replay`).
//!
//! A replay takes minutes to hours, so a request starts it and returns at once (202); the
//! job's progress is read from its counters. One replay runs at a time: replays share their
//! consumer groups, and two at once would split the partitions between them. The last
//! [`KEPT`] finished jobs are remembered (in memory: a restart forgets them, while what they
//! wrote stays in the store).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cryptoviz_log::Log;
use cryptoviz_measurements::replay::{ProgressSnapshot, ReplayEnd, ReplaySpec};
use cryptoviz_store::Store;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use crate::error::ApiError;
use cryptoviz_measurements::time::rfc3339;

/// Finished jobs remembered.
pub const KEPT: usize = 20;

/// Runs replays for the API: the binary implements it with the consumers' replay.
pub trait ReplayRunner: Send + Sync + 'static {
    /// A replay of `spec` from `log` into `store` that stops early when `cancel` fires. It
    /// must not start before [`RunningReplay::done`] is polled.
    fn start(
        &self,
        log: Arc<dyn Log>,
        store: Arc<dyn Store>,
        spec: ReplaySpec,
        cancel: CancellationToken,
    ) -> RunningReplay;
}

/// A replay handed out by a [`ReplayRunner`].
pub struct RunningReplay {
    /// Its progress so far.
    pub progress: Box<dyn Fn() -> ProgressSnapshot + Send + Sync>,
    /// Runs it to its end (or the error that stopped it, as a message).
    pub done: BoxFuture<'static, Result<ReplayEnd, String>>,
}

/// Where a job is: running, or finished at a time with an end or an error.
#[derive(Debug, Clone, PartialEq, Eq)]
enum JobState {
    Running,
    Finished {
        at_ms: i64,
        outcome: Result<ReplayEnd, String>,
    },
}

/// One replay job.
pub struct Job {
    id: u64,
    spec: ReplaySpec,
    /// `from` and `to` as the request gave them.
    from: String,
    to: Option<String>,
    started_ms: i64,
    progress: Box<dyn Fn() -> ProgressSnapshot + Send + Sync>,
    cancel: CancellationToken,
    state: Mutex<JobState>,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// A job as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayJob {
    pub id: u64,
    /// `running`, `completed`, `cancelled` or `failed`.
    pub state: &'static str,
    /// Whether a cancellation was asked for (a running job stops at its next poll).
    pub cancel_requested: bool,
    pub topics: Vec<String>,
    /// As given: `beginning`, an offset or an RFC 3339 time (aligned down to the hour).
    pub from: String,
    /// As given; absent: the log's end when the job started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    pub started_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Why a failed job failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `{total, kept, skipped, ticks, windows, anomalies, late_rows, records, dead_letters}`:
    /// records in the range's offsets (an upper bound for a time start), read in and out of
    /// range, and what was written.
    #[schema(value_type = Object)]
    pub progress: ProgressSnapshot,
}

impl Job {
    /// The job as the API shows it.
    pub fn view(&self) -> ReplayJob {
        let state = self.state.lock().clone();
        let (finished_ms, outcome) = match state {
            JobState::Running => (None, None),
            JobState::Finished { at_ms, outcome } => (Some(at_ms), Some(outcome)),
        };
        ReplayJob {
            id: self.id,
            state: match &outcome {
                None => "running",
                Some(Ok(ReplayEnd::Completed)) => "completed",
                Some(Ok(ReplayEnd::Cancelled)) => "cancelled",
                Some(Err(_)) => "failed",
            },
            cancel_requested: self.cancel.is_cancelled(),
            topics: self.spec.topics().iter().map(|t| t.to_string()).collect(),
            from: self.from.clone(),
            to: self.to.clone(),
            started_at: rfc3339(self.started_ms * 1_000_000),
            finished_at: finished_ms.map(|ms| rfc3339(ms * 1_000_000)),
            error: outcome.and_then(Result::err),
            progress: (self.progress)(),
        }
    }

    fn running(&self) -> bool {
        *self.state.lock() == JobState::Running
    }
}

/// The API's replay jobs.
pub struct Replays {
    runner: Arc<dyn ReplayRunner>,
    jobs: Mutex<VecDeque<Arc<Job>>>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for Replays {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replays")
            .field("jobs", &self.jobs.lock().len())
            .finish()
    }
}

impl Replays {
    /// Jobs run by `runner`.
    pub fn new(runner: Arc<dyn ReplayRunner>) -> Self {
        Self {
            runner,
            jobs: Mutex::new(VecDeque::new()),
            next_id: AtomicU64::new(1),
        }
    }

    /// Starts a job replaying `spec` from `log` into `store`; 409 while another runs.
    pub fn start(
        self: &Arc<Self>,
        log: Arc<dyn Log>,
        store: Arc<dyn Store>,
        spec: ReplaySpec,
        from: String,
        to: Option<String>,
    ) -> Result<Arc<Job>, ApiError> {
        let cancel = CancellationToken::new();
        let replay = self.runner.start(log, store, spec.clone(), cancel.clone());
        let job = {
            let mut jobs = self.jobs.lock();
            if let Some(running) = jobs.iter().find(|j| j.running()) {
                return Err(ApiError::Conflict(format!(
                    "replay {} is still running; cancel it or wait for it to finish",
                    running.id
                )));
            }
            let job = Arc::new(Job {
                id: self.next_id.fetch_add(1, Ordering::Relaxed),
                spec,
                from,
                to,
                started_ms: cryptoviz_schemas::now_ms(),
                progress: replay.progress,
                cancel,
                state: Mutex::new(JobState::Running),
                task: Mutex::new(None),
            });
            jobs.push_front(job.clone());
            while jobs.len() > KEPT + 1 {
                jobs.pop_back();
            }
            job
        };
        let running = job.clone();
        let done = replay.done;
        let task = tokio::spawn(async move {
            let job = running;
            let outcome = done.await;
            if let Err(e) = &outcome {
                tracing::error!(job = job.id, error = %e, "replay job failed");
            }
            tracing::info!(job = job.id, outcome = ?outcome, progress = ?(job.progress)(), "replay job finished");
            *job.state.lock() = JobState::Finished {
                at_ms: cryptoviz_schemas::now_ms(),
                outcome,
            };
        });
        *job.task.lock() = Some(task);
        tracing::info!(job = job.id, topics = ?job.spec.topics(), from = %job.from, "replay job started");
        Ok(job)
    }

    /// Every remembered job, newest first.
    pub fn list(&self) -> Vec<Arc<Job>> {
        self.jobs.lock().iter().cloned().collect()
    }

    /// Job `id`.
    pub fn get(&self, id: u64) -> Option<Arc<Job>> {
        self.jobs.lock().iter().find(|j| j.id == id).cloned()
    }

    /// Asks job `id` to stop; `None` for an unknown job.
    pub fn cancel(&self, id: u64) -> Option<Arc<Job>> {
        let job = self.get(id)?;
        if job.running() {
            job.cancel.cancel();
        }
        Some(job)
    }

    /// Cancels the running job, if any, and waits for it to store what it read (at shutdown).
    pub async fn shutdown(&self) {
        let running: Vec<Arc<Job>> = self.list().into_iter().filter(|j| j.running()).collect();
        for job in running {
            job.cancel.cancel();
            let task = job.task.lock().take();
            if let Some(task) = task {
                let _ = task.await;
            }
        }
    }
}
