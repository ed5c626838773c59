//! The simulated market: price paths, volumes, news and a daily Fear & Greed value.
//!
//! Each coin follows geometric Brownian motion whose volatility switches between a calm and a
//! turbulent regime (a two-state Markov chain), with Poisson jumps of 3–8 % so that anomaly
//! detection has something real to find. Stablecoins mean-revert (Ornstein–Uhlenbeck) around
//! their peg. Traded volume rises with the size of each move and, now and then, spikes. All
//! randomness comes from one ChaCha generator seeded by the configuration, so a seed always
//! yields the same market.

use cryptoviz_schemas::{CryptoNews, CryptoPrice, CryptoTrade, MarketSentiment};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::SimConfig;
use super::coins::CoinSpec;
use super::news;
use super::trades::{Tick, TradeTape};

const SECONDS_PER_YEAR: f64 = 365.0 * 86_400.0;
const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// Source name of every simulated record.
pub const SOURCE: &str = "simulated";

struct CoinState {
    spec: CoinSpec,
    price: f64,
    turbulent: bool,
    ath: f64,
    atl: f64,
    /// Price at each of the last 60 minute boundaries (oldest first once full).
    minutes: Ring,
    /// Price at each of the last 168 hour boundaries.
    hours: Ring,
    /// Volume traded in each of the last 24 hours; `hour_volume` is the current hour's.
    hourly_volume: Ring,
    hour_volume: f64,
}

/// A fixed-capacity ring of f64 that remembers its oldest value.
struct Ring {
    values: Vec<f64>,
    next: usize,
}

impl Ring {
    fn filled(capacity: usize, value: f64) -> Self {
        Self {
            values: vec![value; capacity],
            next: 0,
        }
    }
    fn push(&mut self, value: f64) {
        self.values[self.next] = value;
        self.next = (self.next + 1) % self.values.len();
    }
    fn oldest(&self) -> f64 {
        self.values[self.next]
    }
    /// The value pushed `back` pushes ago (1 = the latest).
    fn back(&self, back: usize) -> f64 {
        let n = self.values.len();
        self.values[(self.next + n - back % n) % n]
    }
    fn sum(&self) -> f64 {
        self.values.iter().sum()
    }
}

/// A deterministic simulated market.
pub struct Market {
    rng: ChaCha8Rng,
    coins: Vec<CoinState>,
    now_ms: i64,
    tick_ms: i64,
    dt_years: f64,
    jump_prob: f64,
    news_every_ms: i64,
    next_news_ms: i64,
    next_fng_ms: i64,
    news_seq: u64,
    seed: u64,
    pending_news: Vec<CryptoNews>,
    pending_sentiment: Vec<MarketSentiment>,
    injected: Vec<(usize, f64)>,
    tape: Option<TradeTape>,
    trades_per_minute: f64,
    start_ms: i64,
}

impl Market {
    /// A market whose first tick is at `start_ms + tick` (UTC milliseconds).
    pub fn new(config: &SimConfig, start_ms: i64) -> Self {
        let tick_ms = (config.tick_interval.as_millis() as i64).max(1);
        let dt_seconds = tick_ms as f64 / 1000.0;
        let coins = config
            .coins
            .iter()
            .map(|spec| CoinState {
                price: spec.price,
                turbulent: false,
                ath: spec.price * 1.35,
                atl: spec.price * 0.02,
                minutes: Ring::filled(60, spec.price),
                hours: Ring::filled(168, spec.price),
                hourly_volume: Ring::filled(24, spec.volume_24h / 24.0),
                hour_volume: 0.0,
                spec: spec.clone(),
            })
            .collect();
        let news_every_ms = (config.news_interval.as_millis() as i64).max(tick_ms);
        Self {
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            coins,
            now_ms: start_ms,
            tick_ms,
            dt_years: dt_seconds / SECONDS_PER_YEAR,
            jump_prob: config.jumps_per_day * dt_seconds / 86_400.0,
            news_every_ms,
            next_news_ms: start_ms + news_every_ms,
            // The first Fear & Greed value is published with the first tick, then daily.
            next_fng_ms: start_ms,
            news_seq: 0,
            seed: config.seed,
            pending_news: Vec::new(),
            pending_sentiment: Vec::new(),
            injected: Vec::new(),
            tape: None,
            trades_per_minute: config.trades_per_minute,
            start_ms,
        }
    }

    /// Turns the trade tape on or off (off by default, so history mode and benchmarks do not
    /// pile up trades nobody takes). When on, [`Self::take_trades`] must be called.
    pub fn set_trades(&mut self, on: bool) {
        self.tape = (on && self.trades_per_minute > 0.0).then(|| {
            TradeTape::new(
                self.seed,
                self.trades_per_minute,
                self.tick_ms,
                self.coins.len(),
                self.start_ms,
            )
        });
    }

    /// Trades generated since the last call (none unless [`Self::set_trades`] is on).
    pub fn take_trades(&mut self) -> Vec<CryptoTrade> {
        self.tape.as_mut().map(TradeTape::take).unwrap_or_default()
    }

    /// Market time of the latest tick (UTC milliseconds).
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// Market time between two ticks of a coin.
    pub fn tick_ms(&self) -> i64 {
        self.tick_ms
    }

    /// Number of coins (records per tick).
    pub fn coin_count(&self) -> usize {
        self.coins.len()
    }

    /// Makes the next tick of coin `id` jump by `pct` percent (for tests and demos).
    pub fn inject_jump(&mut self, id: &str, pct: f64) -> bool {
        match self.coins.iter().position(|c| c.spec.id == id) {
            Some(i) => {
                self.injected.push((i, pct));
                true
            }
            None => false,
        }
    }

    /// Advances the market by one tick and appends one price record per coin to `out`.
    pub fn step(&mut self, out: &mut Vec<CryptoPrice>) {
        let previous_ms = self.now_ms;
        self.now_ms += self.tick_ms;
        let now = self.now_ms;
        let crossed_minute = now / MINUTE_MS != previous_ms / MINUTE_MS;
        let crossed_hour = now / HOUR_MS != previous_ms / HOUR_MS;
        let dt = self.dt_years;
        let tick_seconds = self.tick_ms as f64 / 1000.0;
        for i in 0..self.coins.len() {
            let injected: f64 = self
                .injected
                .iter()
                .filter(|(c, _)| *c == i)
                .map(|(_, pct)| (1.0 + pct / 100.0).ln())
                .sum();
            let z: f64 = self.rng.sample(StandardNormal);
            let regime_draw: f64 = self.rng.random();
            let jump_draw: f64 = self.rng.random();
            let jump_size: f64 = self.rng.random_range(0.03..0.08);
            let jump_up: bool = self.rng.random();
            let vol_noise: f64 = self.rng.sample(StandardNormal);
            let spike_draw: f64 = self.rng.random();
            let coin = &mut self.coins[i];
            let log_return = if coin.spec.stable {
                // Ornstein–Uhlenbeck around the peg: a few basis points of noise.
                let deviation = (coin.price / coin.spec.price).ln();
                -0.05 * deviation + 0.0002 * z * tick_seconds.sqrt().min(1.0)
            } else {
                // Regimes last hours: switch with a probability per tick.
                let switch = if coin.turbulent { 2e-4 } else { 5e-5 } * tick_seconds;
                if regime_draw < switch {
                    coin.turbulent = !coin.turbulent;
                }
                let sigma = coin.spec.annual_vol * if coin.turbulent { 2.5 } else { 1.0 };
                let mut r = -0.5 * sigma * sigma * dt + sigma * dt.sqrt() * z;
                if jump_draw < self.jump_prob {
                    r += if jump_up { jump_size } else { -jump_size };
                }
                r
            } + injected;
            let from_price = coin.price;
            coin.price *= log_return.exp();
            coin.ath = coin.ath.max(coin.price);
            coin.atl = coin.atl.min(coin.price);
            // Volume: the baseline rate, scaled up by the size of the move, with noise and
            // rare spikes (×6) so that volume anomalies exist too.
            let base = coin.spec.volume_24h / 86_400.0 * tick_seconds;
            let move_factor = 1.0 + 40.0 * log_return.abs().min(0.25);
            let spike = if spike_draw < 2e-5 * tick_seconds {
                6.0
            } else {
                1.0
            };
            let tick_volume_usd = base * move_factor * spike * (0.3 * vol_noise).exp();
            coin.hour_volume += tick_volume_usd;
            if let Some(tape) = &mut self.tape {
                tape.tick(Tick {
                    index: i,
                    id: &coin.spec.id,
                    symbol: &coin.spec.symbol,
                    from_price,
                    to_price: coin.price,
                    volume_usd: tick_volume_usd,
                    start_ms: previous_ms,
                    end_ms: now,
                });
            }
            if crossed_minute {
                coin.minutes.push(coin.price);
            }
            if crossed_hour {
                coin.hours.push(coin.price);
                coin.hourly_volume.push(coin.hour_volume);
                coin.hour_volume = 0.0;
            }
            let pct = |from: f64| (coin.price / from - 1.0) * 100.0;
            out.push(CryptoPrice {
                crypto_id: coin.spec.id.clone(),
                symbol: coin.spec.symbol.clone(),
                name: coin.spec.name.clone(),
                source: SOURCE.to_string(),
                price_usd: coin.price,
                market_cap: Some(coin.price * coin.spec.supply),
                volume_24h: Some(
                    coin.hourly_volume.sum() - coin.hourly_volume.oldest() + coin.hour_volume,
                ),
                change_1h: Some(pct(coin.minutes.oldest())),
                change_24h: Some(pct(coin.hours.back(24))),
                change_7d: Some(pct(coin.hours.oldest())),
                ath: Some(coin.ath),
                atl: Some(coin.atl),
                circulating_supply: Some(coin.spec.supply),
                timestamp_ms: now,
                volume: Some(tick_volume_usd / coin.price),
                ..CryptoPrice::default()
            });
        }
        self.injected.clear();
        if now >= self.next_news_ms {
            self.next_news_ms += self.news_every_ms;
            self.emit_news();
        }
        if now >= self.next_fng_ms {
            self.next_fng_ms = (now / DAY_MS + 1) * DAY_MS;
            self.emit_fear_greed();
        }
    }

    /// News headlines generated since the last call.
    pub fn take_news(&mut self) -> Vec<CryptoNews> {
        std::mem::take(&mut self.pending_news)
    }

    /// Fear & Greed values generated since the last call.
    pub fn take_sentiment(&mut self) -> Vec<MarketSentiment> {
        std::mem::take(&mut self.pending_sentiment)
    }

    fn emit_news(&mut self) {
        let index = self.rng.random_range(0..self.coins.len());
        let coin = &self.coins[index];
        let change = (coin.price / coin.minutes.oldest() - 1.0) * 100.0;
        let draw: f64 = self.rng.random();
        let template: f64 = self.rng.random();
        self.news_seq += 1;
        let headline = news::headline(&coin.spec, change, draw, template);
        self.pending_news.push(CryptoNews {
            guid: format!("sim-{}-{}", self.seed, self.news_seq),
            title: headline.title,
            summary: Some(headline.summary),
            link: format!(
                "https://news.cryptoviz.invalid/sim/{}/{}",
                self.seed, self.news_seq
            ),
            source: SOURCE.to_string(),
            published_at_ms: self.now_ms,
            fetched_at_ms: self.now_ms,
            sentiment_score: None,
            sentiment_label: None,
            coins: vec![coin.spec.id.clone()],
        });
    }

    fn emit_fear_greed(&mut self) {
        let volatile: Vec<&CoinState> = self.coins.iter().filter(|c| !c.spec.stable).collect();
        let mean_change = volatile
            .iter()
            .map(|c| (c.price / c.hours.back(24) - 1.0) * 100.0)
            .sum::<f64>()
            / volatile.len().max(1) as f64;
        let noise: f64 = self.rng.sample(StandardNormal);
        let value = (50.0 + 6.0 * mean_change + 5.0 * noise)
            .round()
            .clamp(0.0, 100.0) as i32;
        self.pending_sentiment.push(MarketSentiment {
            source: SOURCE.to_string(),
            value,
            classification: classify_fear_greed(value).to_string(),
            timestamp_ms: self.now_ms,
        });
    }
}

/// alternative.me's classification of a Fear & Greed value.
pub fn classify_fear_greed(value: i32) -> &'static str {
    match value {
        ..=24 => "Extreme Fear",
        25..=46 => "Fear",
        47..=54 => "Neutral",
        55..=75 => "Greed",
        _ => "Extreme Greed",
    }
}
