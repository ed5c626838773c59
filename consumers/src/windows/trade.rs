//! The partial aggregate of one window of exchange trades: a trade candle.

use cryptoviz_measurements::trades::TakerSide;
use cryptoviz_schemas::CryptoTrade;

use super::Aggregate;
use crate::identity::TickKey;

/// What one trade contributes to a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TradeSample {
    /// The exchange's trade id: with the event time, the trade's order and identity.
    pub trade_id: i64,
    pub price: f64,
    /// Base-asset quantity.
    pub quantity: f64,
    pub side: TakerSide,
}

impl TradeSample {
    /// The sample of a decoded trade.
    pub fn of(trade: &CryptoTrade) -> Self {
        Self {
            trade_id: trade.trade_id,
            price: trade.price,
            quantity: trade.quantity,
            side: side(trade.side),
        }
    }
}

/// The stored taker side of a record's.
pub fn side(side: cryptoviz_schemas::TakerSide) -> TakerSide {
    match side {
        cryptoviz_schemas::TakerSide::Buy => TakerSide::Buy,
        cryptoviz_schemas::TakerSide::Sell => TakerSide::Sell,
    }
}

/// Running candle of the trades of one window.
///
/// Every distinct trade counts: trades are told apart by (event time, trade id), never by
/// event time alone, since many share a millisecond. Open and close are the first and last
/// trade by (event time, trade id) — the exchange's own order — whatever order they arrive
/// in. A second copy of a trade (same time, same id) changes nothing; the producers already
/// drop those by id, so this only guards a window against a source that sends one twice.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeAcc {
    trades: u64,
    open_at: (i64, i64),
    open: f64,
    close_at: (i64, i64),
    close: f64,
    high: f64,
    low: f64,
    volume: f64,
    quote_volume: f64,
    taker_buy_volume: f64,
    taker_sell_volume: f64,
    /// (event time, trade id) of every trade so far, sorted.
    seen: Vec<(i64, i64)>,
    first_offsets: Vec<(u32, u64)>,
}

/// The candle of a window of trades.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TradeStats {
    /// Trades in the window.
    pub trades: u64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    /// Σ quantity (base asset).
    pub volume: f64,
    /// Σ price × quantity (quote currency).
    pub quote_volume: f64,
    /// Quote volume over volume.
    pub vwap: f64,
    pub taker_buy_volume: f64,
    pub taker_sell_volume: f64,
}

impl Aggregate for TradeAcc {
    type Sample = TradeSample;
    type Stats = TradeStats;

    fn first(key: TickKey, t: TradeSample, partition: u32, offset: u64) -> Self {
        let at = (key.ts, t.trade_id);
        let mut acc = Self {
            trades: 0,
            open_at: at,
            open: t.price,
            close_at: at,
            close: t.price,
            high: t.price,
            low: t.price,
            volume: 0.0,
            quote_volume: 0.0,
            taker_buy_volume: 0.0,
            taker_sell_volume: 0.0,
            seen: vec![at],
            first_offsets: vec![(partition, offset)],
        };
        acc.count(t);
        acc
    }

    fn push(&mut self, key: TickKey, t: TradeSample, partition: u32, offset: u64) -> bool {
        let at = (key.ts, t.trade_id);
        // In-order trades append; out-of-order ones insert.
        if self.seen.last().is_some_and(|last| *last < at) {
            self.seen.push(at);
        } else {
            match self.seen.binary_search(&at) {
                Ok(_) => return false,
                Err(i) => self.seen.insert(i, at),
            }
        }
        if at < self.open_at {
            self.open_at = at;
            self.open = t.price;
        }
        if at > self.close_at {
            self.close_at = at;
            self.close = t.price;
        }
        self.high = self.high.max(t.price);
        self.low = self.low.min(t.price);
        self.count(t);
        match self.first_offsets.iter_mut().find(|(p, _)| *p == partition) {
            Some((_, first)) => *first = (*first).min(offset),
            None => self.first_offsets.push((partition, offset)),
        }
        true
    }

    fn finish(&self) -> TradeStats {
        TradeStats {
            trades: self.trades,
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            volume: self.volume,
            quote_volume: self.quote_volume,
            vwap: if self.volume > 0.0 {
                self.quote_volume / self.volume
            } else {
                self.close
            },
            taker_buy_volume: self.taker_buy_volume,
            taker_sell_volume: self.taker_sell_volume,
        }
    }

    fn first_offsets(&self) -> &[(u32, u64)] {
        &self.first_offsets
    }
}

impl TradeAcc {
    fn count(&mut self, t: TradeSample) {
        self.trades += 1;
        self.volume += t.quantity;
        self.quote_volume += t.price * t.quantity;
        match t.side {
            TakerSide::Buy => self.taker_buy_volume += t.quantity,
            TakerSide::Sell => self.taker_sell_volume += t.quantity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(trade_id: i64, price: f64, quantity: f64, side: TakerSide) -> TradeSample {
        TradeSample {
            trade_id,
            price,
            quantity,
            side,
        }
    }

    fn at(ts: i64) -> TickKey {
        TickKey::new(ts, 0, 0)
    }

    #[test]
    fn a_candle_of_trades_matches_a_direct_computation() {
        use TakerSide::{Buy, Sell};
        let trades = [
            (1_000, trade(10, 100.0, 0.5, Buy)),
            (1_200, trade(11, 104.0, 0.25, Sell)),
            (1_500, trade(12, 98.5, 2.0, Sell)),
            (59_999, trade(13, 101.0, 1.0, Buy)),
        ];
        let (ts, first) = trades[0];
        let mut acc = TradeAcc::first(at(ts), first, 0, 0);
        for (i, (ts, t)) in trades.iter().enumerate().skip(1) {
            assert!(acc.push(at(*ts), *t, 0, i as u64));
        }
        let s = acc.finish();
        assert_eq!(s.trades, 4);
        assert_eq!(
            (s.open, s.high, s.low, s.close),
            (100.0, 104.0, 98.5, 101.0)
        );
        assert_eq!(s.volume, 0.5 + 0.25 + 2.0 + 1.0);
        let quote = 100.0 * 0.5 + 104.0 * 0.25 + 98.5 * 2.0 + 101.0;
        assert_eq!(s.quote_volume, quote);
        assert_eq!(s.vwap, quote / 3.75);
        assert_eq!((s.taker_buy_volume, s.taker_sell_volume), (1.5, 2.25));
        assert_eq!(acc.first_offsets(), &[(0, 0)]);
    }

    #[test]
    fn trades_sharing_a_millisecond_all_count_in_trade_id_order() {
        use TakerSide::Buy;
        // Four trades in one millisecond, arriving out of their id order, and a copy of one.
        let mut acc = TradeAcc::first(at(7), trade(102, 3.0, 1.0, Buy), 1, 40);
        assert!(acc.push(at(7), trade(100, 1.0, 1.0, Buy), 1, 41));
        assert!(acc.push(at(7), trade(103, 4.0, 1.0, Buy), 2, 5));
        assert!(acc.push(at(7), trade(101, 2.0, 1.0, Buy), 1, 42));
        assert!(
            !acc.push(at(7), trade(101, 2.0, 1.0, Buy), 1, 43),
            "the same trade again"
        );
        let s = acc.finish();
        assert_eq!((s.trades, s.volume), (4, 4.0));
        assert_eq!(
            (s.open, s.close),
            (1.0, 4.0),
            "by trade id within the millisecond"
        );
        assert_eq!((s.low, s.high), (1.0, 4.0));
        assert_eq!(s.quote_volume, 10.0);
        assert_eq!(acc.first_offsets(), &[(1, 40), (2, 5)]);
    }

    #[test]
    fn an_earlier_event_time_opens_even_with_a_larger_id() {
        use TakerSide::Sell;
        let mut acc = TradeAcc::first(at(50), trade(1, 5.0, 1.0, Sell), 0, 0);
        acc.push(at(10), trade(9, 7.0, 3.0, Sell), 0, 1);
        let s = acc.finish();
        assert_eq!((s.open, s.close), (7.0, 5.0));
        assert_eq!((s.taker_buy_volume, s.taker_sell_volume), (0.0, 4.0));
        assert_eq!(s.vwap, (5.0 + 21.0) / 4.0);
    }
}
