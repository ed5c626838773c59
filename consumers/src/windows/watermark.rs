//! Per-partition event-time watermarks.
//!
//! Each partition's watermark is the largest event time read from it; the operator's
//! watermark is the smallest of them, minus the allowed lateness. Taking the minimum keeps a
//! partition that is read behind the others from having its ticks declared late; a partition
//! that has delivered nothing for `idle_timeout` (wall time) stops holding the others back,
//! as does one that never delivered anything once the timeout has passed since assignment.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
struct PartitionMark {
    max_ts: Option<i64>,
    last_seen: Instant,
}

/// Watermarks of the partitions a consumer reads.
#[derive(Debug, Clone)]
pub struct Watermarks {
    partitions: BTreeMap<u32, PartitionMark>,
    idle_timeout: Duration,
}

impl Watermarks {
    /// No partitions yet.
    pub fn new(idle_timeout: Duration) -> Self {
        Self {
            partitions: BTreeMap::new(),
            idle_timeout,
        }
    }

    /// Starts tracking `partition`, optionally from a checkpointed maximum event time.
    pub fn assign(&mut self, partition: u32, max_ts: Option<i64>, now: Instant) {
        self.partitions.insert(
            partition,
            PartitionMark {
                max_ts,
                last_seen: now,
            },
        );
    }

    /// Stops tracking every partition.
    pub fn clear(&mut self) {
        self.partitions.clear();
    }

    /// Notes a tick of `partition` at event time `ts`.
    pub fn observe(&mut self, partition: u32, ts: i64, now: Instant) {
        let mark = self.partitions.entry(partition).or_insert(PartitionMark {
            max_ts: None,
            last_seen: now,
        });
        mark.max_ts = Some(mark.max_ts.map_or(ts, |m| m.max(ts)));
        mark.last_seen = now;
    }

    /// Largest event time seen in `partition`.
    pub fn max_ts(&self, partition: u32) -> Option<i64> {
        self.partitions.get(&partition).and_then(|m| m.max_ts)
    }

    /// The event time below which every window is complete (before subtracting lateness):
    /// the minimum over active partitions. `None` while a partition that may still deliver
    /// holds everything back, or before any tick.
    pub fn event_time(&self, now: Instant) -> Option<i64> {
        let mut min: Option<i64> = None;
        let mut any = false;
        for mark in self.partitions.values() {
            let idle = now.saturating_duration_since(mark.last_seen) >= self.idle_timeout;
            match mark.max_ts {
                Some(ts) if !idle => {
                    any = true;
                    min = Some(min.map_or(ts, |m| m.min(ts)));
                }
                None if !idle => return None,
                _ => {}
            }
        }
        // When every partition is idle nothing advances: the stream has paused, and the
        // pipeline emits its open windows as provisional instead of closing them.
        if any { min } else { None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slowest_active_partition_sets_the_watermark() {
        let t0 = Instant::now();
        let mut w = Watermarks::new(Duration::from_secs(5));
        w.assign(0, None, t0);
        w.assign(1, None, t0);
        w.observe(0, 1_000, t0);
        assert_eq!(w.event_time(t0), None, "partition 1 may still deliver");
        w.observe(1, 400, t0);
        assert_eq!(w.event_time(t0), Some(400));
        w.observe(1, 900, t0);
        w.observe(0, 2_000, t0);
        assert_eq!(w.event_time(t0), Some(900));
    }

    #[test]
    fn idle_partition_stops_holding_back() {
        let t0 = Instant::now();
        let mut w = Watermarks::new(Duration::from_secs(5));
        w.assign(0, None, t0);
        w.assign(1, None, t0);
        w.assign(2, Some(100), t0);
        let later = t0 + Duration::from_secs(6);
        w.observe(0, 5_000, later);
        // Partition 1 never delivered and partition 2 is idle: only partition 0 counts.
        assert_eq!(w.event_time(later), Some(5_000));
    }

    #[test]
    fn a_paused_stream_does_not_advance() {
        let t0 = Instant::now();
        let mut w = Watermarks::new(Duration::from_secs(1));
        w.assign(0, None, t0);
        w.assign(1, None, t0);
        w.observe(0, 50, t0);
        w.observe(1, 70, t0);
        assert_eq!(w.event_time(t0), Some(50));
        assert_eq!(w.event_time(t0 + Duration::from_secs(2)), None);
    }
}
