//! Keeping a consumer alive: retry what may pass, stop loudly on what will not.
//!
//! A consumer step can fail half-way (a poll, a dead-letter append, a store write, an offset
//! commit). Whatever it had buffered is then of unknown standing, so a retryable failure is
//! handled as Flink restarts a job from its last checkpoint: wait (exponential back-off with
//! jitter, 100 ms doubling to 30 s, for as long as it takes), drop the in-memory state, and
//! rebuild it from the committed offsets and their checkpoints — the same path a crash takes,
//! so the idempotent store ends up as if nothing had happened. A permanent failure (a bug, a
//! rejected configuration, corrupt data) stops the consumer: its state says `failed` with the
//! error, `/ready` fails, and `cryptoviz consume` exits non-zero so its supervisor restarts it.

use std::time::Duration;

use rand::Rng;
use tokio_util::sync::CancellationToken;

use crate::Result;
use crate::stats::{ConsumerState, ConsumerStats};

/// A consumer whose steps [`run`] drives.
pub(crate) trait Supervised {
    /// For the logs.
    fn name(&self) -> &str;
    /// Where its state and last error are shown.
    fn stats(&self) -> &ConsumerStats;
    /// One poll and what follows from it.
    async fn step(&mut self) -> Result<usize>;
    /// Drops what is in memory and resumes from the last commit.
    async fn recover(&mut self) -> Result<()>;
}

/// How [`run`] ended without a permanent error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// Shutdown, with the consumer's state sound: it may drain.
    Shutdown,
    /// Shutdown while waiting to recover: its state is of unknown standing and must not be
    /// drained (the next start resumes from the last commit).
    MidRecovery,
}

/// Steps `consumer` until `shutdown`, retrying retryable errors with back-off and a recovery
/// from the last commit; returns the first permanent error (the consumer is then `failed`).
pub(crate) async fn run<C: Supervised>(
    consumer: &mut C,
    shutdown: &CancellationToken,
) -> Result<Ended> {
    let mut backoff = Backoff::default();
    let mut recovering = false;
    consumer.stats().set_state(ConsumerState::Running);
    while !shutdown.is_cancelled() {
        let result = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = async {
                if recovering { consumer.recover().await.map(|()| 0) } else { consumer.step().await }
            } => r,
        };
        match result {
            Ok(_) => {
                if recovering || backoff.attempts() > 0 {
                    tracing::info!(consumer = %consumer.name(), "consumer recovered");
                    consumer.stats().set_state(ConsumerState::Running);
                }
                recovering = false;
                backoff.reset();
            }
            Err(e) if e.is_retryable() => {
                consumer.stats().set_error(&e, true);
                let delay = backoff.next_delay();
                tracing::warn!(consumer = %consumer.name(), error = %e, ?delay, attempt = backoff.attempts(), "consumer step failed; rebuilding from the last commit after a pause");
                recovering = true;
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
            Err(e) => {
                consumer.stats().set_error(&e, false);
                tracing::error!(consumer = %consumer.name(), error = %e, "consumer failed; it consumes nothing more until restarted (uncommitted input is read again then)");
                return Err(e);
            }
        }
    }
    if recovering {
        consumer.stats().set_state(ConsumerState::Stopped);
        return Ok(Ended::MidRecovery);
    }
    Ok(Ended::Shutdown)
}

/// Marks the end of a drain (after [`run`] returned [`Ended::Shutdown`]).
pub(crate) fn drained(stats: &ConsumerStats, name: &str, result: &Result<()>) {
    match result {
        Ok(()) => stats.set_state(ConsumerState::Stopped),
        Err(e) => {
            stats.set_error(e, false);
            tracing::error!(consumer = %name, error = %e, "consumer failed while draining");
        }
    }
}

/// Exponential back-off with ±20 % jitter, so a fleet of consumers does not retry in step.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    next: Duration,
    min: Duration,
    max: Duration,
    attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Duration::from_millis(100), Duration::from_secs(30))
    }
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        Self {
            next: min,
            min,
            max,
            attempts: 0,
        }
    }

    /// The delay before the next attempt (and doubles the one after).
    pub(crate) fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        self.attempts += 1;
        base.mul_f64(rand::rng().random_range(0.8..=1.2))
    }

    /// Failures since the last success.
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }

    /// After a success: the next failure waits the minimum again.
    pub(crate) fn reset(&mut self) {
        self.next = self.min;
        self.attempts = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_reset() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(500));
        let delays: Vec<u128> = (0..5).map(|_| b.next_delay().as_millis()).collect();
        for (d, base) in delays.iter().zip([100, 200, 400, 500, 500]) {
            assert!((base * 8 / 10..=base * 12 / 10).contains(d), "{delays:?}");
        }
        assert_eq!(b.attempts(), 5);
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(120));
    }
}
