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

use backon::{BackoffBuilder, ExponentialBuilder};
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
    let mut backoff = policy().build();
    let mut attempts = 0u32;
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
                if recovering || attempts > 0 {
                    tracing::info!(consumer = %consumer.name(), "consumer recovered");
                    consumer.stats().set_state(ConsumerState::Running);
                }
                recovering = false;
                if attempts > 0 {
                    backoff = policy().build();
                    attempts = 0;
                }
            }
            Err(e) if e.is_retryable() => {
                consumer.stats().set_error(&e, true);
                attempts += 1;
                let delay = backoff.next().unwrap_or(MAX_DELAY);
                tracing::warn!(consumer = %consumer.name(), error = %e, ?delay, attempt = attempts, "consumer step failed; rebuilding from the last commit after a pause");
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

/// Longest wait between recoveries.
const MAX_DELAY: Duration = Duration::from_secs(30);

/// 100 ms doubling to 30 s, plus up to 100 % jitter so a fleet of consumers does not retry in
/// step; for as long as it takes.
fn policy() -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(MAX_DELAY)
        .with_jitter()
        .without_max_times()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_with_jitter_and_never_end() {
        let delays: Vec<u128> = policy().build().take(12).map(|d| d.as_millis()).collect();
        let bases = [
            100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 30_000, 30_000, 30_000,
        ];
        for (d, base) in delays.iter().zip(bases) {
            assert!((base..base * 2).contains(d), "{delays:?}");
        }
    }
}
