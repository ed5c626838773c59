//! Event-time tumbling windows per coin and source.
//!
//! A tick at event time `ts` belongs to the bin `[ts - ts mod width, … + width)`. Each open bin
//! keeps a [`WindowAcc`] (a partial aggregate). When the watermark — the slowest active
//! partition's event time minus the allowed lateness, see [`Watermarks`] — passes a bin's end,
//! the bin is finished, emitted with status `closed` and dropped. A tick whose bin has already
//! closed is *late*: the operator reports it so the pipeline counts it (the tick itself is still
//! stored raw in `crypto_market`).
//!
//! Where windows are closed is known per partition: a coin's ticks all come from one partition
//! (the topic is keyed by coin), and after a rebalance each partition resumes from its own
//! checkpoint. A consumer that keeps partition A (closed up to 12:05) and inherits partition B
//! (closed up to 12:03 by its previous owner) must rebuild B's 12:03–12:05 windows from B's
//! re-read ticks, not skip them as A's closing point would say. Open bins can also be emitted without closing them —
//! `provisional` when the stream idles, `partial` on shutdown — and are emitted again, complete,
//! when they close; the store's idempotent writes replace the earlier version.
//!
//! What a bin aggregates is an [`Aggregate`]: [`WindowAcc`] for price ticks (candles and
//! statistics, `crypto_analytics`), [`TradeAcc`] for exchange trades (OHLC, volumes, VWAP,
//! taker sides, `crypto_trade_candles`). The binning, watermarks, lateness and checkpoints
//! are the same for both.

mod accumulator;
mod resolutions;
mod trade;
mod watermark;

use std::collections::HashMap;

use ahash::AHashMap;
use std::sync::Arc;

use crate::identity::TickKey;
use crate::indicators::IndicatorValues;

pub use accumulator::{Sample, WindowAcc, WindowStats};
pub use resolutions::{RESOLUTIONS, Resolutions};
pub use trade::{TradeAcc, TradeSample, TradeStats, side};
pub use watermark::Watermarks;

/// Why a window was emitted, declared with the `crypto_analytics` measurement.
pub use cryptoviz_measurements::analytics::WindowStatus;

/// A window's partial aggregate: what [`TumblingWindows`] keeps per open bin and finishes
/// into statistics when the bin is emitted.
pub trait Aggregate {
    /// What one record contributes.
    type Sample: Copy;
    /// The statistics of a window.
    type Stats: Clone + std::fmt::Debug + PartialEq;

    /// A window holding one record, read from `partition` at `offset`.
    fn first(key: TickKey, sample: Self::Sample, partition: u32, offset: u64) -> Self;

    /// Adds one record; returns false (and changes nothing) for a copy of a record already
    /// in the window.
    fn push(&mut self, key: TickKey, sample: Self::Sample, partition: u32, offset: u64) -> bool;

    /// The statistics as of now.
    fn finish(&self) -> Self::Stats;

    /// First offset of the window's records in each partition they came from: the log must
    /// not be committed past it while the window is open.
    fn first_offsets(&self) -> &[(u32, u64)];
}

/// One emitted window (of price statistics unless said otherwise).
#[derive(Debug, Clone, PartialEq)]
pub struct EmittedWindow<S = WindowStats> {
    pub crypto_id: Arc<str>,
    /// The series' source (for trades: the exchange).
    pub source: Arc<str>,
    /// Window label, e.g. `1m`.
    pub window: Arc<str>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub stats: S,
    pub status: WindowStatus,
    /// Indicators of the series up to this window (set by [`crate::candles`] for price
    /// windows; empty for the others).
    pub indicators: IndicatorValues,
}

/// What happened to one tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Aggregated into an open window.
    Aggregated,
    /// Its window had already closed.
    Late,
    /// Its window already holds a copy of it (same event time, same bytes: a record the source
    /// sent twice): ignored.
    Duplicate,
}

/// Tumbling windows of one width over many (coin, source) keys, aggregating with `A`.
#[derive(Debug)]
pub struct TumblingWindows<A = WindowAcc> {
    label: Arc<str>,
    width_ms: i64,
    lateness_ms: i64,
    /// source → crypto_id → key index; two levels so lookups borrow `&str` without allocating.
    keys: AHashMap<String, AHashMap<String, u32>>,
    names: Vec<(Arc<str>, Arc<str>)>,
    open: AHashMap<(u32, i64), A>,
    /// Windows ending at or before this event time are closed (the watermark's closing
    /// point, common to every partition).
    closed_until: Option<i64>,
    /// Partitions whose checkpoint closed windows further than `closed_until`: their own
    /// closing point.
    restored: HashMap<u32, i64>,
}

impl TumblingWindows {
    /// Price windows of `width_ms` labelled `label`, closing `lateness_ms` after the
    /// watermark's event time passes their end.
    pub fn new(label: &str, width_ms: i64, lateness_ms: i64) -> Self {
        Self::of_width(label, width_ms, lateness_ms)
    }
}

impl<A: Aggregate> TumblingWindows<A> {
    /// Windows of `width_ms` aggregating with `A` (see [`TumblingWindows::new`]).
    pub fn of_width(label: &str, width_ms: i64, lateness_ms: i64) -> Self {
        assert!(width_ms > 0, "window width must be positive");
        Self {
            label: label.into(),
            width_ms,
            lateness_ms: lateness_ms.max(0),
            keys: AHashMap::new(),
            names: Vec::new(),
            open: AHashMap::new(),
            closed_until: None,
            restored: HashMap::new(),
        }
    }

    /// The label, e.g. `1m`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Event time up to which the watermark has closed windows (in every partition).
    pub fn closed_until(&self) -> Option<i64> {
        self.closed_until
    }

    /// Event time up to which windows of `partition`'s ticks are closed: the watermark's
    /// closing point or the partition's restored checkpoint, whichever is further.
    pub fn closed_until_of(&self, partition: u32) -> Option<i64> {
        match (self.closed_until, self.restored.get(&partition)) {
            (Some(c), Some(r)) => Some(c.max(*r)),
            (c, r) => c.or(r.copied()),
        }
    }

    /// Restores `partition`'s closing point from its checkpoint (monotonic: never moves
    /// back). Other partitions keep theirs.
    pub fn restore_closed_until(&mut self, partition: u32, closed_until: i64) {
        let c = self.restored.entry(partition).or_insert(closed_until);
        *c = (*c).max(closed_until);
    }

    /// Number of open windows.
    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// Forgets every open window and the closing points (before a rebuild from a checkpoint).
    pub fn clear(&mut self) {
        self.open.clear();
        self.closed_until = None;
        self.restored.clear();
    }

    /// Whether a tick of `partition` at `ts` falls in a window that has already closed.
    pub fn is_late(&self, ts: i64, partition: u32) -> bool {
        let end = self.bin_start(ts).saturating_add(self.width_ms);
        self.closed_until_of(partition).is_some_and(|c| end <= c)
    }

    /// The start of `ts`'s bin. In release builds overflow wraps, so this saturates: the bin
    /// of an event time within one width of `i64::MIN` would start before it (decoding
    /// dead-letters such times long before they get here; this keeps the operator sound if
    /// one does).
    fn bin_start(&self, ts: i64) -> i64 {
        ts.saturating_sub(ts.rem_euclid(self.width_ms))
    }

    fn key(&mut self, crypto_id: &str, source: &str) -> u32 {
        if let Some(k) = self.keys.get(source).and_then(|m| m.get(crypto_id)) {
            return *k;
        }
        let k = self.names.len() as u32;
        self.names.push((crypto_id.into(), source.into()));
        self.keys
            .entry(source.to_string())
            .or_default()
            .insert(crypto_id.to_string(), k);
        k
    }

    /// Adds one tick (a quote, a candle, a trade) read from `partition` at `offset`.
    pub fn add(
        &mut self,
        crypto_id: &str,
        source: &str,
        key: impl Into<TickKey>,
        sample: impl Into<A::Sample>,
        partition: u32,
        offset: u64,
    ) -> Added {
        let tick: TickKey = key.into();
        let ts = tick.ts;
        let sample: A::Sample = sample.into();
        if self.is_late(ts, partition) {
            return Added::Late;
        }
        let key = self.key(crypto_id, source);
        let bin = self.bin_start(ts);
        match self.open.entry((key, bin)) {
            std::collections::hash_map::Entry::Occupied(mut acc) => {
                if !acc.get_mut().push(tick, sample, partition, offset) {
                    return Added::Duplicate;
                }
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(A::first(tick, sample, partition, offset));
            }
        }
        Added::Aggregated
    }

    /// Advances to the watermark event time `event_time` (the slowest partition's) and emits,
    /// in (start, key) order, every window that ends at or before `event_time - lateness`.
    pub fn advance(&mut self, event_time: Option<i64>, out: &mut Vec<EmittedWindow<A::Stats>>) {
        let Some(event_time) = event_time else { return };
        let watermark = event_time.saturating_sub(self.lateness_ms);
        if self.closed_until.is_some_and(|c| watermark <= c) {
            return;
        }
        self.closed_until = Some(watermark);
        let width = self.width_ms;
        let mut done: Vec<(u32, i64)> = self
            .open
            .keys()
            .filter(|(_, bin)| bin.saturating_add(width) <= watermark)
            .copied()
            .collect();
        done.sort_unstable_by_key(|(k, bin)| (*bin, *k));
        for key in done {
            if let Some(acc) = self.open.remove(&key) {
                out.push(self.emit(key, &acc, WindowStatus::Closed));
            }
        }
    }

    /// Emits every open window as it stands, without closing it.
    pub fn emit_open(&self, status: WindowStatus, out: &mut Vec<EmittedWindow<A::Stats>>) {
        let mut keys: Vec<&(u32, i64)> = self.open.keys().collect();
        keys.sort_unstable_by_key(|(k, bin)| (*bin, *k));
        for key in keys {
            out.push(self.emit(*key, &self.open[key], status));
        }
    }

    /// The smallest offset, per partition, of a tick in an open window: committing the log
    /// past it would lose the window's ticks on a crash.
    pub fn first_open_offsets(&self, into: &mut HashMap<u32, u64>) {
        for acc in self.open.values() {
            for &(partition, offset) in acc.first_offsets() {
                into.entry(partition)
                    .and_modify(|o| *o = (*o).min(offset))
                    .or_insert(offset);
            }
        }
    }

    fn emit(
        &self,
        (key, bin): (u32, i64),
        acc: &A,
        status: WindowStatus,
    ) -> EmittedWindow<A::Stats> {
        let (crypto_id, source) = &self.names[key as usize];
        EmittedWindow {
            crypto_id: crypto_id.clone(),
            source: source.clone(),
            window: self.label.clone(),
            start_ms: bin,
            end_ms: bin.saturating_add(self.width_ms),
            stats: acc.finish(),
            status,
            indicators: IndicatorValues::default(),
        }
    }
}

#[cfg(test)]
mod tests;
