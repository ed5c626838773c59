//! The commit protocol: offsets are committed only after the store acknowledged the outputs of
//! the records below them.
//!
//! A flush hands over a store write and a [`PendingCommit`]: what to commit once that write is
//! acknowledged, taken when the outputs were (a later position would commit records whose
//! outputs are still buffered). The price consumer lets the write run while it reads on — one
//! write [`InFlight`] at a time, settled before the next flush, so writes reach the store in
//! order — while the records consumer waits for each ([`Commits::acknowledged`]).
//!
//! A price commit carries each partition's watermark state as commit metadata
//! ([`crate::checkpoint`]). Whether the log gives that metadata back is learned at the first
//! commit; until it is known, and if it does not, the checkpoint is also written to the store,
//! before the commit, from where a restart reads it back.

use std::collections::HashSet;

use cryptoviz_log::{Committed, LogConsumer, TopicPartition};
use tokio::task::JoinHandle;

use super::Context;
use super::delivery::write_with_retry;
use crate::checkpoint::{self, Checkpoint};
use crate::stats::ConsumerStats;
use crate::{Error, Result};

/// What to count once a write is acknowledged (its windows, anomalies or records).
pub(crate) type OnAck = Box<dyn FnOnce(&ConsumerStats) + Send>;

/// Offsets (and checkpoints) to commit once a write is acknowledged.
pub(crate) enum PendingCommit {
    /// Each partition of `topic` with the offset to commit and the window state it carries.
    Checkpoints {
        topic: &'static str,
        /// (partition, offset to commit, its checkpoint).
        partitions: Vec<(u32, u64, Checkpoint)>,
        /// The group's closing point, for the stats.
        closed_until: Option<i64>,
    },
    /// The next offset of each partition read, with no state: committed even when empty (one
    /// commit per poll).
    Offsets(Vec<(TopicPartition, u64)>),
}

/// A flush's store write in flight and what follows its acknowledgement.
struct InFlight {
    write: JoinHandle<Result<()>>,
    commit: PendingCommit,
    on_ack: OnAck,
}

/// The write in flight, if any, and what the log is known to keep.
#[derive(Default)]
pub(crate) struct Commits {
    in_flight: Option<InFlight>,
    /// Whether the log gives commit metadata back, learned from the first commit. Until it is
    /// known, and if it does not, each checkpoint is also written to the store.
    metadata_kept: Option<bool>,
}

impl Commits {
    /// Whether a write is in flight and has ended (so settling it will not wait).
    pub(crate) fn write_finished(&self) -> bool {
        self.in_flight
            .as_ref()
            .is_some_and(|f| f.write.is_finished())
    }

    /// Puts `write` in flight; `commit` follows its acknowledgement ([`Self::settle`]).
    pub(crate) fn begin(
        &mut self,
        write: JoinHandle<Result<()>>,
        commit: PendingCommit,
        on_ack: OnAck,
    ) {
        debug_assert!(self.in_flight.is_none(), "one write in flight at a time");
        self.in_flight = Some(InFlight {
            write,
            commit,
            on_ack,
        });
    }

    /// Waits for the store write in flight, if any, and commits the offsets it covers (never
    /// before its acknowledgement). Cancel-safe: until the write is acknowledged it stays in
    /// flight, to be waited for again.
    pub(crate) async fn settle(
        &mut self,
        consumer: &mut dyn LogConsumer,
        cx: &Context,
    ) -> Result<()> {
        let Some(f) = self.in_flight.as_mut() else {
            return Ok(());
        };
        let written = (&mut f.write).await;
        let f = self.in_flight.take().expect("a write in flight");
        written.map_err(|e| Error::WriteTask(e.to_string()))??;
        self.acknowledged(consumer, cx, f.commit, f.on_ack).await
    }

    /// After a write was acknowledged: counts it and commits what it covers.
    pub(crate) async fn acknowledged(
        &mut self,
        consumer: &mut dyn LogConsumer,
        cx: &Context,
        commit: PendingCommit,
        on_ack: OnAck,
    ) -> Result<()> {
        on_ack(&cx.stats);
        match commit {
            PendingCommit::Offsets(next) => {
                let offsets: Vec<_> = next
                    .into_iter()
                    .map(|(tp, offset)| {
                        let metadata = String::new();
                        (tp, Committed { offset, metadata })
                    })
                    .collect();
                consumer.commit(&offsets).await?;
                cx.stats.add_commit();
                Ok(())
            }
            PendingCommit::Checkpoints {
                topic,
                partitions,
                closed_until,
            } => {
                self.commit_checkpoints(consumer, cx, topic, partitions, closed_until)
                    .await
            }
        }
    }

    /// Lets an unacknowledged write end and forgets it (a recovery re-reads from the last
    /// commit: an old write must never land after the replay's). Its outcome does not matter:
    /// its offsets were not committed, so its outputs are derived again.
    pub(crate) async fn abandon(&mut self) {
        if let Some(mut f) = self.in_flight.take() {
            let _ = (&mut f.write).await;
        }
    }

    async fn commit_checkpoints(
        &mut self,
        consumer: &mut dyn LogConsumer,
        cx: &Context,
        topic: &'static str,
        partitions: Vec<(u32, u64, Checkpoint)>,
        closed_until: Option<i64>,
    ) -> Result<()> {
        if partitions.is_empty() {
            return Ok(());
        }
        // Only partitions still assigned: after a rebalance took some away, their new owner
        // restarts from their last commit (the idempotent store absorbs the overlap), and a
        // commit for them would be refused.
        let assigned: HashSet<u32> = consumer
            .assignment()
            .into_iter()
            .filter(|tp| tp.topic == topic)
            .map(|tp| tp.partition)
            .collect();
        let mut offsets = Vec::with_capacity(partitions.len());
        let mut saved = Vec::with_capacity(partitions.len());
        for (partition, safe, checkpoint) in partitions {
            if !assigned.contains(&partition) {
                continue;
            }
            let metadata = serde_json::to_string(&checkpoint).unwrap_or_default();
            saved.push((partition, safe, checkpoint));
            offsets.push((
                TopicPartition {
                    topic: topic.to_string(),
                    partition,
                },
                Committed {
                    offset: safe,
                    metadata,
                },
            ));
        }
        // The store's copy first (its outputs are acknowledged already), then the commit; a
        // replay restarts from its bounds and keeps none, and a log that keeps the metadata
        // needs none.
        if cx.replay.is_none()
            && self.metadata_kept != Some(true)
            && let Some(batch) =
                checkpoint::batch(&cx.group, topic, &saved, cryptoviz_schemas::now_ms())?
        {
            write_with_retry(cx.store.as_ref(), &cx.stats, vec![batch]).await?;
        }
        consumer.commit(&offsets).await?;
        cx.stats.add_commit();
        if cx.replay.is_none()
            && self.metadata_kept.is_none()
            && let Some((tp, sent)) = offsets.first()
        {
            // Both backends commit synchronously: what is read back is what the log keeps.
            let back = consumer.committed(tp).await?;
            let kept = back.is_some_and(|c| c.metadata == sent.metadata);
            if !kept {
                tracing::info!(consumer = %cx.name, "the log drops commit metadata: checkpoints are kept in the store as well");
            }
            self.metadata_kept = Some(kept);
        }
        if let Some(c) = closed_until {
            cx.stats.set_closed_until(c);
        }
        Ok(())
    }
}
