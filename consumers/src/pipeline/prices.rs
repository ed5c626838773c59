//! The price consumer: `crypto-prices` → raw ingest (`crypto_market`, `crypto_coin_info`) and
//! event-time windows (`crypto_analytics`, with their anomalies in `crypto_anomalies`).
//!
//! Delivery: a batch of outputs is written to the store, and only once the store has
//! acknowledged it are offsets committed. The committed offset of a partition is the smaller
//! of the next unread offset and the first offset of any tick still in an open window, and its
//! metadata (and the store, for brokers that drop metadata) carries the watermark state
//! ([`crate::checkpoint`]). After a crash the consumer restarts from there with
//! that state: ticks of windows that had already closed are skipped, open windows are rebuilt
//! from all their ticks, and every re-emitted point has the same key as before, so the store
//! ends up exactly as if nothing had happened.
//!
//! [`Prices`] is the operator the shared driver (`super::driver`) runs; [`PricePipeline`] is
//! the consumer built from them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use cryptoviz_log::{Committed, ConsumedRecord, Log, TopicPartition};
use cryptoviz_schemas::{CryptoPrice, DlqRecord, topics};
use cryptoviz_store::Store;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Context;
use super::config::ConsumerConfig;
use super::delivery;
use super::driver::{Driver, Flush, Operator};
use super::windowed::{Windowed, each_record};
use crate::Result;
use crate::anomalies::Anomaly;
use crate::candles::CandleAnalytics;
use crate::decode::decode_into;
use crate::identity::{self, Identity, SubMillis, TickKey};
use crate::replay::ReplayBounds;
use crate::sinks::coin_info::CoinInfoBuilder;
use crate::sinks::{analytics, anomalies, market::MarketBuilder};
use crate::stats::ConsumerStats;
use crate::windows::{Added, RESOLUTIONS, Sample, WindowAcc, WindowStatus};

/// The 1-minute window, the finest of [`RESOLUTIONS`] (the bench and the tests verify it).
pub const WINDOW_1M: (&str, i64) = RESOLUTIONS[0];

/// The consumer of `crypto-prices`.
pub struct PricePipeline {
    driver: Driver<Prices>,
}

impl PricePipeline {
    /// Joins the consumer group and restores the checkpoint of its partitions.
    pub async fn new(
        log: Arc<dyn Log>,
        store: Arc<dyn Store>,
        config: ConsumerConfig,
        stats: Arc<ConsumerStats>,
    ) -> Result<Self> {
        let cx = Context::new(log, store, stats, &config.group, None);
        Self::start(cx, config).await
    }

    /// A replay over `bounds` (see [`crate::replay`]) in group `config.group`, which should
    /// not be the live consumers' group: its checkpoints are ignored, not resumed.
    pub async fn replay(
        log: Arc<dyn Log>,
        store: Arc<dyn Store>,
        config: ConsumerConfig,
        stats: Arc<ConsumerStats>,
        bounds: ReplayBounds,
    ) -> Result<Self> {
        let cx = Context::new(log, store, stats, &config.group, Some(bounds));
        Self::start(cx, config).await
    }

    /// The replay's bounds and progress, for a replay.
    pub fn replay_bounds(&self) -> Option<&ReplayBounds> {
        self.driver.cx.replay.as_ref()
    }

    async fn start(cx: Context, config: ConsumerConfig) -> Result<Self> {
        config.validate()?;
        cx.log.ensure_topic(topics::PRICES, 3).await?;
        let partition_count = cx.log.partition_count(topics::PRICES).await?;
        let poll_max = config.poll_max;
        let op = Prices::new(config, partition_count);
        let driver = Driver::start(cx, &[topics::PRICES], poll_max, op).await?;
        Ok(Self { driver })
    }

    /// Number of partitions currently assigned to this member (0 until a Kafka group join
    /// completes).
    pub fn assigned_partitions(&self) -> usize {
        self.driver.consumer.assignment().len()
    }

    /// The shared counters.
    pub fn stats(&self) -> &Arc<ConsumerStats> {
        &self.driver.cx.stats
    }

    /// Runs until `shutdown` fires, then drains: open windows are emitted as `partial`,
    /// everything buffered is written, and offsets are committed.
    ///
    /// A retryable error (the log or the store unavailable, a full disk) is retried with
    /// back-off for as long as it takes, rebuilding from the last commit each time
    /// ([`crate::supervise`]); a permanent one ends the run with the error, after marking the
    /// consumer `failed` in its stats.
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        self.driver.run(shutdown).await
    }

    /// One poll and what follows from it; returns how many records were read.
    pub async fn step(&mut self) -> Result<usize> {
        self.driver.step().await
    }

    /// Emits open windows as `partial`, writes everything buffered and commits. A replay
    /// bounded by a time first closes, normally, every window ending by that time.
    pub async fn finish(self) -> Result<()> {
        self.driver.finish().await
    }

    /// Stops without emitting open windows (a cancelled replay must not overwrite complete
    /// stored windows with the part of them it had read): writes what is buffered — raw
    /// ticks, closed windows, anomalies — and commits.
    pub async fn abandon(mut self) -> Result<()> {
        self.driver.flush_and_settle().await?;
        let open = self.driver.op.state.windows.open_count();
        tracing::info!(consumer = %self.driver.cx.name, open, "consumer stopped; open windows dropped");
        Ok(())
    }
}

/// The price operator: decoding, raw points, windows, candles and anomalies, and the
/// checkpoint of each partition.
pub(crate) struct Prices {
    config: ConsumerConfig,
    state: Windowed<WindowAcc>,
    /// Sub-millisecond offsets of the ticks that share a millisecond.
    sub_millis: SubMillis,
    /// Partitions of the prices topic (a coin's partition is a function of its id).
    partition_count: u32,
    market: MarketBuilder,
    coin_info: CoinInfoBuilder,
    /// The record every tick is decoded into: its strings keep their allocations.
    decoded: CryptoPrice,
    candles: CandleAnalytics,
    anomalies: Vec<Anomaly>,
}

impl Prices {
    fn new(config: ConsumerConfig, partition_count: u32) -> Self {
        Self {
            state: Windowed::new(&RESOLUTIONS, &config),
            sub_millis: SubMillis::new(),
            partition_count,
            candles: CandleAnalytics::new(config.anomalies.clone()),
            anomalies: Vec::new(),
            config,
            market: MarketBuilder::default(),
            coin_info: CoinInfoBuilder::default(),
            decoded: CryptoPrice::default(),
        }
    }

    /// One record: its position, then (unless it is a dead letter or an immediate copy) its
    /// raw point, its fundamentals and its place in every window width.
    fn add(
        &mut self,
        cx: &Context,
        record: &ConsumedRecord,
        price: &mut CryptoPrice,
        now_ms: i64,
        now: Instant,
    ) -> std::result::Result<bool, DlqRecord> {
        self.state.read(record.partition, record.offset);
        let horizon_ms = if self.config.accept_future_event_times {
            i64::MAX
        } else {
            now_ms
        };
        decode_into(record, &cx.name, now_ms, horizon_ms, price)?;
        let hash = identity::content_hash(&record.value);
        let sub_ns =
            match self
                .sub_millis
                .assign(&price.crypto_id, &price.source, price.timestamp_ms, hash)
            {
                Identity::Distinct { offset_ns } => offset_ns,
                Identity::Duplicate => {
                    // The same bytes again right after themselves: a source sent one
                    // record twice. Its point is already written.
                    cx.stats.add_duplicate(&price.source);
                    return Ok(false);
                }
            };
        self.market.push(price, sub_ns);
        self.coin_info.push(price);
        let added = self.state.add(
            &price.crypto_id,
            &price.source,
            TickKey::new(price.timestamp_ms, sub_ns, hash),
            Sample::of(price),
            record.partition,
            record.offset,
            now,
        );
        match added {
            Some(Added::Late) => cx.stats.add_late(&price.crypto_id),
            // A copy that arrived apart from its original (another tick of the series in
            // between): not counted again; its raw point rewrites the original's.
            Some(Added::Duplicate) => cx.stats.add_duplicate(&price.source),
            _ => {}
        }
        Ok(true)
    }

    /// Indicator histories, anomaly detectors and coin fundamentals as they stood at `at_ms`
    /// (from the store), or empty when reading starts with nothing before it. A coin's candle
    /// history goes up to `closed_for(coin)` (its partition's closing point; `None`: not a
    /// coin of this member's partitions).
    async fn resume_derived_state(
        &mut self,
        store: &dyn Store,
        at_ms: Option<i64>,
        closed_for: &(dyn Fn(&str) -> Option<i64> + Send + Sync),
    ) -> Result<()> {
        match at_ms {
            Some(t) => {
                self.candles.warm_up(store, t, closed_for).await?;
                self.coin_info.warm_up(store, t).await?;
            }
            None => {
                self.candles.clear();
                self.coin_info.clear();
            }
        }
        Ok(())
    }
}

impl Operator for Prices {
    const POLL_TIMEOUT: Duration = Duration::from_millis(100);
    const OVERLAP_WRITES: bool = true;

    fn process_batch(&mut self, cx: &Context, batch: &[ConsumedRecord], dead: &mut Vec<DlqRecord>) {
        let now = Instant::now();
        let now_ms = cryptoviz_schemas::now_ms();
        let mut price = std::mem::take(&mut self.decoded);
        let ticks = each_record(batch, dead, |record| {
            self.add(cx, record, &mut price, now_ms, now)
        });
        self.decoded = price;
        cx.stats.add_ticks(ticks);
        self.state.processed(now);
    }

    fn handle_watermark(&mut self, now: Instant) {
        self.state.idle(now);
    }

    fn flush_due(&self, since_flush: Duration) -> bool {
        self.market.len() >= self.config.flush_rows
            || (self.state.dirty && since_flush >= self.config.flush_interval)
    }

    /// Closed candles through the anomaly detectors, then one write of the raw points, the
    /// fundamentals, the windows (each only in its latest emission, none the store has
    /// already seen closed) and the anomalies.
    async fn handle_checkpoint(&mut self, cx: &Context) -> Result<Option<Flush>> {
        let emitted = &mut self.state.emitted;
        self.candles.process(emitted, &mut self.anomalies);
        analytics::keep_latest_emissions(emitted);
        analytics::drop_superseded(cx.store.as_ref(), analytics::PRICE_WINDOWS, emitted).await?;
        let mut batches = Vec::with_capacity(4);
        batches.extend(self.market.finish()?);
        batches.extend(self.coin_info.finish()?);
        batches.extend(analytics::batch(emitted)?);
        batches.extend(anomalies::batch(&self.anomalies)?);
        let now_ms = cryptoviz_schemas::now_ms();
        let closed_lags: Vec<f64> = emitted
            .iter()
            .filter(|w| w.status == WindowStatus::Closed)
            .map(|w| now_ms.saturating_sub(w.end_ms) as f64 / 1000.0)
            .collect();
        let windows = emitted.len() as u64;
        let anomalies = self.anomalies.len() as u64;
        emitted.clear();
        self.anomalies.clear();
        self.state.dirty = false;
        Ok(Some(Flush {
            write: delivery::write(cx.store.clone(), cx.stats.clone(), batches),
            commit: self.state.pending_commit(topics::PRICES),
            on_ack: Box::new(move |stats: &ConsumerStats| {
                stats.add_windows(windows);
                stats.observe_emit_latency(closed_lags);
                stats.add_anomalies(anomalies);
            }),
        }))
    }

    /// Rebuilds windows, watermarks and derived state from the checkpoints of the assignment.
    async fn restore(
        &mut self,
        cx: &Context,
        assignment: &[(TopicPartition, Option<Committed>)],
    ) -> Result<()> {
        self.state.restore(cx, assignment).await?;
        self.sub_millis.clear();
        self.anomalies.clear();
        if let Some(bounds) = &cx.replay {
            let from = bounds.from_ms();
            self.resume_derived_state(cx.store.as_ref(), from, &|_: &str| from)
                .await?;
            tracing::info!(consumer = %cx.name, partitions = assignment.len(), "replay positioned");
            return Ok(());
        }
        // Indicator histories and anomaly detectors restart from the candles closed before
        // the checkpoint, exactly as they stood then: each coin's as of its own partition's
        // checkpoint. So do the coin fundamentals the ticks are compared with.
        let closed: HashMap<u32, Option<i64>> = assignment
            .iter()
            .map(|(tp, _)| {
                let closed = self.state.windows.closed_until_of(tp.partition);
                (tp.partition, closed)
            })
            .collect();
        let latest = closed.values().flatten().copied().max();
        let partitions = self.partition_count;
        let closed_for = move |coin: &str| {
            let p = cryptoviz_log::partition_for_key(coin.as_bytes(), partitions);
            closed.get(&p).copied().flatten()
        };
        self.resume_derived_state(cx.store.as_ref(), latest, &closed_for)
            .await?;
        tracing::info!(
            consumer = %cx.name,
            partitions = assignment.len(),
            "assignment restored from checkpoints"
        );
        Ok(())
    }

    fn reset(&mut self) {
        self.market = MarketBuilder::default();
        self.coin_info = CoinInfoBuilder::default();
        self.state.reset();
    }

    /// Emits open windows as `partial`; a replay bounded by a time first closes, normally,
    /// every window ending by that time.
    fn drain(&mut self, cx: &Context) {
        self.state.drain(cx);
    }
}
