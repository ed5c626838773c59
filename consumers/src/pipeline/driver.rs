//! The loop every consumer runs, around an [`Operator`] that knows what its records mean.
//!
//! The driver joins the group, positions the assigned partitions (at their committed offsets,
//! or at a replay's start), polls, keeps what a replay's bounds keep, and hands the records to
//! the operator. When the operator says its outputs are due it flushes: dead letters first,
//! then the operator's store write, then — once the store acknowledged it — the commit
//! ([`super::commit`]). A rebalance flushes and settles, then repositions and lets the operator
//! rebuild its state; so does a recovery after a retryable error ([`crate::supervise`]).
//!
//! The split follows Arroyo's operators (`process_batch`, `handle_watermark`,
//! `handle_checkpoint`): the operator holds no log consumer and commits nothing itself.

use std::time::Duration;

use cryptoviz_log::{Committed, ConsumedRecord, LogConsumer, SeekTo, TopicPartition};
use cryptoviz_schemas::DlqRecord;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Context;
use super::commit::{Commits, OnAck, PendingCommit};
use super::delivery::{self, Write};
use crate::Result;
use crate::stats::ConsumerStats;
use crate::supervise::{self, Ended, Supervised};

/// What a flush hands over: a store write and what follows its acknowledgement.
pub(crate) struct Flush {
    pub write: Write,
    pub commit: PendingCommit,
    pub on_ack: OnAck,
}

/// The per-pipeline part of a consumer.
pub(crate) trait Operator: Send {
    /// How long a poll waits for records.
    const POLL_TIMEOUT: Duration;
    /// Whether a flush's write runs while the next polls are processed (settled before the
    /// next flush), or is awaited, and committed, before the step returns.
    const OVERLAP_WRITES: bool;

    /// Takes in a poll's records (those a replay keeps; none when it keeps none of a
    /// non-empty poll). Undecodable ones go to `dead`.
    fn process_batch(&mut self, cx: &Context, batch: &[ConsumedRecord], dead: &mut Vec<DlqRecord>);

    /// A poll that delivered nothing: event time may move on (idle partitions).
    fn handle_watermark(&mut self, _now: Instant) {}

    /// Whether the buffered outputs are due for a write, `since_flush` after the last one.
    fn flush_due(&self, since_flush: Duration) -> bool;

    /// Takes the buffered outputs as a store write with the commit that follows it; `None`
    /// when there is nothing to write or commit.
    async fn handle_checkpoint(&mut self, cx: &Context) -> Result<Option<Flush>>;

    /// Rebuilds the state from the committed offsets and checkpoints of a new assignment
    /// (the partitions are already positioned; for a replay, `committed` is `None` each).
    async fn restore(
        &mut self,
        cx: &Context,
        assignment: &[(TopicPartition, Option<Committed>)],
    ) -> Result<()>;

    /// Drops the buffered outputs, before a recovery's [`Self::restore`].
    fn reset(&mut self);

    /// At a shutdown, before the last flush: whatever is still open is emitted, or dropped.
    fn drain(&mut self, _cx: &Context) {}
}

/// A consumer: the group's log consumer, an operator, and the commit protocol between them.
pub(crate) struct Driver<O> {
    pub cx: Context,
    pub consumer: Box<dyn LogConsumer>,
    pub op: O,
    poll_max: usize,
    /// Dead letters of the records read since the last flush.
    dead: Vec<DlqRecord>,
    commits: Commits,
    last_flush: Instant,
}

impl<O: Operator> Driver<O> {
    /// Joins the group for `topics` (which exist already) and positions its partitions.
    pub(crate) async fn start(
        cx: Context,
        topics: &[&str],
        poll_max: usize,
        op: O,
    ) -> Result<Self> {
        let consumer = cx.log.subscribe(&cx.group, topics).await?;
        let mut driver = Self {
            cx,
            consumer,
            op,
            poll_max,
            dead: Vec::new(),
            commits: Commits::default(),
            last_flush: Instant::now(),
        };
        driver.restore().await?;
        Ok(driver)
    }

    /// Runs until `shutdown` fires, then drains ([`Self::finish`]). Retryable errors are
    /// retried with back-off, rebuilding from the last commit each time; a permanent one ends
    /// the run with the error, after marking the consumer `failed` in its stats.
    pub(crate) async fn run(mut self, shutdown: CancellationToken) -> Result<()> {
        if supervise::run(&mut self, &shutdown).await? == Ended::MidRecovery {
            return Ok(());
        }
        let (name, stats) = (self.cx.name.clone(), self.cx.stats.clone());
        let result = self.finish().await;
        supervise::drained(&stats, &name, &result);
        result
    }

    /// One poll and what follows from it; returns how many records were read.
    pub(crate) async fn step(&mut self) -> Result<usize> {
        if self.commits.write_finished() {
            self.settle().await?;
        }
        let mut records = self.consumer.poll(self.poll_max, O::POLL_TIMEOUT).await?;
        if self.consumer.take_assignment_change().is_some() {
            // Rebalance: write what we have, then rebuild from the committed checkpoints and
            // re-read from the committed offsets (this poll's records are read again then).
            self.flush().await?;
            self.settle().await?;
            self.restore().await?;
            return Ok(0);
        }
        let read = records.len();
        if let Some(bounds) = self.cx.replay.as_mut() {
            records.retain(|record| bounds.keep(record));
        }
        if read > 0 {
            self.op.process_batch(&self.cx, &records, &mut self.dead);
        } else {
            self.op.handle_watermark(Instant::now());
        }
        if self.op.flush_due(self.last_flush.elapsed()) {
            self.flush().await?;
        }
        Ok(read)
    }

    /// Lets the operator drain, writes everything buffered and commits.
    pub(crate) async fn finish(mut self) -> Result<()> {
        self.op.drain(&self.cx);
        self.flush_and_settle().await?;
        tracing::info!(consumer = %self.cx.name, "consumer drained");
        Ok(())
    }

    /// Writes everything buffered and commits what it covers.
    pub(crate) async fn flush_and_settle(&mut self) -> Result<()> {
        self.flush().await?;
        self.settle().await
    }

    /// Writes dead letters, then delivers the operator's outputs: in a task while the consumer
    /// goes on reading ([`Operator::OVERLAP_WRITES`], one write at a time: a flush first
    /// settles the previous one, so writes reach the store in order and at most one batch of
    /// outputs waits in memory), or at once; their offsets are committed once the store has
    /// acknowledged them.
    async fn flush(&mut self) -> Result<()> {
        self.settle().await?;
        if !self.dead.is_empty() {
            let dead = std::mem::take(&mut self.dead);
            delivery::dead_letter(self.cx.log.as_ref(), &self.cx.stats, dead).await?;
        }
        let Some(Flush {
            write,
            commit,
            on_ack,
        }) = self.op.handle_checkpoint(&self.cx).await?
        else {
            return Ok(());
        };
        if O::OVERLAP_WRITES {
            self.commits.begin(tokio::spawn(write), commit, on_ack);
        } else {
            write.await?;
            self.commits
                .acknowledged(self.consumer.as_mut(), &self.cx, commit, on_ack)
                .await?;
        }
        self.last_flush = Instant::now();
        Ok(())
    }

    /// Waits for the write in flight, if any, and commits what it covers.
    async fn settle(&mut self) -> Result<()> {
        self.commits.settle(self.consumer.as_mut(), &self.cx).await
    }

    /// Positions the assigned partitions at their committed offsets (a replay: at its
    /// bounds), then lets the operator rebuild its state from them.
    async fn restore(&mut self) -> Result<()> {
        let mut assignment = Vec::new();
        for tp in self.consumer.assignment() {
            let (committed, start) = match &self.cx.replay {
                Some(bounds) => (None, bounds.seek_to()),
                None => {
                    let committed = self.consumer.committed(&tp).await?;
                    let start = committed
                        .as_ref()
                        .map_or(SeekTo::Beginning, |c| SeekTo::Offset(c.offset));
                    (committed, start)
                }
            };
            self.consumer.seek(&tp, start).await?;
            assignment.push((tp, committed));
        }
        self.op.restore(&self.cx, &assignment).await
    }
}

impl<O: Operator> Supervised for Driver<O> {
    fn name(&self) -> &str {
        &self.cx.name
    }

    fn stats(&self) -> &ConsumerStats {
        &self.cx.stats
    }

    async fn step(&mut self) -> Result<usize> {
        Driver::step(self).await
    }

    /// Drops everything in memory and rebuilds it from the committed offsets and checkpoints,
    /// as a restart would (after a retryable error left a step half done).
    async fn recover(&mut self) -> Result<()> {
        self.commits.abandon().await;
        self.op.reset();
        self.dead.clear();
        self.cx.stats.add_restart();
        self.restore().await
    }
}
