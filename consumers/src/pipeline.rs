//! The price consumer: poll → decode → raw ingest + windows → store → commit.
//!
//! Delivery: a batch of outputs is written to the store, and only once the store has
//! acknowledged it are offsets committed. The committed offset of a partition is the smaller
//! of the next unread offset and the first offset of any tick still in an open window, and its
//! metadata (and the store, for brokers that drop metadata) carries the watermark state
//! ([`crate::checkpoint`]). After a crash the consumer restarts from there with
//! that state: ticks of windows that had already closed are skipped, open windows are rebuilt
//! from all their ticks, and every re-emitted point has the same key as before, so the store
//! ends up exactly as if nothing had happened.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use cryptoviz_log::{Committed, ConsumedRecord, Log, LogConsumer, SeekTo, TopicPartition};
use cryptoviz_schemas::{CryptoPrice, DlqRecord, topics};
use cryptoviz_store::{Store, WriteBatch};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::anomalies::{Anomaly, AnomalyConfig};
use crate::candles::CandleAnalytics;
use crate::checkpoint::{self, Checkpoint};
use crate::decode::decode_into;
use crate::identity::{self, Identity, SubMillis, TickKey};
use crate::replay::ReplayBounds;
use crate::sinks::coin_info::CoinInfoBuilder;
use crate::sinks::{analytics, anomalies, market::MarketBuilder};
use crate::stats::ConsumerStats;
use crate::supervise::{self, Ended, Supervised};
use crate::windows::{
    Added, EmittedWindow, RESOLUTIONS, Resolutions, Sample, Watermarks, WindowStatus,
};
use crate::{Error, Result};

/// Configuration of the consumers (`[consumer]` in the config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsumerConfig {
    /// Consumer group; instances of one group split the partitions.
    pub group: String,
    /// How long after a window's end (in event time) ticks are still accepted.
    #[serde(with = "humantime_serde")]
    pub allowed_lateness: Duration,
    /// A partition that delivers nothing for this long (wall time) stops holding the
    /// watermark back; when all are idle, open windows are emitted as provisional.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Longest time outputs are buffered before a store write and an offset commit.
    #[serde(with = "humantime_serde")]
    pub flush_interval: Duration,
    /// Buffered ticks that force a store write.
    pub flush_rows: usize,
    /// Most records taken from the log per poll.
    pub poll_max: usize,
    /// Accept ticks whose event time is more than a day past the wall clock. Off: such a tick
    /// is dead-lettered at decode (one bad clock must not carry the watermark ahead for good
    /// and make every later tick late). `cryptoviz run --simulate --speed N` with N > 1 turns
    /// it on, since its market clock runs ahead on purpose.
    pub accept_future_event_times: bool,
    /// The anomaly detectors.
    pub anomalies: AnomalyConfig,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        Self {
            group: "cryptoviz-analytics".into(),
            allowed_lateness: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(3),
            flush_interval: Duration::from_millis(250),
            flush_rows: 100_000,
            poll_max: 20_000,
            accept_future_event_times: false,
            anomalies: AnomalyConfig::default(),
        }
    }
}

impl ConsumerConfig {
    /// Checks every value; the error names the offending key.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, why: &str| Err(Error::Config(format!("consumer.{key}: {why}")));
        if self.group.trim().is_empty() {
            return bad("group", "must not be empty");
        }
        if self.flush_interval.is_zero() {
            return bad("flush_interval", "must be positive");
        }
        if self.idle_timeout.is_zero() {
            return bad("idle_timeout", "must be positive");
        }
        if self.flush_rows == 0 {
            return bad("flush_rows", "must be at least 1");
        }
        if self.poll_max == 0 {
            return bad("poll_max", "must be at least 1");
        }
        self.anomalies.validate()
    }
}

/// The 1-minute window, the finest of [`RESOLUTIONS`] (the bench and the tests verify it).
pub const WINDOW_1M: (&str, i64) = RESOLUTIONS[0];

/// The consumer of `crypto-prices`.
pub struct PricePipeline {
    log: Arc<dyn Log>,
    store: Arc<dyn Store>,
    consumer: Box<dyn LogConsumer>,
    config: ConsumerConfig,
    stats: Arc<ConsumerStats>,
    windows: Resolutions,
    marks: Watermarks,
    /// Sub-millisecond offsets of the ticks that share a millisecond.
    sub_millis: SubMillis,
    /// Partitions of the prices topic (a coin's partition is a function of its id).
    partition_count: u32,
    market: MarketBuilder,
    coin_info: CoinInfoBuilder,
    /// The record every tick is decoded into: its strings keep their allocations.
    decoded: CryptoPrice,
    emitted: Vec<EmittedWindow>,
    candles: CandleAnalytics,
    anomalies: Vec<Anomaly>,
    dead: Vec<DlqRecord>,
    /// Next offset to read, per partition of the prices topic.
    positions: BTreeMap<u32, u64>,
    /// Offsets below these were read before the checkpoint we restarted from.
    replay_until: HashMap<u32, u64>,
    dirty: bool,
    provisional_sent: bool,
    /// Whether the log gives commit metadata back, learned from the first commit. Until it is
    /// known, and if it does not, each checkpoint is also written to the store.
    metadata_kept: Option<bool>,
    last_flush: Instant,
    /// The last flush's store write, while it is in flight, with the commit that follows its
    /// acknowledgement.
    in_flight: Option<InFlight>,
    name: String,
    /// Set for a replay: read these bounds instead of resuming from the checkpoints.
    replay: Option<ReplayBounds>,
}

impl PricePipeline {
    /// Joins the consumer group and restores the checkpoint of its partitions.
    pub async fn new(
        log: Arc<dyn Log>,
        store: Arc<dyn Store>,
        config: ConsumerConfig,
        stats: Arc<ConsumerStats>,
    ) -> Result<Self> {
        Self::start(log, store, config, stats, None).await
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
        Self::start(log, store, config, stats, Some(bounds)).await
    }

    /// The replay's bounds and progress, for a replay.
    pub fn replay_bounds(&self) -> Option<&ReplayBounds> {
        self.replay.as_ref()
    }

    async fn start(
        log: Arc<dyn Log>,
        store: Arc<dyn Store>,
        config: ConsumerConfig,
        stats: Arc<ConsumerStats>,
        replay: Option<ReplayBounds>,
    ) -> Result<Self> {
        config.validate()?;
        log.ensure_topic(topics::PRICES, 3).await?;
        let partition_count = log.partition_count(topics::PRICES).await?;
        let consumer = log.subscribe(&config.group, &[topics::PRICES]).await?;
        let lateness = config.allowed_lateness.as_millis() as i64;
        let name = format!("consumer:{}", config.group);
        let mut pipeline = Self {
            log,
            store,
            consumer,
            windows: Resolutions::new(&RESOLUTIONS, lateness),
            marks: Watermarks::new(config.idle_timeout),
            sub_millis: SubMillis::new(),
            partition_count,
            candles: CandleAnalytics::new(config.anomalies.clone()),
            anomalies: Vec::new(),
            config,
            stats,
            market: MarketBuilder::default(),
            coin_info: CoinInfoBuilder::default(),
            decoded: CryptoPrice::default(),
            emitted: Vec::new(),
            dead: Vec::new(),
            positions: BTreeMap::new(),
            replay_until: HashMap::new(),
            dirty: false,
            provisional_sent: false,
            metadata_kept: None,
            last_flush: Instant::now(),
            in_flight: None,
            name,
            replay,
        };
        pipeline.on_assignment_change().await?;
        Ok(pipeline)
    }

    /// Number of partitions currently assigned to this member (0 until a Kafka group join
    /// completes).
    pub fn assigned_partitions(&self) -> usize {
        self.consumer.assignment().len()
    }

    /// The shared counters.
    pub fn stats(&self) -> &Arc<ConsumerStats> {
        &self.stats
    }

    /// Runs until `shutdown` fires, then drains: open windows are emitted as `partial`,
    /// everything buffered is written, and offsets are committed.
    ///
    /// A retryable error (the log or the store unavailable, a full disk) is retried with
    /// back-off for as long as it takes, rebuilding from the last commit each time
    /// ([`crate::supervise`]); a permanent one ends the run with the error, after marking the
    /// consumer `failed` in its stats.
    pub async fn run(mut self, shutdown: CancellationToken) -> Result<()> {
        if supervise::run(&mut self, &shutdown).await? == Ended::MidRecovery {
            return Ok(());
        }
        let (name, stats) = (self.name.clone(), self.stats.clone());
        let result = self.finish().await;
        supervise::drained(&stats, &name, &result);
        result
    }
}

impl Supervised for PricePipeline {
    fn name(&self) -> &str {
        &self.name
    }

    fn stats(&self) -> &ConsumerStats {
        &self.stats
    }

    async fn step(&mut self) -> Result<usize> {
        PricePipeline::step(self).await
    }

    /// Drops everything in memory and rebuilds it from the committed offsets and checkpoints,
    /// as a restart would (after a retryable error left a step half done).
    async fn recover(&mut self) -> Result<()> {
        if let Some(mut f) = self.in_flight.take() {
            // Let an unacknowledged write end before re-reading, so an old write can never
            // land after the replay's. Its outcome does not matter: its offsets were not
            // committed, so its outputs are derived again.
            let _ = (&mut f.write).await;
        }
        self.market = MarketBuilder::default();
        self.coin_info = CoinInfoBuilder::default();
        self.dead.clear();
        self.dirty = false;
        self.provisional_sent = false;
        self.stats.add_restart();
        self.on_assignment_change().await
    }
}

impl PricePipeline {
    /// One poll and what follows from it; returns how many records were read.
    pub async fn step(&mut self) -> Result<usize> {
        if self
            .in_flight
            .as_ref()
            .is_some_and(|f| f.write.is_finished())
        {
            self.settle().await?;
        }
        let records = self
            .consumer
            .poll(self.config.poll_max, Duration::from_millis(100))
            .await?;
        if self.consumer.take_assignment_change().is_some() {
            // Rebalance: write what we have, then rebuild from the committed checkpoints and
            // re-read from the committed offsets (this poll's records are read again then).
            self.flush().await?;
            self.settle().await?;
            self.on_assignment_change().await?;
            return Ok(0);
        }
        let now = Instant::now();
        let read = records.len();
        if read > 0 {
            self.process(&records, now);
            self.provisional_sent = false;
        } else if !self.provisional_sent && self.windows.open_count() > 0 {
            self.windows
                .advance(self.marks.event_time(now), &mut self.emitted);
            if self.marks.event_time(now).is_none() {
                // Every partition idles: show the open windows as they stand.
                self.windows
                    .emit_open(WindowStatus::Provisional, &mut self.emitted);
                self.provisional_sent = true;
                self.dirty = true;
            }
        }
        if self.market.len() >= self.config.flush_rows
            || (self.dirty && self.last_flush.elapsed() >= self.config.flush_interval)
        {
            self.flush().await?;
        }
        Ok(read)
    }

    /// Emits open windows as `partial`, writes everything buffered and commits. A replay
    /// bounded by a time first closes, normally, every window ending by that time.
    pub async fn finish(mut self) -> Result<()> {
        if let Some(to) = self.replay.as_ref().and_then(ReplayBounds::to_ms) {
            let lateness = self.config.allowed_lateness.as_millis() as i64;
            self.windows
                .advance(Some(to.saturating_add(lateness)), &mut self.emitted);
        }
        self.windows
            .emit_open(WindowStatus::Partial, &mut self.emitted);
        self.dirty = true;
        self.flush().await?;
        self.settle().await?;
        tracing::info!(consumer = %self.name, "consumer drained");
        Ok(())
    }

    /// Stops without emitting open windows (a cancelled replay must not overwrite complete
    /// stored windows with the part of them it had read): writes what is buffered — raw
    /// ticks, closed windows, anomalies — and commits.
    pub async fn abandon(mut self) -> Result<()> {
        self.flush().await?;
        self.settle().await?;
        tracing::info!(consumer = %self.name, open = self.windows.open_count(), "consumer stopped; open windows dropped");
        Ok(())
    }

    fn process(&mut self, records: &[ConsumedRecord], now: Instant) {
        let now_ms = cryptoviz_schemas::now_ms();
        let horizon_ms = if self.config.accept_future_event_times {
            i64::MAX
        } else {
            now_ms
        };
        let mut ticks = 0;
        let mut price = std::mem::take(&mut self.decoded);
        for record in records {
            if let Some(bounds) = self.replay.as_mut()
                && !bounds.keep(record)
            {
                continue;
            }
            self.positions.insert(record.partition, record.offset + 1);
            if let Err(dead) = decode_into(record, &self.name, now_ms, horizon_ms, &mut price) {
                tracing::warn!(reason = %dead.reason, "dead-lettering a record");
                self.dead.push(dead);
                continue;
            }
            let hash = identity::content_hash(&record.value);
            let sub_ns = match self.sub_millis.assign(
                &price.crypto_id,
                &price.source,
                price.timestamp_ms,
                hash,
            ) {
                Identity::Distinct { offset_ns } => offset_ns,
                Identity::Duplicate => {
                    // The same bytes again right after themselves: a source sent one
                    // record twice. Its point is already written.
                    self.stats.add_duplicate(&price.source);
                    continue;
                }
            };
            ticks += 1;
            self.marks
                .observe(record.partition, price.timestamp_ms, now);
            self.market.push(&price, sub_ns);
            self.coin_info.push(&price);
            let replayed = self
                .replay_until
                .get(&record.partition)
                .is_some_and(|until| record.offset < *until);
            // A replayed tick of a bin closed before the checkpoint was counted then: each
            // width skips it silently.
            let added = self.windows.add(
                &price.crypto_id,
                &price.source,
                TickKey::new(price.timestamp_ms, sub_ns, hash),
                Sample::of(&price),
                record.partition,
                record.offset,
                replayed,
            );
            match added {
                Some(Added::Late) => self.stats.add_late(&price.crypto_id),
                // A copy that arrived apart from its original (another tick of the series in
                // between): not counted again; its raw point rewrites the original's.
                Some(Added::Duplicate) => self.stats.add_duplicate(&price.source),
                _ => {}
            }
        }
        self.decoded = price;
        self.stats.add_ticks(ticks);
        self.windows
            .advance(self.marks.event_time(now), &mut self.emitted);
        self.dirty = true;
    }

    /// Writes dead letters, then starts the store write of everything buffered; its offsets
    /// are committed once the store has acknowledged it ([`Self::settle`]). The write runs
    /// while the consumer goes on reading and windowing, one write at a time: a flush first
    /// settles the previous one, so writes reach the store in order and at most one batch of
    /// outputs waits in memory.
    async fn flush(&mut self) -> Result<()> {
        self.settle().await?;
        if !self.dead.is_empty() {
            let dead = std::mem::take(&mut self.dead);
            append_dead_letters(self.log.as_ref(), &dead).await?;
            self.stats.add_dead_letters(dead.len() as u64);
        }
        self.candles.process(&mut self.emitted, &mut self.anomalies);
        analytics::keep_latest_emissions(&mut self.emitted);
        analytics::drop_superseded(self.store.as_ref(), &mut self.emitted).await?;
        let mut batches = Vec::with_capacity(4);
        batches.extend(self.market.finish()?);
        batches.extend(self.coin_info.finish()?);
        batches.extend(analytics::batch(&self.emitted)?);
        batches.extend(anomalies::batch(&self.anomalies)?);
        let now_ms = cryptoviz_schemas::now_ms();
        let closed_lags: Vec<f64> = self
            .emitted
            .iter()
            .filter(|w| w.status == WindowStatus::Closed)
            .map(|w| now_ms.saturating_sub(w.end_ms) as f64 / 1000.0)
            .collect();
        let windows = self.emitted.len() as u64;
        let anomalies = self.anomalies.len() as u64;
        self.emitted.clear();
        self.anomalies.clear();
        let store = self.store.clone();
        let stats = self.stats.clone();
        let write = tokio::spawn(async move {
            if batches.is_empty() {
                return Ok(());
            }
            write_with_retry(store.as_ref(), &stats, batches).await
        });
        self.in_flight = Some(InFlight {
            write,
            commit: self.pending_commit(),
            windows,
            anomalies,
            closed_lags,
        });
        self.dirty = false;
        self.last_flush = Instant::now();
        Ok(())
    }

    /// Waits for the store write in flight, if any, and commits the offsets it covers (never
    /// before its acknowledgement). Cancel-safe: until the write is acknowledged it stays in
    /// flight, to be waited for again.
    async fn settle(&mut self) -> Result<()> {
        let Some(f) = self.in_flight.as_mut() else {
            return Ok(());
        };
        let written = (&mut f.write).await;
        let f = self.in_flight.take().expect("a write in flight");
        written.map_err(|e| Error::WriteTask(e.to_string()))??;
        self.stats.add_windows(f.windows);
        self.stats.observe_emit_latency(f.closed_lags);
        self.stats.add_anomalies(f.anomalies);
        self.commit(f.commit).await
    }

    /// What to commit once the outputs flushed now are acknowledged: each partition's position
    /// and checkpoint as they stand now.
    fn pending_commit(&self) -> PendingCommit {
        let mut first_open = HashMap::new();
        self.windows.first_open_offsets(&mut first_open);
        let partitions = self
            .positions
            .iter()
            .map(|(&partition, &position)| {
                // Keep the furthest read point across restarts, so a second crash still knows
                // which replayed ticks were counted before.
                let read_to = self
                    .replay_until
                    .get(&partition)
                    .map_or(position, |r| (*r).max(position));
                // Never past what this run has actually read: right after a restart nothing
                // is open yet, and committing `read_to` would skip the replay of the windows
                // that were open at the crash.
                let safe = first_open
                    .get(&partition)
                    .map_or(position, |o| (*o).min(position));
                // Each partition's own closing point: an inherited partition may still be
                // behind the others (see `crate::windows`).
                let checkpoint = Checkpoint {
                    max_ts: self.marks.max_ts(partition),
                    closed_until: self.windows.closed_until_of(partition),
                    read_to,
                };
                (partition, safe, checkpoint)
            })
            .collect();
        PendingCommit {
            partitions,
            closed_until: self.windows.closed_until(),
        }
    }

    async fn commit(&mut self, pending: PendingCommit) -> Result<()> {
        if pending.partitions.is_empty() {
            return Ok(());
        }
        let PendingCommit {
            partitions,
            closed_until,
        } = pending;
        // Only partitions still assigned: after a rebalance took some away, their new owner
        // restarts from their last commit (the idempotent store absorbs the overlap), and a
        // commit for them would be refused.
        let assigned: std::collections::HashSet<u32> = self
            .consumer
            .assignment()
            .into_iter()
            .filter(|tp| tp.topic == topics::PRICES)
            .map(|tp| tp.partition)
            .collect();
        let mut offsets = Vec::with_capacity(partitions.len());
        let mut saved = Vec::with_capacity(partitions.len());
        for (partition, safe, checkpoint) in partitions {
            if !assigned.contains(&partition) {
                continue;
            }
            let metadata = serde_json::to_string(&checkpoint).unwrap_or_default();
            saved.push((partition, safe, checkpoint));
            offsets.push((
                TopicPartition {
                    topic: topics::PRICES.to_string(),
                    partition,
                },
                Committed {
                    offset: safe,
                    metadata,
                },
            ));
        }
        // The store's copy first (its outputs are acknowledged already), then the commit; a
        // replay restarts from its bounds and keeps none, and a log that keeps the metadata
        // needs none.
        if self.replay.is_none()
            && self.metadata_kept != Some(true)
            && let Some(batch) = checkpoint::batch(
                &self.config.group,
                topics::PRICES,
                &saved,
                cryptoviz_schemas::now_ms(),
            )?
        {
            write_with_retry(self.store.as_ref(), &self.stats, vec![batch]).await?;
        }
        self.consumer.commit(&offsets).await?;
        self.stats.add_commit();
        if self.replay.is_none()
            && self.metadata_kept.is_none()
            && let Some((tp, sent)) = offsets.first()
        {
            // Both backends commit synchronously: what is read back is what the log keeps.
            let back = self.consumer.committed(tp).await?;
            let kept = back.is_some_and(|c| c.metadata == sent.metadata);
            if !kept {
                tracing::info!(consumer = %self.name, "the log drops commit metadata: checkpoints are kept in the store as well");
            }
            self.metadata_kept = Some(kept);
        }
        if let Some(c) = closed_until {
            self.stats.set_closed_until(c);
        }
        Ok(())
    }

    /// Indicator histories, anomaly detectors and coin fundamentals as they stood at `at_ms`
    /// (from the store), or empty when reading starts with nothing before it. A coin's candle
    /// history goes up to `closed_for(coin)` (its partition's closing point; `None`: not a
    /// coin of this member's partitions).
    async fn resume_derived_state(
        &mut self,
        at_ms: Option<i64>,
        closed_for: &(dyn Fn(&str) -> Option<i64> + Send + Sync),
    ) -> Result<()> {
        match at_ms {
            Some(t) => {
                self.candles
                    .warm_up(self.store.as_ref(), t, closed_for)
                    .await?;
                self.coin_info.warm_up(self.store.as_ref(), t).await?;
            }
            None => {
                self.candles.clear();
                self.coin_info.clear();
            }
        }
        Ok(())
    }

    /// Rebuilds state from the committed checkpoints of the current assignment.
    async fn on_assignment_change(&mut self) -> Result<()> {
        self.windows.clear();
        self.marks.clear();
        self.sub_millis.clear();
        self.positions.clear();
        self.replay_until.clear();
        self.emitted.clear();
        self.anomalies.clear();
        let now = Instant::now();
        if let Some(bounds) = &self.replay {
            for tp in self.consumer.assignment() {
                self.marks.assign(tp.partition, None, now);
                self.consumer.seek(&tp, bounds.seek_to()).await?;
            }
            let from = bounds.from_ms();
            self.resume_derived_state(from, &|_: &str| from).await?;
            tracing::info!(
                consumer = %self.name,
                partitions = self.consumer.assignment().len(),
                "replay positioned"
            );
            return Ok(());
        }
        for tp in self.consumer.assignment() {
            let committed = self.consumer.committed(&tp).await?;
            let checkpoint = checkpoint::restore(
                self.store.as_ref(),
                &self.config.group,
                &tp.topic,
                tp.partition,
                committed.as_ref(),
            )
            .await?;
            // The partition's watermark restarts from what is actually re-read, not from the
            // checkpoint's `max_ts`: with the old maximum, the watermark could pass windows of
            // this partition whose ticks are still to be replayed, and those ticks would then be
            // skipped as already counted. Until it delivers again (or idles) the partition
            // holds the others back, exactly as at a first start.
            self.marks.assign(tp.partition, None, now);
            if let Some(c) = checkpoint {
                if let Some(closed) = c.closed_until {
                    self.windows.restore_closed_until(tp.partition, closed);
                }
                self.replay_until.insert(tp.partition, c.read_to);
            }
            let start = match committed {
                Some(c) => {
                    self.positions.insert(tp.partition, c.offset);
                    SeekTo::Offset(c.offset)
                }
                None => SeekTo::Beginning,
            };
            self.consumer.seek(&tp, start).await?;
        }
        // Indicator histories and anomaly detectors restart from the candles closed before
        // the checkpoint, exactly as they stood then: each coin's as of its own partition's
        // checkpoint. So do the coin fundamentals the ticks are compared with.
        let assigned: Vec<u32> = self
            .consumer
            .assignment()
            .iter()
            .map(|tp| tp.partition)
            .collect();
        let latest = assigned
            .iter()
            .filter_map(|p| self.windows.closed_until_of(*p))
            .max();
        let closed: HashMap<u32, Option<i64>> = assigned
            .iter()
            .map(|p| (*p, self.windows.closed_until_of(*p)))
            .collect();
        let partitions = self.partition_count;
        let closed_for = move |coin: &str| {
            let p = cryptoviz_log::partition_for_key(coin.as_bytes(), partitions);
            closed.get(&p).copied().flatten()
        };
        self.resume_derived_state(latest, &closed_for).await?;
        tracing::info!(
            consumer = %self.name,
            partitions = self.consumer.assignment().len(),
            "assignment restored from checkpoints"
        );
        Ok(())
    }
}

/// A flush's store write in flight and what follows its acknowledgement.
struct InFlight {
    write: tokio::task::JoinHandle<Result<()>>,
    commit: PendingCommit,
    windows: u64,
    anomalies: u64,
    closed_lags: Vec<f64>,
}

/// Offsets and checkpoints to commit once a write is acknowledged.
struct PendingCommit {
    /// (partition, offset to commit, its checkpoint).
    partitions: Vec<(u32, u64, Checkpoint)>,
    closed_until: Option<i64>,
}

/// Appends dead letters to `crypto-dlq`, keyed by their original topic.
pub(crate) async fn append_dead_letters(log: &dyn Log, dead: &[DlqRecord]) -> Result<()> {
    let records = dead
        .iter()
        .map(|d| cryptoviz_log::Record {
            key: Some(bytes::Bytes::copy_from_slice(d.original_topic.as_bytes())),
            value: bytes::Bytes::from(cryptoviz_schemas::to_bytes(d)),
            timestamp_ms: d.timestamp_ms,
        })
        .collect();
    log.append(topics::DLQ, records).await?;
    Ok(())
}

/// Writes `batches`, retrying retryable store errors with exponential back-off (100 ms
/// doubling to 10 s) and never dropping the batch: the caller commits offsets only after this
/// returns, so a store outage stalls the consumer instead of losing data.
pub(crate) async fn write_with_retry(
    store: &dyn Store,
    stats: &ConsumerStats,
    batches: Vec<WriteBatch>,
) -> Result<()> {
    let mut delay = Duration::from_millis(100);
    loop {
        match store.write(batches.clone()).await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_retryable() => {
                stats.add_store_retry();
                tracing::warn!(error = %e, ?delay, "store write failed, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            Err(e) => return Err(e.into()),
        }
    }
}
