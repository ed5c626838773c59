//! The trade consumer: `crypto-trades` → every trade (`crypto_trades`) and trade candles per
//! coin and exchange (`crypto_trade_candles`), in a consumer group of its own.
//!
//! It is the price consumer's protocol with another aggregate: the same event-time windows
//! (1m, 5m, 1h) and watermarks ([`crate::windows`], with [`TradeAcc`]), the same checkpoints
//! and commits ([`super::windowed`], [`super::commit`]): a batch of outputs is written, and
//! only once the store has acknowledged it are the offsets committed, never past the first
//! trade of a window still open. A restart therefore rebuilds open candles from all their
//! trades and rewrites the same points.
//!
//! Every trade counts: many share a millisecond, and they are told apart by their trade id
//! (their point in `crypto_trades` is the event time plus the id modulo a millisecond). The
//! producers already drop a trade seen twice by id; a window ignores a second copy too.
//! Records that do not decode or validate go to `crypto-dlq` with the reason.

use std::sync::Arc;
use std::time::Duration;

use ahash::AHashMap;
use cryptoviz_log::{Committed, ConsumedRecord, Log, TopicPartition};
use cryptoviz_measurements::trades::{TradeCandleRow, TradeRow, trade_offset_ns};
use cryptoviz_schemas::{CryptoTrade, DlqRecord, topics};
use cryptoviz_store::Store;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Context;
use super::config::ConsumerConfig;
use super::delivery;
use super::driver::{Driver, Flush, Operator};
use super::windowed::{Windowed, each_record};
use crate::Result;
use crate::decode::decode_into;
use crate::identity::TickKey;
use crate::sinks::analytics;
use crate::sinks::trades::{TRADE_WINDOWS, candle_row, candles_batch, trade_row, trades_batch};
use crate::stats::ConsumerStats;
use crate::windows::{Added, RESOLUTIONS, TradeAcc, TradeSample};

/// The consumer of `crypto-trades`.
pub struct TradePipeline {
    driver: Driver<Trades>,
}

impl TradePipeline {
    /// Joins the consumer group `config.group` and restores the checkpoint of its partitions.
    pub async fn new(
        log: Arc<dyn Log>,
        store: Arc<dyn Store>,
        config: ConsumerConfig,
        stats: Arc<ConsumerStats>,
    ) -> Result<Self> {
        config.validate()?;
        let cx = Context::new(log, store, stats, &config.group, None);
        cx.log.ensure_topic(topics::TRADES, 3).await?;
        let poll_max = config.poll_max;
        let driver = Driver::start(cx, &[topics::TRADES], poll_max, Trades::new(config)).await?;
        Ok(Self { driver })
    }

    /// The shared counters.
    pub fn stats(&self) -> &Arc<ConsumerStats> {
        &self.driver.cx.stats
    }

    /// Runs until `shutdown` fires, then drains: open candles are emitted as `partial`,
    /// everything buffered is written, and offsets are committed. Errors are handled as by
    /// [`super::PricePipeline::run`].
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        self.driver.run(shutdown).await
    }

    /// One poll and what follows from it; returns how many records were read.
    pub async fn step(&mut self) -> Result<usize> {
        self.driver.step().await
    }

    /// Emits open candles as `partial`, writes everything buffered and commits.
    pub async fn finish(self) -> Result<()> {
        self.driver.finish().await
    }
}

/// The trade operator: decoding, raw trades and trade candles.
pub(crate) struct Trades {
    config: ConsumerConfig,
    state: Windowed<TradeAcc>,
    /// Trades read since the last flush, as stored rows.
    raw: Vec<TradeRow>,
    /// The quote currency of each (exchange, coin) series: an exchange's market of a coin is
    /// one symbol (the producers' mapping), so one quote.
    quotes: AHashMap<String, AHashMap<String, String>>,
    /// The record every trade is decoded into: its strings keep their allocations.
    decoded: CryptoTrade,
}

impl Trades {
    fn new(config: ConsumerConfig) -> Self {
        Self {
            state: Windowed::new(&RESOLUTIONS, &config),
            config,
            raw: Vec::new(),
            quotes: AHashMap::new(),
            decoded: CryptoTrade::default(),
        }
    }

    /// One record: its position, then (unless it is a dead letter) its raw point and its
    /// place in every window width.
    fn add(
        &mut self,
        cx: &Context,
        record: &ConsumedRecord,
        trade: &mut CryptoTrade,
        now_ms: i64,
        now: Instant,
    ) -> std::result::Result<bool, DlqRecord> {
        self.state.read(record.partition, record.offset);
        let horizon_ms = if self.config.accept_future_event_times {
            i64::MAX
        } else {
            now_ms
        };
        decode_into(record, &cx.name, now_ms, horizon_ms, trade)?;
        self.raw.push(trade_row(trade));
        self.remember_quote(trade);
        let key = TickKey::new(
            trade.event_time_ms,
            trade_offset_ns(trade.trade_id) as u32,
            trade.trade_id as u64,
        );
        let added = self.state.add(
            &trade.crypto_id,
            &trade.exchange,
            key,
            TradeSample::of(trade),
            record.partition,
            record.offset,
            now,
        );
        match added {
            Some(Added::Late) => cx.stats.add_late(&trade.crypto_id),
            Some(Added::Duplicate) => cx.stats.add_duplicate(&trade.exchange),
            _ => {}
        }
        Ok(true)
    }

    fn remember_quote(&mut self, trade: &CryptoTrade) {
        let known = self
            .quotes
            .get(&trade.exchange)
            .and_then(|m| m.get(&trade.crypto_id));
        if known != Some(&trade.quote) {
            self.quotes
                .entry(trade.exchange.clone())
                .or_default()
                .insert(trade.crypto_id.clone(), trade.quote.clone());
        }
    }
}

/// The quote currency of a series (every emitted window has had a trade read in this run).
fn quote_of<'a>(
    quotes: &'a AHashMap<String, AHashMap<String, String>>,
    exchange: &str,
    coin: &str,
) -> &'a str {
    quotes
        .get(exchange)
        .and_then(|m| m.get(coin))
        .map_or("unknown", String::as_str)
}

impl Operator for Trades {
    const POLL_TIMEOUT: Duration = Duration::from_millis(100);
    const OVERLAP_WRITES: bool = true;

    fn process_batch(&mut self, cx: &Context, batch: &[ConsumedRecord], dead: &mut Vec<DlqRecord>) {
        let now = Instant::now();
        let now_ms = cryptoviz_schemas::now_ms();
        let mut trade = std::mem::take(&mut self.decoded);
        let trades = each_record(batch, dead, |record| {
            self.add(cx, record, &mut trade, now_ms, now)
        });
        self.decoded = trade;
        cx.stats.add_ticks(trades);
        self.state.processed(now);
    }

    fn handle_watermark(&mut self, now: Instant) {
        self.state.idle(now);
    }

    fn flush_due(&self, since_flush: Duration) -> bool {
        self.raw.len() >= self.config.flush_rows
            || (self.state.dirty && since_flush >= self.config.flush_interval)
    }

    /// One write of the raw trades and the candles (each only in its latest emission, none
    /// the store has already seen closed).
    async fn handle_checkpoint(&mut self, cx: &Context) -> Result<Option<Flush>> {
        let emitted = &mut self.state.emitted;
        analytics::keep_latest_emissions(emitted);
        analytics::drop_superseded(cx.store.as_ref(), TRADE_WINDOWS, emitted).await?;
        let candles: Vec<TradeCandleRow> = emitted
            .iter()
            .map(|w| candle_row(w, quote_of(&self.quotes, &w.source, &w.crypto_id)))
            .collect();
        let windows = emitted.len() as u64;
        emitted.clear();
        let mut batches = Vec::with_capacity(2);
        batches.extend(trades_batch(&self.raw)?);
        batches.extend(candles_batch(&candles)?);
        self.raw.clear();
        self.state.dirty = false;
        Ok(Some(Flush {
            write: delivery::write(cx.store.clone(), cx.stats.clone(), batches),
            commit: self.state.pending_commit(topics::TRADES),
            on_ack: Box::new(move |stats: &ConsumerStats| stats.add_windows(windows)),
        }))
    }

    async fn restore(
        &mut self,
        cx: &Context,
        assignment: &[(TopicPartition, Option<Committed>)],
    ) -> Result<()> {
        self.state.restore(cx, assignment).await?;
        tracing::info!(
            consumer = %cx.name,
            partitions = assignment.len(),
            "trade assignment restored from checkpoints"
        );
        Ok(())
    }

    fn reset(&mut self) {
        self.raw.clear();
        self.state.reset();
    }

    fn drain(&mut self, cx: &Context) {
        self.state.drain(cx);
    }
}
