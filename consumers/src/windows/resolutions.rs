//! Several tumbling-window widths over the same ticks (1 minute, 5 minutes, 1 hour), driven
//! by one watermark.
//!
//! Every width sees every tick and closes its bins when the shared watermark passes their end,
//! so all widths share one `closed_until`. A tick can be late for the 1-minute windows and
//! still on time for the 5-minute one (whose bin ends later): each width decides for itself,
//! and the tick is counted as late (in the stats) when it is late for the finest width.

use std::collections::HashMap;

use super::{Added, Aggregate, EmittedWindow, TumblingWindows, WindowAcc, WindowStatus};
use crate::identity::TickKey;

/// The widths every price is aggregated into: (label, milliseconds), finest first.
pub const RESOLUTIONS: [(&str, i64); 3] = [("1m", 60_000), ("5m", 300_000), ("1h", 3_600_000)];

/// One [`TumblingWindows`] per width, aggregating with `A`.
#[derive(Debug)]
pub struct Resolutions<A = WindowAcc> {
    widths: Vec<TumblingWindows<A>>,
}

impl Resolutions {
    /// Price windows of each `(label, width_ms)`, finest first, with the same allowed
    /// lateness.
    pub fn new(resolutions: &[(&str, i64)], lateness_ms: i64) -> Self {
        Self::of_widths(resolutions, lateness_ms)
    }
}

impl<A: Aggregate> Resolutions<A> {
    /// Windows of each width aggregating with `A` (see [`Resolutions::new`]).
    pub fn of_widths(resolutions: &[(&str, i64)], lateness_ms: i64) -> Self {
        assert!(!resolutions.is_empty(), "at least one window width");
        Self {
            widths: resolutions
                .iter()
                .map(|(label, width)| TumblingWindows::of_width(label, *width, lateness_ms))
                .collect(),
        }
    }

    /// Adds a tick to every width. `replayed` ticks (read again after a restart) are skipped
    /// silently by a width whose bin had already closed before the checkpoint: they were
    /// counted then. Returns what the finest width did with it.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        crypto_id: &str,
        source: &str,
        key: impl Into<TickKey>,
        sample: impl Into<A::Sample>,
        partition: u32,
        offset: u64,
        replayed: bool,
    ) -> Option<Added> {
        let key = key.into();
        let sample: A::Sample = sample.into();
        let mut finest = None;
        for (i, w) in self.widths.iter_mut().enumerate() {
            if replayed && w.is_late(key.ts, partition) {
                continue;
            }
            let added = w.add(crypto_id, source, key, sample, partition, offset);
            if i == 0 {
                finest = Some(added);
            }
        }
        finest
    }

    /// Advances every width to the watermark's event time, emitting closed windows.
    pub fn advance(&mut self, event_time: Option<i64>, out: &mut Vec<EmittedWindow<A::Stats>>) {
        for w in &mut self.widths {
            w.advance(event_time, out);
        }
    }

    /// Emits every open window of every width without closing it.
    pub fn emit_open(&self, status: WindowStatus, out: &mut Vec<EmittedWindow<A::Stats>>) {
        for w in &self.widths {
            w.emit_open(status, out);
        }
    }

    /// Open windows over all widths.
    pub fn open_count(&self) -> usize {
        self.widths
            .iter()
            .map(TumblingWindows::<A>::open_count)
            .sum()
    }

    /// The smallest offset per partition of a tick in any open window of any width.
    pub fn first_open_offsets(&self, into: &mut HashMap<u32, u64>) {
        for w in &self.widths {
            w.first_open_offsets(into);
        }
    }

    /// The watermark's closing point (every width is advanced with the same watermark).
    pub fn closed_until(&self) -> Option<i64> {
        self.widths[0].closed_until()
    }

    /// The closing point of `partition`'s windows (see [`TumblingWindows::closed_until_of`]).
    pub fn closed_until_of(&self, partition: u32) -> Option<i64> {
        self.widths[0].closed_until_of(partition)
    }

    /// Restores `partition`'s closing point in every width from its checkpoint.
    pub fn restore_closed_until(&mut self, partition: u32, closed_until: i64) {
        for w in &mut self.widths {
            w.restore_closed_until(partition, closed_until);
        }
    }

    /// Forgets every open window and the closing point.
    pub fn clear(&mut self) {
        for w in &mut self.widths {
            w.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_width_closes_its_own_bins_and_lateness_is_per_width() {
        let mut r = Resolutions::new(&RESOLUTIONS, 0);
        let mut out = Vec::new();
        for s in 0..400 {
            r.add(
                "bitcoin",
                "sim",
                s * 1_000_i64,
                100.0 + s as f64,
                0,
                s as u64,
                false,
            );
        }
        r.advance(Some(400_000), &mut out);
        let by = |label: &str| out.iter().filter(|w| &*w.window == label).count();
        assert_eq!((by("1m"), by("5m"), by("1h")), (6, 1, 0));
        let five = out.iter().find(|w| &*w.window == "5m").unwrap();
        assert_eq!(
            (five.stats.count, five.stats.open, five.stats.close),
            (300, 100.0, 399.0)
        );
        // 00:04:30: its 1-minute and 5-minute bins have both closed, so it is late (the open
        // 1-hour bin still takes it); 00:06:10.5 falls in open bins of every width.
        assert_eq!(
            r.add("bitcoin", "sim", 270_000_i64, 1.0, 0, 400, false),
            Some(Added::Late)
        );
        assert_eq!(
            r.add("bitcoin", "sim", 370_500_i64, 1.0, 0, 401, false),
            Some(Added::Aggregated)
        );
        // A replayed tick of a closed bin is skipped without being reported.
        assert_eq!(r.add("bitcoin", "sim", 10_000_i64, 1.0, 0, 2, true), None);
        let mut first = HashMap::new();
        r.first_open_offsets(&mut first);
        assert_eq!(first[&0], 0, "the 1-hour window still holds the first tick");
    }
}
