//! A simulated market source, for offline use, demos and load.
//!
//! Live mode maps wall time to market time with a speed-up (`speed = 60` runs one market
//! minute per wall second) so that windows close quickly in demos. History mode
//! ([`Market::step`] in a loop, see [`generate`]) produces a range as fast as the CPU allows,
//! for backfill and benchmarks. Either way the same seed gives the same market.
//!
//! The live source also runs a trade tape (`trades_per_minute` per coin, on `crypto-trades`,
//! exchange `simulated`), so `--simulate` exercises the trade path the exchanges feed.

pub mod coins;
mod market;
mod news;
mod trades;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::{Instant, MissedTickBehavior};

pub use coins::CoinSpec;
pub use market::{Market, SOURCE, classify_fear_greed};
pub use trades::QUOTE as TRADE_QUOTE;

use crate::{Error, Result, Source, SourceContext};

/// Configuration of the simulated market (`[simulator]` in the config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// Seed of the random generator: the same seed gives the same market.
    pub seed: u64,
    /// Market time per wall time: 1 is real time, 60 runs a market minute per second.
    pub speed: f64,
    /// Market time between two price ticks of a coin.
    #[serde(with = "humantime_serde")]
    pub tick_interval: Duration,
    /// Market time between two generated headlines.
    #[serde(with = "humantime_serde")]
    pub news_interval: Duration,
    /// Expected price jumps (3–8 %) per coin per market day.
    pub jumps_per_day: f64,
    /// Trades per coin per market minute on `crypto-trades` (0 turns the tape off); the
    /// default gives 1-minute trade candles of tens of trades.
    pub trades_per_minute: f64,
    /// The coins to simulate (default: the top 20 by market cap).
    pub coins: Vec<CoinSpec>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            speed: 1.0,
            tick_interval: Duration::from_secs(1),
            news_interval: Duration::from_secs(600),
            jumps_per_day: 1.0,
            trades_per_minute: 40.0,
            coins: coins::top20(),
        }
    }
}

impl SimConfig {
    /// Checks every value; the error names the offending key.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, why: &str| Err(Error::Config(format!("simulator.{key}: {why}")));
        if !(self.speed.is_finite() && self.speed > 0.0 && self.speed <= 1_000_000.0) {
            return bad("speed", "must be a number in (0, 1000000]");
        }
        if self.tick_interval < Duration::from_millis(1) {
            return bad("tick_interval", "must be at least 1ms");
        }
        if self.news_interval.is_zero() {
            return bad("news_interval", "must be positive");
        }
        if !(self.jumps_per_day.is_finite() && self.jumps_per_day >= 0.0) {
            return bad("jumps_per_day", "must be a non-negative number");
        }
        if !(self.trades_per_minute.is_finite()
            && (0.0..=600_000.0).contains(&self.trades_per_minute))
        {
            return bad("trades_per_minute", "must be a number in [0, 600000]");
        }
        if self.coins.is_empty() {
            return bad("coins", "must list at least one coin");
        }
        for (i, c) in self.coins.iter().enumerate() {
            if c.id.is_empty() || c.symbol.is_empty() {
                return bad(&format!("coins[{i}]"), "id and symbol must not be empty");
            }
            if !(c.price.is_finite() && c.price > 0.0) {
                return bad(&format!("coins[{i}].price"), "must be a positive number");
            }
            if !(c.annual_vol.is_finite() && c.annual_vol >= 0.0) {
                return bad(&format!("coins[{i}].annual_vol"), "must be non-negative");
            }
        }
        Ok(())
    }
}

/// Runs `market` for `ticks` price records (rounded up to whole steps), calling `sink` with
/// each step's prices. Used by backfill and the benchmark: no clock, no sleeping.
pub fn generate(
    market: &mut Market,
    ticks: u64,
    mut sink: impl FnMut(&mut Market, &mut Vec<cryptoviz_schemas::CryptoPrice>),
) {
    let coins = market.coin_count().max(1) as u64;
    let mut buf = Vec::with_capacity(coins as usize);
    for _ in 0..ticks.div_ceil(coins) {
        market.step(&mut buf);
        sink(market, &mut buf);
        buf.clear();
    }
}

/// The live simulated source.
pub struct SimulatedSource {
    config: SimConfig,
    start_ms: i64,
}

impl SimulatedSource {
    /// A source whose market starts at `start_ms` (normally the wall clock at start-up).
    pub fn new(config: SimConfig, start_ms: i64) -> Result<Self> {
        config.validate()?;
        Ok(Self { config, start_ms })
    }
}

/// How often the live loop wakes up to publish (wall time).
const PUBLISH_EVERY: Duration = Duration::from_millis(50);

#[async_trait::async_trait]
impl Source for SimulatedSource {
    fn name(&self) -> &str {
        SOURCE
    }

    async fn run(&mut self, ctx: SourceContext) -> Result<()> {
        let mut market = Market::new(&self.config, self.start_ms);
        market.set_trades(true);
        let started = Instant::now();
        let mut ticker = tokio::time::interval(PUBLISH_EVERY);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut prices = Vec::new();
        tracing::info!(
            coins = market.coin_count(),
            speed = self.config.speed,
            "simulated market started"
        );
        loop {
            tokio::select! {
                _ = ctx.shutdown.cancelled() => break,
                _ = ticker.tick() => {}
            }
            let market_elapsed = started.elapsed().as_secs_f64() * self.config.speed * 1000.0;
            let target_ms = self.start_ms + market_elapsed as i64;
            while market.now_ms() + market.tick_ms() <= target_ms {
                market.step(&mut prices);
            }
            let now = market.now_ms();
            let news = market.take_news();
            let sentiment = market.take_sentiment();
            let trades = market.take_trades();
            let result = async {
                ctx.publisher.publish(&prices, now).await?;
                ctx.publisher.publish(&trades, now).await?;
                ctx.publisher.publish(&news, now).await?;
                ctx.publisher.publish(&sentiment, now).await
            }
            .await;
            prices.clear();
            if let Err(e) = result {
                // The log refused the batch: report and carry on with the next one.
                tracing::warn!(error = %e, "simulated batch not published");
                ctx.publisher.status().record_error(e.to_string(), now);
            }
        }
        Ok(())
    }
}
