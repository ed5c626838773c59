//! The windowing state a windowed operator keeps per assignment, whatever its windows
//! aggregate: the windows of every width, the partitions' watermarks, how far each partition
//! has been read, and up to where a restart re-reads ticks that were counted before it.
//!
//! The price and the trade operators both hold one ([`super::prices`] with
//! [`crate::windows::WindowAcc`], [`super::trades`] with [`crate::windows::TradeAcc`]), so both
//! commit the same checkpoints ([`crate::checkpoint`]) by the same rule: offset = the smaller
//! of the next unread offset and the first offset of a tick in a still open window, with the
//! partition's own closing point, and restore from them the same way.

use std::collections::{BTreeMap, HashMap};

use cryptoviz_log::{Committed, ConsumedRecord, TopicPartition};
use cryptoviz_schemas::DlqRecord;
use tokio::time::Instant;

use super::Context;
use super::commit::PendingCommit;
use super::config::ConsumerConfig;
use crate::Result;
use crate::checkpoint::{self, Checkpoint};
use crate::identity::TickKey;
use crate::replay::ReplayBounds;
use crate::windows::{Added, Aggregate, EmittedWindow, Resolutions, Watermarks, WindowStatus};

/// Windows, watermarks and read positions of one windowed consumer.
pub(crate) struct Windowed<A: Aggregate> {
    pub windows: Resolutions<A>,
    marks: Watermarks,
    /// Emitted windows not yet handed to a write.
    pub emitted: Vec<EmittedWindow<A::Stats>>,
    /// Next offset to read, per partition.
    positions: BTreeMap<u32, u64>,
    /// Offsets below these were read before the checkpoint we restarted from.
    replay_until: HashMap<u32, u64>,
    lateness_ms: i64,
    /// Something was read or emitted since the last flush.
    pub dirty: bool,
    provisional_sent: bool,
}

impl<A: Aggregate> Windowed<A> {
    /// Windows of `resolutions` with the lateness and idle timeout of `config`.
    pub(crate) fn new(resolutions: &[(&str, i64)], config: &ConsumerConfig) -> Self {
        let lateness_ms = config.allowed_lateness.as_millis() as i64;
        Self {
            windows: Resolutions::of_widths(resolutions, lateness_ms),
            marks: Watermarks::new(config.idle_timeout),
            emitted: Vec::new(),
            positions: BTreeMap::new(),
            replay_until: HashMap::new(),
            lateness_ms,
            dirty: false,
            provisional_sent: false,
        }
    }

    /// A record of `partition` at `offset` was read (decodable or not).
    pub(crate) fn read(&mut self, partition: u32, offset: u64) {
        self.positions.insert(partition, offset + 1);
    }

    /// Adds a decoded tick to every width and to its partition's watermark. A replayed tick
    /// (read again after a restart) of a bin closed before the checkpoint is skipped silently
    /// by each width: it was counted then. Returns what the finest width did with it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add(
        &mut self,
        crypto_id: &str,
        source: &str,
        key: TickKey,
        sample: A::Sample,
        partition: u32,
        offset: u64,
        now: Instant,
    ) -> Option<Added> {
        self.marks.observe(partition, key.ts, now);
        let replayed = self
            .replay_until
            .get(&partition)
            .is_some_and(|until| offset < *until);
        self.windows
            .add(crypto_id, source, key, sample, partition, offset, replayed)
    }

    /// After a polled batch: closes what the watermark passed.
    pub(crate) fn processed(&mut self, now: Instant) {
        self.windows
            .advance(self.marks.event_time(now), &mut self.emitted);
        self.dirty = true;
        self.provisional_sent = false;
    }

    /// A poll that delivered nothing: idle partitions stop holding the watermark back, and
    /// when every partition idles the open windows are emitted as `provisional` (once).
    pub(crate) fn idle(&mut self, now: Instant) {
        if self.provisional_sent || self.windows.open_count() == 0 {
            return;
        }
        self.windows
            .advance(self.marks.event_time(now), &mut self.emitted);
        if self.marks.event_time(now).is_none() {
            self.windows
                .emit_open(WindowStatus::Provisional, &mut self.emitted);
            self.provisional_sent = true;
            self.dirty = true;
        }
    }

    /// At a shutdown: open windows as `partial`; a replay bounded by a time first closes,
    /// normally, every window ending by that time.
    pub(crate) fn drain(&mut self, cx: &Context) {
        if let Some(to) = cx.replay.as_ref().and_then(ReplayBounds::to_ms) {
            self.windows
                .advance(Some(to.saturating_add(self.lateness_ms)), &mut self.emitted);
        }
        self.windows
            .emit_open(WindowStatus::Partial, &mut self.emitted);
        self.dirty = true;
    }

    /// Forgets the flags of buffered outputs (a recovery rebuilds them).
    pub(crate) fn reset(&mut self) {
        self.dirty = false;
        self.provisional_sent = false;
    }

    /// What to commit on `topic` once the outputs flushed now are acknowledged: each
    /// partition's position and checkpoint as they stand now.
    pub(crate) fn pending_commit(&self, topic: &'static str) -> PendingCommit {
        let mut first_open = HashMap::new();
        self.windows.first_open_offsets(&mut first_open);
        let partitions = self
            .positions
            .iter()
            .map(|(&partition, &position)| {
                // Keep the furthest read point across restarts, so a second crash still knows
                // which replayed ticks were counted before.
                let read_to = self
                    .replay_until
                    .get(&partition)
                    .map_or(position, |r| (*r).max(position));
                // Never past what this run has actually read: right after a restart nothing
                // is open yet, and committing `read_to` would skip the replay of the windows
                // that were open at the crash.
                let safe = first_open
                    .get(&partition)
                    .map_or(position, |o| (*o).min(position));
                // Each partition's own closing point: an inherited partition may still be
                // behind the others (see `crate::windows`).
                let checkpoint = Checkpoint {
                    max_ts: self.marks.max_ts(partition),
                    closed_until: self.windows.closed_until_of(partition),
                    read_to,
                };
                (partition, safe, checkpoint)
            })
            .collect();
        PendingCommit::Checkpoints {
            topic,
            partitions,
            closed_until: self.windows.closed_until(),
        }
    }

    /// Forgets everything, then restores each assigned partition's checkpoint (a replay:
    /// only their watermarks, from nothing).
    pub(crate) async fn restore(
        &mut self,
        cx: &Context,
        assignment: &[(TopicPartition, Option<Committed>)],
    ) -> Result<()> {
        self.windows.clear();
        self.marks.clear();
        self.positions.clear();
        self.replay_until.clear();
        self.emitted.clear();
        let now = Instant::now();
        for (tp, committed) in assignment {
            if cx.replay.is_some() {
                self.marks.assign(tp.partition, None, now);
            } else {
                self.restore_partition(cx, tp, committed.as_ref(), now)
                    .await?;
            }
        }
        Ok(())
    }

    /// A partition's checkpoint: its closing point and how far it had been read.
    async fn restore_partition(
        &mut self,
        cx: &Context,
        tp: &TopicPartition,
        committed: Option<&Committed>,
        now: Instant,
    ) -> Result<()> {
        let checkpoint = checkpoint::restore(
            cx.store.as_ref(),
            &cx.group,
            &tp.topic,
            tp.partition,
            committed,
        )
        .await?;
        // The partition's watermark restarts from what is actually re-read, not from the
        // checkpoint's `max_ts`: with the old maximum, the watermark could pass windows of
        // this partition whose ticks are still to be replayed, and those ticks would then be
        // skipped as already counted. Until it delivers again (or idles) the partition
        // holds the others back, exactly as at a first start.
        self.marks.assign(tp.partition, None, now);
        if let Some(c) = checkpoint {
            if let Some(closed) = c.closed_until {
                self.windows.restore_closed_until(tp.partition, closed);
            }
            self.replay_until.insert(tp.partition, c.read_to);
        }
        if let Some(c) = committed {
            self.positions.insert(tp.partition, c.offset);
        }
        Ok(())
    }
}

/// Feeds a polled batch to `add` record by record: a record adds its outputs (`Ok(true)`),
/// is an immediate copy that adds nothing (`Ok(false)`), or is a dead letter, logged and
/// collected in `dead`. Returns how many records added outputs.
pub(crate) fn each_record(
    batch: &[ConsumedRecord],
    dead: &mut Vec<DlqRecord>,
    mut add: impl FnMut(&ConsumedRecord) -> std::result::Result<bool, DlqRecord>,
) -> u64 {
    let mut added = 0;
    for record in batch {
        match add(record) {
            Ok(true) => added += 1,
            Ok(false) => {}
            Err(letter) => {
                tracing::warn!(reason = %letter.reason, topic = %record.topic, "dead-lettering a record");
                dead.push(letter);
            }
        }
    }
    added
}
