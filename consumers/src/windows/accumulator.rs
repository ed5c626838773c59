//! The partial aggregate of one window: everything its statistics need, updated per tick.

/// Running statistics of the ticks of one window.
///
/// Mean and variance use Welford's update, which stays accurate where a naive sum of squares
/// loses digits (prices near 95,000 with cent-level moves). Open and close are the prices at
/// the smallest and largest event time; on a tie the earlier arrival opens and the later
/// closes.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowAcc {
    pub count: u64,
    pub mean: f64,
    m2: f64,
    pub min: f64,
    pub max: f64,
    pub open_ts: i64,
    pub open: f64,
    pub close_ts: i64,
    pub close: f64,
    /// Event times aggregated so far, sorted: a second tick at the same event time (a
    /// redelivery) is ignored, matching the store, where (series, time) identifies a point.
    seen: Vec<i64>,
    /// First offset of this window's ticks in each partition they came from: the log must not
    /// be committed past it while the window is open.
    pub first_offsets: Vec<(u32, u64)>,
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
}

impl WindowAcc {
    /// A window holding one tick.
    pub fn new(ts: i64, price: f64, partition: u32, offset: u64) -> Self {
        Self {
            count: 1,
            mean: price,
            m2: 0.0,
            min: price,
            max: price,
            open_ts: ts,
            open: price,
            close_ts: ts,
            close: price,
            seen: vec![ts],
            first_offsets: vec![(partition, offset)],
        }
    }

    /// Adds one tick; returns false (and changes nothing) for a second tick at an event time
    /// already in the window.
    pub fn add(&mut self, ts: i64, price: f64, partition: u32, offset: u64) -> bool {
        // In-order ticks append; out-of-order ones insert.
        if self.seen.last().is_some_and(|last| *last < ts) {
            self.seen.push(ts);
        } else {
            match self.seen.binary_search(&ts) {
                Ok(_) => return false,
                Err(at) => self.seen.insert(at, ts),
            }
        }
        self.count += 1;
        let delta = price - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (price - self.mean);
        self.min = self.min.min(price);
        self.max = self.max.max(price);
        if ts < self.open_ts {
            self.open_ts = ts;
            self.open = price;
        }
        if ts >= self.close_ts {
            self.close_ts = ts;
            self.close = price;
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_match_a_direct_computation() {
        let prices = [100.0, 101.5, 99.25, 100.75, 102.0];
        let mut acc = WindowAcc::new(0, prices[0], 0, 0);
        for (i, p) in prices.iter().enumerate().skip(1) {
            acc.add(i as i64, *p, 0, i as u64);
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
        let mut acc = WindowAcc::new(30, 3.0, 1, 10);
        acc.add(10, 1.0, 1, 11); // earlier event time arrives later: it opens
        acc.add(50, 5.0, 1, 12);
        acc.add(40, 4.0, 2, 5); // earlier than the close: does not close
        assert!(
            !acc.add(40, 8.0, 2, 6),
            "a redelivered event time is ignored"
        );
        let s = acc.stats();
        assert_eq!(s.count, 4);
        assert_eq!((s.open, s.close, s.high), (1.0, 5.0, 5.0));
        assert_eq!(acc.first_offsets, vec![(1, 10), (2, 5)]);
    }

    #[test]
    fn single_tick_has_no_stddev() {
        let s = WindowAcc::new(0, 7.0, 0, 0).stats();
        assert_eq!(s.stddev, None);
        assert_eq!(s.volatility_pct, None);
        assert_eq!(
            (s.open, s.high, s.low, s.close, s.mean),
            (7.0, 7.0, 7.0, 7.0, 7.0)
        );
    }
}
