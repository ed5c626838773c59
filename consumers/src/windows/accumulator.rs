//! The partial aggregate of one window: everything its statistics need, updated per tick.

use cryptoviz_schemas::CryptoPrice;

use super::Aggregate;
use crate::identity::TickKey;

/// What one record contributes to a window: a quote (one price) or a candle (imported
/// history, or any pre-aggregated interval), with the volume traded if known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    /// Base-asset units traded; `None` when the source does not say.
    pub volume: Option<f64>,
}

impl Sample {
    /// The sample of a price record: its candle, or its price as a one-point candle.
    pub fn of(price: &CryptoPrice) -> Self {
        let (open, high, low, close) = price.ohlc();
        Self {
            open,
            high,
            low,
            close,
            volume: price.volume,
        }
    }

    /// The price at which the sample's volume is taken to have traded: the price of a quote,
    /// the typical price (high + low + close) / 3 of a candle (the usual VWAP approximation
    /// when only candles are known).
    pub fn typical(&self) -> f64 {
        if self.high == self.low {
            self.close
        } else {
            (self.high + self.low + self.close) / 3.0
        }
    }
}

impl From<f64> for Sample {
    /// A quote without volume.
    fn from(price: f64) -> Self {
        Self {
            open: price,
            high: price,
            low: price,
            close: price,
            volume: None,
        }
    }
}

/// Running statistics of the samples of one window.
///
/// The window's candle merges its samples': the open of the earliest, the highest high, the
/// lowest low, the close of the latest (ticks of one millisecond are ordered by their
/// sub-millisecond offset, as their points are in the store), the summed volume — so 1-minute candles resample exactly into 5-minute and
/// 1-hour ones. Mean, standard deviation and volatility are over the samples' closes (each
/// tick's price), with Welford's update, which stays accurate where a naive sum of squares
/// loses digits (prices near 95,000 with cent-level moves). VWAP is Σ(typical × volume) /
/// Σ volume over the samples that carry a volume.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowAcc {
    pub count: u64,
    pub mean: f64,
    m2: f64,
    pub min: f64,
    pub max: f64,
    /// (event time, sub-millisecond offset) of the opening sample.
    pub open_at: (i64, u32),
    pub open: f64,
    /// (event time, sub-millisecond offset) of the closing sample.
    pub close_at: (i64, u32),
    pub close: f64,
    /// Σ volume of the samples that have one (`None`: no sample had a volume).
    pub volume: Option<f64>,
    /// Σ typical price × volume.
    price_volume: f64,
    /// (event time, content hash) of every sample aggregated so far, sorted: a second copy of
    /// a record (same time, same bytes) is ignored, while distinct records of one
    /// millisecond all count (see [`crate::identity`]).
    seen: Vec<(i64, u64)>,
    /// First offset of this window's ticks in each partition they came from: the log must not
    /// be committed past it while the window is open.
    pub first_offsets: Vec<(u32, u64)>,
}

impl Aggregate for WindowAcc {
    type Sample = Sample;
    type Stats = WindowStats;

    fn first(key: TickKey, sample: Sample, partition: u32, offset: u64) -> Self {
        WindowAcc::new(key, sample, partition, offset)
    }

    fn push(&mut self, key: TickKey, sample: Sample, partition: u32, offset: u64) -> bool {
        self.add(key, sample, partition, offset)
    }

    fn finish(&self) -> WindowStats {
        self.stats()
    }

    fn first_offsets(&self) -> &[(u32, u64)] {
        &self.first_offsets
    }
}

/// The finished statistics of a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowStats {
    pub count: u64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub mean: f64,
    /// Sample standard deviation (n − 1); `None` for a single tick.
    pub stddev: Option<f64>,
    /// stddev / mean × 100.
    pub volatility_pct: Option<f64>,
    /// Base-asset units traded in the window; `None` when no sample carried a volume.
    pub volume: Option<f64>,
    /// Volume-weighted average price; `None` without volume (or with zero volume).
    pub vwap: Option<f64>,
}

impl WindowAcc {
    /// A window holding one sample.
    pub fn new(key: impl Into<TickKey>, sample: Sample, partition: u32, offset: u64) -> Self {
        let key = key.into();
        Self {
            count: 1,
            mean: sample.close,
            m2: 0.0,
            min: sample.low,
            max: sample.high,
            open_at: key.order(),
            open: sample.open,
            close_at: key.order(),
            close: sample.close,
            volume: sample.volume,
            price_volume: sample.volume.map_or(0.0, |v| v * sample.typical()),
            seen: vec![(key.ts, key.hash)],
            first_offsets: vec![(partition, offset)],
        }
    }

    /// Adds one sample; returns false (and changes nothing) for a copy of a sample already in
    /// the window (same event time, same content hash).
    pub fn add(
        &mut self,
        key: impl Into<TickKey>,
        sample: Sample,
        partition: u32,
        offset: u64,
    ) -> bool {
        let key = key.into();
        let id = (key.ts, key.hash);
        // In-order ticks append; out-of-order ones insert.
        if self.seen.last().is_some_and(|last| *last < id) {
            self.seen.push(id);
        } else {
            match self.seen.binary_search(&id) {
                Ok(_) => return false,
                Err(at) => self.seen.insert(at, id),
            }
        }
        self.count += 1;
        let price = sample.close;
        let delta = price - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (price - self.mean);
        self.min = self.min.min(sample.low);
        self.max = self.max.max(sample.high);
        let at = key.order();
        if at < self.open_at {
            self.open_at = at;
            self.open = sample.open;
        }
        if at >= self.close_at {
            self.close_at = at;
            self.close = price;
        }
        if let Some(v) = sample.volume {
            self.volume = Some(self.volume.unwrap_or(0.0) + v);
            self.price_volume += v * sample.typical();
        }
        match self.first_offsets.iter_mut().find(|(p, _)| *p == partition) {
            Some((_, first)) => *first = (*first).min(offset),
            None => self.first_offsets.push((partition, offset)),
        }
        true
    }

    /// The statistics as of now.
    pub fn stats(&self) -> WindowStats {
        let stddev = (self.count > 1).then(|| (self.m2 / (self.count - 1) as f64).max(0.0).sqrt());
        WindowStats {
            count: self.count,
            open: self.open,
            high: self.max,
            low: self.min,
            close: self.close,
            mean: self.mean,
            stddev,
            volatility_pct: stddev.map(|s| s / self.mean * 100.0),
            volume: self.volume,
            vwap: self
                .volume
                .filter(|v| *v > 0.0)
                .map(|v| self.price_volume / v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_match_a_direct_computation() {
        let prices = [100.0, 101.5, 99.25, 100.75, 102.0];
        let mut acc = WindowAcc::new(0_i64, prices[0].into(), 0, 0);
        for (i, p) in prices.iter().enumerate().skip(1) {
            acc.add(i as i64, (*p).into(), 0, i as u64);
        }
        let s = acc.stats();
        let n = prices.len() as f64;
        let mean = prices.iter().sum::<f64>() / n;
        let var = prices.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / (n - 1.0);
        assert_eq!(s.count, 5);
        assert_eq!(
            (s.open, s.close, s.high, s.low),
            (100.0, 102.0, 102.0, 99.25)
        );
        assert!((s.mean - mean).abs() / mean < 1e-12);
        assert!((s.stddev.unwrap() - var.sqrt()).abs() / var.sqrt() < 1e-12);
        assert!((s.volatility_pct.unwrap() - var.sqrt() / mean * 100.0).abs() < 1e-9);
    }

    #[test]
    fn out_of_order_ticks_keep_open_and_close_by_event_time() {
        let mut acc = WindowAcc::new(30_i64, 3.0.into(), 1, 10);
        acc.add(10_i64, 1.0.into(), 1, 11); // earlier event time arrives later: it opens
        acc.add(50_i64, 5.0.into(), 1, 12);
        acc.add(40_i64, 4.0.into(), 2, 5); // earlier than the close: does not close
        assert!(
            !acc.add(40_i64, 8.0.into(), 2, 6),
            "a redelivered event time is ignored"
        );
        let s = acc.stats();
        assert_eq!(s.count, 4);
        assert_eq!((s.open, s.close, s.high), (1.0, 5.0, 5.0));
        assert_eq!(acc.first_offsets, vec![(1, 10), (2, 5)]);
    }

    #[test]
    fn distinct_records_of_one_millisecond_all_count_and_order_by_their_offset() {
        // Three trades in one millisecond, arriving out of their sub-millisecond order, and a
        // copy of one of them.
        let mut acc = WindowAcc::new(TickKey::new(5, 20, 0xa), 2.0.into(), 0, 0);
        assert!(acc.add(TickKey::new(5, 10, 0xb), 1.0.into(), 0, 1));
        assert!(acc.add(TickKey::new(5, 30, 0xc), 3.0.into(), 0, 2));
        assert!(
            !acc.add(TickKey::new(5, 10, 0xb), 1.0.into(), 0, 3),
            "a copy"
        );
        let s = acc.stats();
        assert_eq!(
            (s.count, s.open, s.close, s.low, s.high),
            (3, 1.0, 3.0, 1.0, 3.0)
        );
    }

    #[test]
    fn single_tick_has_no_stddev() {
        let s = WindowAcc::new(0_i64, 7.0.into(), 0, 0).stats();
        assert_eq!(s.stddev, None);
        assert_eq!(s.volatility_pct, None);
        assert_eq!((s.volume, s.vwap), (None, None));
        assert_eq!(
            (s.open, s.high, s.low, s.close, s.mean),
            (7.0, 7.0, 7.0, 7.0, 7.0)
        );
    }

    fn candle(open: f64, high: f64, low: f64, close: f64, volume: f64) -> Sample {
        Sample {
            open,
            high,
            low,
            close,
            volume: Some(volume),
        }
    }

    #[test]
    fn candles_merge_into_the_candle_of_the_window() {
        // Three 1-minute candles, the middle one arriving last.
        let a = candle(100.0, 105.0, 99.0, 104.0, 2.0);
        let b = candle(104.0, 110.0, 103.0, 108.0, 1.0);
        let c = candle(108.0, 109.0, 95.0, 96.0, 3.0);
        let mut acc = WindowAcc::new(0_i64, a, 0, 0);
        acc.add(120_000_i64, c, 0, 1);
        acc.add(60_000_i64, b, 0, 2);
        let s = acc.stats();
        assert_eq!(
            (s.open, s.high, s.low, s.close, s.count),
            (100.0, 110.0, 95.0, 96.0, 3)
        );
        assert_eq!(s.volume, Some(6.0));
        let typical = |h: f64, l: f64, c: f64| (h + l + c) / 3.0;
        let vwap = (typical(105.0, 99.0, 104.0) * 2.0
            + typical(110.0, 103.0, 108.0)
            + typical(109.0, 95.0, 96.0) * 3.0)
            / 6.0;
        assert!((s.vwap.unwrap() - vwap).abs() < 1e-12);
        // Mean and stddev are over the closes.
        assert!((s.mean - (104.0 + 108.0 + 96.0) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn vwap_of_quotes_weights_each_price_by_its_volume() {
        let q = |p: f64, v: Option<f64>| Sample {
            volume: v,
            ..Sample::from(p)
        };
        let mut acc = WindowAcc::new(0_i64, q(10.0, Some(1.0)), 0, 0);
        acc.add(1_i64, q(20.0, Some(3.0)), 0, 1);
        acc.add(2_i64, q(1_000.0, None), 0, 2); // no volume: in the price stats, not in VWAP
        let s = acc.stats();
        assert_eq!(s.volume, Some(4.0));
        assert_eq!(s.vwap, Some(17.5));
        assert_eq!((s.high, s.count), (1_000.0, 3));
        // Zero volume (a flat, untraded candle) has no VWAP.
        let zero = WindowAcc::new(0_i64, q(5.0, Some(0.0)), 0, 0).stats();
        assert_eq!((zero.volume, zero.vwap), (Some(0.0), None));
    }
}
