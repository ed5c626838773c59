//! The simulated trade tape: each tick of a coin's price becomes a handful of trades between
//! the old and the new price, so `--simulate` feeds `crypto-trades` like the exchanges do.
//!
//! Trades arrive as a Poisson process of `trades_per_minute` per coin (40 by default: a
//! 1-minute candle holds tens of trades), each at a random time inside the tick, priced on
//! the path from the previous price to the new one with a little noise, sized so that a
//! tick's trades add up to about its traded volume. The tape has its own generator (seeded
//! from the market's seed), so turning it on leaves the price path unchanged.

use cryptoviz_schemas::{CryptoTrade, TakerSide};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};

use super::market::SOURCE;

/// Quote currency of simulated trades.
pub const QUOTE: &str = "USD";

/// What the tape needs to know about one coin's tick.
pub(crate) struct Tick<'a> {
    pub index: usize,
    pub id: &'a str,
    pub symbol: &'a str,
    pub from_price: f64,
    pub to_price: f64,
    pub volume_usd: f64,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// Generates and holds trades until taken.
pub(crate) struct TradeTape {
    rng: ChaCha8Rng,
    arrivals: Option<Poisson<f64>>,
    next_id: Vec<i64>,
    pending: Vec<CryptoTrade>,
    scratch: Vec<(i64, f64)>,
}

impl TradeTape {
    /// A tape of `per_minute` trades per coin per minute on average for `coins` coins, with
    /// ticks of `tick_ms`. Trade ids start at `start_ms × 1000`, so a restarted simulator
    /// never reuses an id.
    pub(crate) fn new(
        seed: u64,
        per_minute: f64,
        tick_ms: i64,
        coins: usize,
        start_ms: i64,
    ) -> Self {
        let lambda = per_minute * tick_ms as f64 / 60_000.0;
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x7472_6164_6573), // "trades"
            arrivals: Poisson::new(lambda).ok(),
            next_id: vec![start_ms.max(0).saturating_mul(1000); coins],
            pending: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Adds the trades of one tick.
    pub(crate) fn tick(&mut self, t: Tick<'_>) {
        let Some(arrivals) = &self.arrivals else {
            return;
        };
        let n = arrivals.sample(&mut self.rng) as usize;
        if n == 0 || t.to_price <= 0.0 || t.from_price <= 0.0 {
            return;
        }
        let span = (t.end_ms - t.start_ms).max(1);
        self.scratch.clear();
        for _ in 0..n {
            let at: f64 = self.rng.random();
            self.scratch.push(((at * span as f64) as i64, at));
        }
        // Trades of one coin come in id order, which is time order.
        self.scratch.sort_by_key(|(offset, _)| *offset);
        let per_trade_usd = t.volume_usd / n as f64;
        for &(offset, at) in &self.scratch {
            let noise: f64 = self.rng.sample(StandardNormal);
            let size_noise: f64 = self.rng.sample(StandardNormal);
            let buy_draw: f64 = self.rng.random();
            let path = t.from_price + (t.to_price - t.from_price) * at;
            let price = path * (1.0 + 0.0002 * noise);
            let quantity =
                (per_trade_usd * (0.5 * size_noise).exp() / price).max(f64::MIN_POSITIVE);
            // Takers lean with the move.
            let lean = if t.to_price >= t.from_price {
                0.55
            } else {
                0.45
            };
            let side = if buy_draw < lean {
                TakerSide::Buy
            } else {
                TakerSide::Sell
            };
            let id = self.next_id[t.index];
            self.next_id[t.index] += 1;
            self.pending.push(CryptoTrade {
                exchange: SOURCE.to_string(),
                symbol: format!("{}{QUOTE}", t.symbol),
                crypto_id: t.id.to_string(),
                quote: QUOTE.to_string(),
                trade_id: id,
                price,
                quantity,
                side,
                event_time_ms: t.start_ms + 1 + offset.min(span - 1),
                receive_time_ms: t.end_ms,
            });
        }
    }

    /// The trades generated since the last call.
    pub(crate) fn take(&mut self) -> Vec<CryptoTrade> {
        std::mem::take(&mut self.pending)
    }
}
