//! Where a replay starts and stops, and which records it keeps.

use std::collections::BTreeMap;

use cryptoviz_log::{ConsumedRecord, Log, SeekTo, TopicPartition};

use crate::Result;

/// Widest window: time bounds are aligned to it.
pub const ALIGN_MS: i64 = 3_600_000;

pub use cryptoviz_measurements::replay::{ReplayFrom, ReplayTo};

/// What a replay reads, and how far it has got.
#[derive(Clone, Debug)]
pub struct ReplayBounds {
    from: ReplayFrom,
    to: Option<ReplayTo>,
    lateness_ms: i64,
    /// Per partition: the offset to stop at (the log's end at the start, or `--to`'s offset).
    ends: BTreeMap<TopicPartition, u64>,
    /// Partitions that have delivered a record at or past their end.
    reached: BTreeMap<TopicPartition, bool>,
    /// Records read in range.
    pub kept: u64,
    /// Records read but outside the range (before `from` or after `to`).
    pub skipped: u64,
    /// Records between the start and end offsets, over all partitions.
    total: u64,
}

impl ReplayBounds {
    /// Bounds over `topics`, with the ends taken from the log now.
    pub async fn new(
        log: &dyn Log,
        topics: &[&str],
        from: ReplayFrom,
        to: Option<ReplayTo>,
        lateness_ms: i64,
    ) -> Result<Self> {
        let mut ends = BTreeMap::new();
        let mut reached = BTreeMap::new();
        let mut total = 0;
        for topic in topics {
            for (partition, (start, end)) in log.offsets(topic).await?.into_iter().enumerate() {
                let tp = TopicPartition::new(*topic, partition as u32);
                let end = match to {
                    Some(ReplayTo::Offset(o)) => end.min(o),
                    _ => end,
                };
                let first = match from {
                    ReplayFrom::Offset(o) => o.max(start),
                    _ => start,
                };
                total += end.saturating_sub(first);
                reached.insert(tp.clone(), first >= end);
                ends.insert(tp, end);
            }
        }
        Ok(Self {
            from,
            to,
            lateness_ms: lateness_ms.max(0),
            ends,
            reached,
            kept: 0,
            skipped: 0,
            total,
        })
    }

    /// First event time replayed (aligned), if the start is a time.
    pub fn from_ms(&self) -> Option<i64> {
        match self.from {
            ReplayFrom::Time(t) => Some(align_down(t)),
            _ => None,
        }
    }

    /// End of the replayed event time (aligned, exclusive), if the end is a time.
    pub fn to_ms(&self) -> Option<i64> {
        match self.to {
            Some(ReplayTo::Time(t)) => Some(align_up(t)),
            _ => None,
        }
    }

    /// Where to start reading `tp`.
    pub fn seek_to(&self) -> SeekTo {
        match self.from {
            ReplayFrom::Beginning => SeekTo::Beginning,
            ReplayFrom::Offset(o) => SeekTo::Offset(o),
            ReplayFrom::Time(t) => SeekTo::Timestamp(align_down(t) - self.lateness_ms),
        }
    }

    /// Whether `record` is in range; notes partitions that got to their end.
    pub fn keep(&mut self, record: &ConsumedRecord) -> bool {
        let tp = TopicPartition::new(&*record.topic, record.partition);
        let end = self.ends.get(&tp).copied().unwrap_or(0);
        if record.offset + 1 >= end {
            self.reached.insert(tp, true);
        }
        let in_range = record.offset < end
            && self
                .from_ms()
                .is_none_or(|from| record.timestamp_ms >= from)
            && self.to_ms().is_none_or(|to| record.timestamp_ms < to)
            && match self.from {
                ReplayFrom::Offset(o) => record.offset >= o,
                _ => true,
            };
        if in_range {
            self.kept += 1;
        } else {
            self.skipped += 1;
        }
        in_range
    }

    /// Whether every partition has been read to its end.
    pub fn complete(&self) -> bool {
        self.reached.values().all(|r| *r)
    }

    /// Records between the start and end offsets (for a time start: from the beginning, an
    /// upper bound).
    pub fn total(&self) -> u64 {
        self.total
    }
}

/// `t` rounded down to a whole hour.
pub fn align_down(t: i64) -> i64 {
    t - t.rem_euclid(ALIGN_MS)
}

/// `t` rounded up to a whole hour.
pub fn align_up(t: i64) -> i64 {
    let down = align_down(t);
    if down == t { t } else { down + ALIGN_MS }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn record(partition: u32, offset: u64, ts: i64) -> ConsumedRecord {
        ConsumedRecord {
            topic: Arc::from("t"),
            partition,
            offset,
            timestamp_ms: ts,
            key: None,
            value: bytes::Bytes::new(),
        }
    }

    fn bounds(from: ReplayFrom, to: Option<ReplayTo>, ends: &[u64]) -> ReplayBounds {
        let ends: BTreeMap<_, _> = ends
            .iter()
            .enumerate()
            .map(|(p, e)| (TopicPartition::new("t", p as u32), *e))
            .collect();
        ReplayBounds {
            from,
            to,
            lateness_ms: 5_000,
            reached: ends.iter().map(|(tp, e)| (tp.clone(), *e == 0)).collect(),
            total: ends.values().sum(),
            ends,
            kept: 0,
            skipped: 0,
        }
    }

    #[test]
    fn time_bounds_align_to_whole_hours() {
        let h = ALIGN_MS;
        let b = bounds(
            ReplayFrom::Time(3 * h + 10),
            Some(ReplayTo::Time(5 * h + 1)),
            &[10],
        );
        assert_eq!(b.from_ms(), Some(3 * h));
        assert_eq!(b.to_ms(), Some(6 * h));
        // Reading starts a lateness earlier: late ticks precede the hour's first tick.
        assert!(matches!(b.seek_to(), SeekTo::Timestamp(t) if t == 3 * h - 5_000));
        assert_eq!(align_up(6 * h), 6 * h);
        assert_eq!(align_down(-1), -h);
    }

    #[test]
    fn keeps_only_the_range_and_completes_at_every_partitions_end() {
        let h = ALIGN_MS;
        let mut b = bounds(ReplayFrom::Time(h), Some(ReplayTo::Time(2 * h)), &[3, 0, 2]);
        assert!(!b.complete());
        assert!(!b.keep(&record(0, 0, h - 1)), "before the aligned start");
        assert!(b.keep(&record(0, 1, h)));
        assert!(
            !b.keep(&record(0, 2, 2 * h)),
            "at the aligned end (exclusive)"
        );
        assert!(!b.complete(), "partition 2 not read yet");
        assert!(b.keep(&record(2, 1, 2 * h - 1)));
        assert!(b.complete());
        assert!(
            !b.keep(&record(2, 2, h)),
            "appended after the replay started"
        );
        assert_eq!((b.kept, b.skipped), (2, 3));
    }

    #[test]
    fn bounds_parse_from_text() {
        assert_eq!("beginning".parse(), Ok(ReplayFrom::Beginning));
        assert_eq!("42".parse(), Ok(ReplayFrom::Offset(42)));
        assert_eq!(
            "2026-01-01T01:00:00Z".parse(),
            Ok(ReplayTo::Time(1_767_229_200_000))
        );
        let err = "yesterday".parse::<ReplayFrom>().unwrap_err();
        assert!(
            err.contains("`yesterday`") && err.contains("beginning"),
            "{err}"
        );
        assert!("beginning".parse::<ReplayTo>().is_err());
    }

    #[test]
    fn offset_bounds_apply_to_every_partition() {
        let mut b = bounds(ReplayFrom::Offset(2), Some(ReplayTo::Offset(4)), &[4, 4]);
        assert!(!b.keep(&record(0, 1, 0)));
        assert!(b.keep(&record(0, 2, 0)));
        assert!(b.keep(&record(0, 3, 0)));
        assert!(!b.complete());
        assert!(b.keep(&record(1, 3, 0)));
        assert!(b.complete());
    }
}
