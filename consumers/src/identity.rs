//! What makes a tick distinct: its series, its event time and its content — never its event
//! time alone.
//!
//! Real streams put several records of one series in one millisecond (trades do all the time;
//! a 5M-tick history file has 3.4 % of its rows sharing a coin and a millisecond with
//! another). Each of them counts. Two records are the same record only when they are equal
//! byte for byte (the Avro frame the producer encoded), which is what a source sending one
//! record twice, or a history file imported twice, produces. Redeliveries by the log itself
//! (a restart re-reading past its commit) are handled by log position, in the pipeline and
//! the window checkpoints, not here.
//!
//! In the store a point is identified by its series and its timestamp, so the raw point of a
//! tick is stamped `event time + a sub-millisecond offset` ([`SubMillis`]): the offset is a
//! function of the record's content hash ([`content_hash`]), so a replay rewrites the same
//! point and a record sent twice lands on its own point again (idempotent), while distinct
//! records of one millisecond get distinct points. Two distinct records of one series whose
//! hashes map to the same offset in the same millisecond (a chance of one in a million per
//! pair) are told apart by probing to the next free offset among the records of that
//! millisecond seen in a row; the probe is deterministic because a replay re-reads the same
//! records in the same order.

use ahash::AHashMap;

/// Nanoseconds in a millisecond: the room for sub-millisecond offsets.
pub const NANOS_PER_MS: u32 = 1_000_000;

/// A stable 64-bit hash of a record's bytes (XXH3: the same on every platform and version, so
/// the offsets it gives are the same after an upgrade).
pub fn content_hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// The offset a content hash asks for, before probing.
pub fn preferred_offset(hash: u64) -> u32 {
    (hash % u64::from(NANOS_PER_MS)) as u32
}

/// A tick's place and identity within its series: event time, sub-millisecond offset (its
/// order among the ticks of one millisecond, and its point's timestamp in the store) and
/// content hash (what tells a second copy from a second record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickKey {
    /// Event time, ms.
    pub ts: i64,
    /// Nanoseconds after `ts` (below [`NANOS_PER_MS`]).
    pub sub_ns: u32,
    /// [`content_hash`] of the record.
    pub hash: u64,
}

impl TickKey {
    /// The key of a record at `ts` with content `hash` and offset `sub_ns`.
    pub fn new(ts: i64, sub_ns: u32, hash: u64) -> Self {
        Self { ts, sub_ns, hash }
    }

    /// Position in the series: event time, then the sub-millisecond offset.
    pub fn order(&self) -> (i64, u32) {
        (self.ts, self.sub_ns)
    }
}

impl From<i64> for TickKey {
    /// The key of the only record at `ts` (tests and one-record-per-millisecond callers): the
    /// content is taken to be the time itself, so a second record at `ts` is a copy.
    fn from(ts: i64) -> Self {
        Self::new(ts, 0, ts as u64)
    }
}

/// What [`SubMillis::assign`] decided for one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// A distinct record: store it at `event time + offset_ns`.
    Distinct {
        /// Nanoseconds added to the millisecond event time.
        offset_ns: u32,
    },
    /// The same bytes as a record of this series and millisecond seen just before: a record
    /// the source sent twice.
    Duplicate,
}

/// The records of one series in its latest millisecond.
#[derive(Debug, Default)]
struct LastMilli {
    ts: i64,
    /// (content hash, offset) of every distinct record of `ts` seen so far.
    records: Vec<(u64, u32)>,
}

/// Assigns sub-millisecond offsets per series, remembering each series' latest millisecond.
#[derive(Debug, Default)]
pub struct SubMillis {
    /// source → crypto_id → latest millisecond; two levels so lookups borrow `&str`.
    series: AHashMap<String, AHashMap<String, LastMilli>>,
}

impl SubMillis {
    /// Nothing remembered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets everything (before a rebuild from a checkpoint).
    pub fn clear(&mut self) {
        self.series.clear();
    }

    /// The identity of a record of series (`crypto_id`, `source`) at `ts` with content
    /// `hash`.
    pub fn assign(&mut self, crypto_id: &str, source: &str, ts: i64, hash: u64) -> Identity {
        let by_coin = match self.series.get_mut(source) {
            Some(m) => m,
            None => self.series.entry(source.to_string()).or_default(),
        };
        let last = match by_coin.get_mut(crypto_id) {
            Some(l) => l,
            None => by_coin.entry(crypto_id.to_string()).or_default(),
        };
        if last.ts != ts || last.records.is_empty() {
            last.ts = ts;
            last.records.clear();
        }
        if last.records.iter().any(|(h, _)| *h == hash) {
            return Identity::Duplicate;
        }
        let mut offset = preferred_offset(hash);
        while last.records.iter().any(|(_, o)| *o == offset) {
            offset = (offset + 1) % NANOS_PER_MS;
        }
        last.records.push((hash, offset));
        Identity::Distinct { offset_ns: offset }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_records_of_one_millisecond_get_distinct_offsets() {
        let mut s = SubMillis::new();
        let a = s.assign("bitcoin", "binance", 1_000, 7);
        let b = s.assign("bitcoin", "binance", 1_000, 8);
        assert_ne!(a, b);
        assert_eq!(
            s.assign("bitcoin", "binance", 1_000, 7),
            Identity::Duplicate
        );
        // Another series or another millisecond starts afresh.
        assert_eq!(s.assign("ethereum", "binance", 1_000, 7), a);
        assert_eq!(s.assign("bitcoin", "binance", 1_001, 7), a);
    }

    #[test]
    fn a_colliding_offset_probes_to_the_next_free_one() {
        let mut s = SubMillis::new();
        let n = u64::from(NANOS_PER_MS);
        // Hashes 5, 5 + n and 5 + 2n all prefer offset 5.
        let got: Vec<Identity> = [5, 5 + n, 5 + 2 * n]
            .into_iter()
            .map(|h| s.assign("c", "s", 0, h))
            .collect();
        let offsets: Vec<u32> = got
            .iter()
            .map(|i| match i {
                Identity::Distinct { offset_ns } => *offset_ns,
                Identity::Duplicate => panic!("distinct records"),
            })
            .collect();
        assert_eq!(offsets, vec![5, 6, 7]);
        // The top offset wraps to 0.
        let top = u64::from(NANOS_PER_MS - 1);
        assert_eq!(
            s.assign("c", "s", 1, top),
            Identity::Distinct {
                offset_ns: NANOS_PER_MS - 1
            }
        );
        assert_eq!(
            s.assign("c", "s", 1, top + n),
            Identity::Distinct { offset_ns: 0 }
        );
    }

    #[test]
    fn the_hash_is_stable() {
        // XXH3-64 of "abc", from the reference implementation's test vectors.
        assert_eq!(content_hash(b"abc"), 0x78af_5f94_892f_3950);
    }
}
