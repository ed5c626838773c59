//! Per-symbol trade-id bookkeeping. The three exchanges number each symbol's trades
//! contiguously, so an id at or below the last one seen is a duplicate (dropped), and an id
//! past the next one opens a gap (filled from REST). Time plays no part: many trades share a
//! millisecond, and every one of them counts.

use std::collections::HashMap;

/// The missing trade ids `first..=last` of one symbol, after the trade (the last one seen)
/// made at `after_time_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// First missing id.
    pub first: i64,
    /// Last missing id.
    pub last: i64,
    /// Exchange time of the trade just before the gap (Kraken's REST pages by time).
    pub after_time_ms: i64,
}

impl Gap {
    /// Number of missing trades.
    pub fn len(&self) -> u64 {
        (self.last - self.first + 1).max(0) as u64
    }

    /// Whether nothing is missing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `id` is one of the missing ones.
    pub fn contains(&self, id: i64) -> bool {
        (self.first..=self.last).contains(&id)
    }
}

/// What to do with a trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The next trade (or the first seen of its symbol): publish it.
    Next,
    /// Seen already: drop it.
    Duplicate,
    /// New, but trades are missing before it: fill the gap, then publish it.
    AfterGap(Gap),
}

/// The last trade id (and its time) of each symbol, kept across reconnects.
#[derive(Debug, Default)]
pub struct TradeIds {
    last: HashMap<String, (i64, i64)>,
    announced: HashMap<String, i64>,
}

impl TradeIds {
    /// The verdict on trade `id` of `symbol` (nothing is recorded: see [`Self::accept`]).
    pub fn check(&self, symbol: &str, id: i64) -> Verdict {
        match self.last.get(symbol) {
            None => Verdict::Next,
            Some(&(last, _)) if id <= last => Verdict::Duplicate,
            Some(&(last, _)) if id == last + 1 => Verdict::Next,
            Some(&(last, time)) => Verdict::AfterGap(Gap {
                first: last + 1,
                last: id - 1,
                after_time_ms: time,
            }),
        }
    }

    /// Records trade `id` of `symbol`, made at `time_ms`, as the last one handled (ids only
    /// move forward).
    pub fn accept(&mut self, symbol: &str, id: i64, time_ms: i64) {
        match self.last.get_mut(symbol) {
            Some(entry) => {
                if id > entry.0 {
                    *entry = (id, time_ms.max(entry.1));
                }
            }
            None => {
                self.last.insert(symbol.to_string(), (id, time_ms));
            }
        }
    }

    /// The last id handled for `symbol` and its time.
    pub fn last(&self, symbol: &str) -> Option<(i64, i64)> {
        self.last.get(symbol).copied()
    }

    /// The exchange says `symbol`'s newest trade is `trade_id` (Coinbase heartbeat). Returns
    /// the gap when the id announced by the *previous* announcement has still not arrived:
    /// waiting one announcement lets a trade sent just after the heartbeat arrive first.
    pub fn announce(&mut self, symbol: &str, trade_id: i64) -> Option<Gap> {
        let previous = self.announced.insert(symbol.to_string(), trade_id);
        let (last, time) = self.last(symbol)?;
        match previous {
            Some(announced) if announced > last => Some(Gap {
                first: last + 1,
                last: announced,
                after_time_ms: time,
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_gaps_are_judged_by_id() {
        let mut ids = TradeIds::default();
        assert_eq!(ids.check("BTCUSDT", 10), Verdict::Next);
        ids.accept("BTCUSDT", 10, 1_000);
        // Same millisecond, next id: new. Same id again: duplicate.
        assert_eq!(ids.check("BTCUSDT", 11), Verdict::Next);
        ids.accept("BTCUSDT", 11, 1_000);
        assert_eq!(ids.check("BTCUSDT", 11), Verdict::Duplicate);
        assert_eq!(ids.check("BTCUSDT", 3), Verdict::Duplicate);
        assert_eq!(
            ids.check("BTCUSDT", 15),
            Verdict::AfterGap(Gap {
                first: 12,
                last: 14,
                after_time_ms: 1_000
            })
        );
        // Another symbol has its own sequence.
        assert_eq!(ids.check("ETHUSDT", 1), Verdict::Next);
        // Ids never move back.
        ids.accept("BTCUSDT", 5, 2_000);
        assert_eq!(ids.last("BTCUSDT"), Some((11, 1_000)));
    }

    #[test]
    fn an_announced_id_must_arrive_by_the_next_announcement() {
        let mut ids = TradeIds::default();
        assert_eq!(ids.announce("BTC-USD", 7), None, "nothing seen yet");
        ids.accept("BTC-USD", 7, 1);
        assert_eq!(ids.announce("BTC-USD", 9), None, "first word of 9");
        ids.accept("BTC-USD", 8, 2);
        let gap = ids.announce("BTC-USD", 9).expect("9 still missing");
        assert_eq!((gap.first, gap.last, gap.len()), (9, 9, 1));
        ids.accept("BTC-USD", 9, 3);
        assert_eq!(ids.announce("BTC-USD", 9), None);
    }
}
