//! The embedded consumer: a group member reading its partitions straight from segment files.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::Inner;
use super::group::{Group, Member};
use super::partition::Partition;
use crate::error::{Error, Result};
use crate::{AssignmentChange, Committed, ConsumedRecord, LogConsumer, SeekTo, TopicPartition};

/// A member of a consumer group of an [`EmbeddedLog`](super::EmbeddedLog). Dropping it leaves
/// the group; its partitions move to the remaining members.
pub(crate) struct EmbeddedConsumer {
    pub(super) inner: Arc<Inner>,
    pub(super) group: Arc<Group>,
    pub(super) member: Arc<Member>,
    pub(super) seen_generation: u64,
    pub(super) positions: BTreeMap<TopicPartition, (Arc<Partition>, u64)>,
    pub(super) cursor: usize,
}

impl EmbeddedConsumer {
    /// Applies a rebalance, if one happened, to the read positions: revoked partitions are
    /// forgotten, newly assigned ones start at the committed offset, else the earliest.
    fn sync_assignment(&mut self) -> Result<()> {
        let (assignment, fresh) = {
            let mut st = self.member.state.lock();
            if st.generation == self.seen_generation {
                return Ok(());
            }
            self.seen_generation = st.generation;
            (st.assignment.clone(), std::mem::take(&mut st.fresh))
        };
        let id = self.member.id;
        self.positions.retain(|tp, (p, _)| {
            let keep = assignment.contains(tp);
            if !keep {
                p.remove_waiter(id);
            }
            keep
        });
        for tp in &assignment {
            if fresh.contains(tp) || !self.positions.contains_key(tp) {
                let p = self.inner.partition(tp)?;
                let start = match self.group.committed(tp) {
                    Some(c) => c.offset,
                    None => p.offsets().0,
                };
                p.add_waiter(id, &self.member.notify);
                self.positions.insert(tp.clone(), (p, start));
            }
        }
        Ok(())
    }

    async fn fetch(&mut self, max: usize) -> Result<Vec<ConsumedRecord>> {
        let n = self.positions.len();
        if n == 0 || max == 0 {
            return Ok(Vec::new());
        }
        // Rotate the starting partition so no partition is starved when `max` is small.
        let start = self.cursor % n;
        self.cursor = self.cursor.wrapping_add(1);
        let mut work: Vec<(TopicPartition, Arc<Partition>, u64)> = self
            .positions
            .iter()
            .map(|(tp, (p, pos))| (tp.clone(), p.clone(), *pos))
            .collect();
        work.rotate_left(start);
        let quota = max.div_ceil(n);
        let (records, work) = tokio::task::spawn_blocking(move || -> Result<_> {
            let mut out = Vec::new();
            let mut more = vec![false; work.len()];
            for (i, (_, p, pos)) in work.iter_mut().enumerate() {
                let want = quota.min(max - out.len());
                let r = p.read(*pos, want)?;
                more[i] = r.records.len() == want && want > 0;
                *pos = r.next;
                out.extend(r.records);
            }
            // Second pass: partitions with a backlog fill the budget others left unused.
            for (i, (_, p, pos)) in work.iter_mut().enumerate() {
                if out.len() >= max {
                    break;
                }
                if more[i] {
                    let r = p.read(*pos, max - out.len())?;
                    *pos = r.next;
                    out.extend(r.records);
                }
            }
            Ok((out, work))
        })
        .await
        .map_err(join_error)??;
        for (tp, _, pos) in work {
            if let Some(entry) = self.positions.get_mut(&tp) {
                entry.1 = pos;
            }
        }
        Ok(records)
    }

    fn check_assigned<'a>(&self, tps: impl Iterator<Item = &'a TopicPartition>) -> Result<()> {
        let missing: Vec<_> = tps
            .filter(|tp| !self.positions.contains_key(*tp))
            .cloned()
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::NotAssigned(missing))
        }
    }
}

pub(crate) fn join_error(e: tokio::task::JoinError) -> Error {
    Error::Backend {
        message: format!("blocking log task failed: {e}"),
        retryable: false,
    }
}

#[async_trait::async_trait]
impl LogConsumer for EmbeddedConsumer {
    async fn poll(&mut self, max: usize, timeout: Duration) -> Result<Vec<ConsumedRecord>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            self.sync_assignment()?;
            let records = self.fetch(max).await?;
            if !records.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(records);
            }
            // Woken by an append to an assigned partition or by a rebalance.
            tokio::select! {
                _ = self.member.notify.notified() => {}
                _ = tokio::time::sleep_until(deadline) => return Ok(Vec::new()),
            }
        }
    }

    fn assignment(&self) -> Vec<TopicPartition> {
        self.member
            .state
            .lock()
            .assignment
            .iter()
            .cloned()
            .collect()
    }

    fn take_assignment_change(&mut self) -> Option<AssignmentChange> {
        self.member.state.lock().take_change()
    }

    async fn committed(&self, tp: &TopicPartition) -> Result<Option<Committed>> {
        Ok(self.group.committed(tp))
    }

    async fn commit(&mut self, offsets: &[(TopicPartition, Committed)]) -> Result<()> {
        self.sync_assignment()?;
        self.check_assigned(offsets.iter().map(|(tp, _)| tp))?;
        let group = self.group.clone();
        let offsets = offsets.to_vec();
        tokio::task::spawn_blocking(move || group.commit(&offsets))
            .await
            .map_err(join_error)?
    }

    async fn seek(&mut self, tp: &TopicPartition, to: SeekTo) -> Result<()> {
        self.sync_assignment()?;
        self.check_assigned(std::iter::once(tp))?;
        let p = self.positions[tp].0.clone();
        let (start, end) = p.offsets();
        let pos = match to {
            SeekTo::Beginning => start,
            SeekTo::End => end,
            SeekTo::Offset(o) => o.clamp(start, end),
            SeekTo::Timestamp(ts) => {
                tokio::task::spawn_blocking(move || p.offset_for_timestamp(ts))
                    .await
                    .map_err(join_error)??
            }
        };
        if let Some(entry) = self.positions.get_mut(tp) {
            entry.1 = pos;
        }
        Ok(())
    }
}

impl Drop for EmbeddedConsumer {
    fn drop(&mut self) {
        for (p, _) in self.positions.values() {
            p.remove_waiter(self.member.id);
        }
        self.group.leave(self.member.id);
    }
}
