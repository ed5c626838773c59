//! `cryptoviz bench`: simulated ticks through the full pipeline.
//!
//! encode → log → decode → windows → store, with the producer and the consumer running
//! concurrently as in `cryptoviz run`. The clock stops when the consumer has stored the last
//! tick and drained its windows; then the windows are checked against an independent
//! DataFusion computation over the stored raw ticks.
//!
//! Either seam can be swapped: `--log kafka` publishes and consumes through `[log.kafka]`
//! (the windows are still checked in the embedded store), `--store influxdb` writes into
//! `[store.influxdb]` and checks, with InfluxQL, that every tick and every window arrived
//! (the points-per-second figure is then the InfluxDB sink's).

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use cryptoviz_consumers::sinks::market::MarketBuilder;
use cryptoviz_consumers::stats::StatsSnapshot;
use cryptoviz_consumers::windows::RESOLUTIONS;
use cryptoviz_consumers::{ConsumerStats, PricePipeline, verify};
use cryptoviz_producers::sources::simulated::{Market, generate};
use cryptoviz_producers::{Publisher, SourceStatus};
use cryptoviz_store::{EmbeddedStore, InfluxStore, Store, WriteBatch};
use serde::Serialize;

use super::produce::{HISTORY_START_MS, publish_history};
use crate::backends;
use crate::config::{Config, DataDir, LogBackend, StoreBackend};

/// Flags of `cryptoviz bench`.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Number of price ticks to push through the pipeline.
    #[arg(long, default_value_t = 1_000_000)]
    pub ticks: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Keep the data directory given by `--data-dir` instead of a temporary one.
    #[arg(long)]
    pub keep: bool,
    /// Log backend (default: `log.backend`). With `kafka`, use a fresh broker or empty
    /// topics: the bench counts the ticks it reads.
    #[arg(long, value_enum)]
    pub log: Option<LogBackend>,
    /// Store backend (default: `store.backend`).
    #[arg(long, value_enum)]
    pub store: Option<StoreBackend>,
    /// Push exchange trades (`--ticks` of them) through the trade consumer instead of price
    /// ticks: raw trades and trade candles (`commands/bench_trades.rs`).
    #[arg(long, conflicts_with = "sink_only")]
    pub trades: bool,
    /// Time only the store's writes: the ticks are generated and batched as the consumer's
    /// raw-ingest sink batches them (`consumer.flush_rows` rows per write) before the clock
    /// starts. Measures the sink of `--store` alone.
    #[arg(long)]
    pub sink_only: bool,
}

/// What the bench measured.
#[derive(Debug, Serialize)]
pub(crate) struct BenchReport {
    pub ticks: u64,
    pub seconds: f64,
    pub ticks_per_sec: f64,
    /// Points written to the store (ticks, windows, anomalies) per second.
    pub points_per_sec: f64,
    pub log: &'static str,
    pub store: &'static str,
    pub peak_rss_mb: f64,
    pub windows: usize,
    pub windows_match: bool,
    pub late_rows: u64,
    pub dead_letters: u64,
    pub commits: u64,
}

/// Runs the benchmark and prints its report.
pub(crate) async fn bench(mut config: Config, args: BenchArgs) -> anyhow::Result<()> {
    if args.ticks == 0 {
        bail!("--ticks must be at least 1");
    }
    let temp = tempfile::tempdir().context("cannot create a temporary data directory")?;
    if !args.keep {
        config.data_dir = DataDir(temp.path().to_path_buf());
    }
    if let Some(log) = args.log {
        config.log.backend = log;
    }
    if let Some(store) = args.store {
        config.store.backend = store;
    }
    if config.log.backend == LogBackend::Kafka {
        // A group of its own: never resume another run's offsets.
        config.consumer.group = format!(
            "{}-bench-{}",
            config.consumer.group,
            cryptoviz_schemas::now_ms()
        );
    }
    if config.store.backend == StoreBackend::Influxdb {
        // A database of its own (created on the first write), so counts are this run's.
        config.store.influxdb.database = format!(
            "{}_bench_{}",
            config.store.influxdb.database,
            cryptoviz_schemas::now_ms()
        );
        tracing::info!(database = %config.store.influxdb.database, "bench writes into InfluxDB");
    }
    // The embedded store is verified through the same handle the pipeline wrote with (its
    // background compaction may still be replacing files).
    let embedded = match config.store.backend {
        StoreBackend::Embedded => Some(backends::open_embedded_store(&config).await?),
        StoreBackend::Influxdb => None,
    };
    let store: Arc<dyn Store> = match &embedded {
        Some(store) => store.clone(),
        None => backends::open_store(&config).await?,
    };
    if args.sink_only {
        return sink_bench(&config, store, args.ticks, args.json).await;
    }
    let log = backends::open_log(&config).await?;
    if args.trades {
        return super::bench_trades::bench(&config, log, store, args.ticks, args.json).await;
    }
    let stats = Arc::new(ConsumerStats::default());
    let mut pipeline = PricePipeline::new(
        log.clone(),
        store.clone(),
        config.consumer.clone(),
        stats.clone(),
    )
    .await?;
    // The clock measures throughput, not a Kafka group join (about half the session
    // timeout): wait for the partitions first.
    let joining = Instant::now();
    while pipeline.assigned_partitions() == 0 {
        if joining.elapsed() > std::time::Duration::from_secs(60) {
            bail!("the consumer got no partition within 60 s");
        }
        pipeline.step().await?;
    }
    let started = Instant::now();
    let producer = {
        let publisher = Publisher::new(log.clone(), "simulated", SourceStatus::new("simulated"));
        let config = config.clone();
        let ticks = args.ticks;
        tokio::spawn(
            async move { publish_history(&publisher, &config, HISTORY_START_MS, ticks).await },
        )
    };
    // The market emits whole steps (one tick per coin), so the producer may round up.
    let coins = config.simulator.coins.len() as u64;
    let expected = args.ticks.div_ceil(coins) * coins;
    let mut producer = Some(producer);
    let mut idle_after_producer = 0;
    while stats.ticks() < expected {
        let read = pipeline.step().await?;
        if producer.as_ref().is_some_and(|p| p.is_finished()) {
            // Surface a producer failure instead of waiting forever.
            if let Some(p) = producer.take() {
                p.await.context("producer task")??;
            }
        }
        if producer.is_none() && read == 0 {
            idle_after_producer += 1;
            if idle_after_producer > 50 {
                bail!(
                    "the producer finished but only {} of {expected} ticks arrived",
                    stats.ticks()
                );
            }
        }
    }
    pipeline.finish().await?;
    if let Some(p) = producer {
        p.await.context("producer task")??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let peak_rss_mb = peak_rss_mb();
    let s = stats.snapshot();
    let (windows, windows_match) = match &embedded {
        Some(store) => verify_embedded(store).await?,
        None => verify_influx(&config, &s).await?,
    };
    let points = s.ticks + s.windows + s.anomalies;
    let report = BenchReport {
        ticks: s.ticks,
        seconds,
        ticks_per_sec: s.ticks as f64 / seconds,
        points_per_sec: points as f64 / seconds,
        log: config.log.backend.as_str(),
        store: config.store.backend.as_str(),
        peak_rss_mb,
        windows,
        windows_match,
        late_rows: s.late_rows,
        dead_letters: s.dead_letters,
        commits: s.commits,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} ticks in {:.3} s ({} log, {} store): {:.0} ticks/s end to end, {:.0} points/s \
             written; peak RSS {:.1} MB; {} windows, {}",
            report.ticks,
            report.seconds,
            report.log,
            report.store,
            report.ticks_per_sec,
            report.points_per_sec,
            report.peak_rss_mb,
            report.windows,
            if report.windows_match {
                "all equal to an independent computation (1m, 5m, 1h)"
            } else {
                "MISMATCH (see the error lines above)"
            }
        );
    }
    if !report.windows_match {
        bail!("windows differ from the independent computation");
    }
    Ok(())
}

/// `--sink-only`: what the report of a store-only run holds.
#[derive(Debug, Serialize)]
struct SinkReport {
    store: &'static str,
    points: u64,
    writes: usize,
    seconds: f64,
    points_per_sec: f64,
    stored: u64,
}

/// Writes `ticks` simulated ticks as `crypto_market` batches and times the writes alone.
async fn sink_bench(
    config: &Config,
    store: Arc<dyn Store>,
    ticks: u64,
    json: bool,
) -> anyhow::Result<()> {
    let mut market = Market::new(&config.simulator, HISTORY_START_MS);
    let mut builder = MarketBuilder::default();
    let mut batches = Vec::new();
    let rows = config.consumer.flush_rows;
    generate(&mut market, ticks, |_, prices| {
        for p in prices.iter() {
            builder.push(p, 0);
        }
    });
    // Split into writes of `flush_rows` as the consumer would.
    let all = builder.finish()?.context("no ticks generated")?;
    let n = all.batch.num_rows();
    let mut offset = 0;
    while offset < n {
        let len = rows.min(n - offset);
        batches.push(WriteBatch::new(
            all.measurement.clone(),
            all.tags.clone(),
            all.batch.slice(offset, len),
        )?);
        offset += len;
    }
    let writes = batches.len();
    let started = Instant::now();
    for b in batches {
        store.write(vec![b]).await?;
    }
    store.flush().await?;
    let seconds = started.elapsed().as_secs_f64();
    let stored = match config.store.backend {
        StoreBackend::Influxdb => {
            InfluxStore::new(config.store.influxdb.clone())?
                .count("crypto_market", "price_usd")
                .await?
        }
        StoreBackend::Embedded => {
            let q = cryptoviz_store::Query::new("crypto_market");
            store
                .query(&q)
                .await?
                .iter()
                .map(|b| b.num_rows() as u64)
                .sum()
        }
    };
    let report = SinkReport {
        store: config.store.backend.as_str(),
        points: n as u64,
        writes,
        seconds,
        points_per_sec: n as f64 / seconds,
        stored,
    };
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} points in {} writes to the {} store in {:.3} s: {:.0} points/s; {} stored",
            report.points,
            report.writes,
            report.store,
            report.seconds,
            report.points_per_sec,
            report.stored
        );
    }
    if stored != n as u64 {
        bail!("{n} points written but {stored} stored");
    }
    Ok(())
}

/// Every resolution (1m, 5m, 1h) against its own independent DataFusion computation over the
/// stored raw ticks: (windows stored, all equal).
async fn verify_embedded(store: &EmbeddedStore) -> anyhow::Result<(usize, bool)> {
    let (mut windows, mut windows_match) = (0, true);
    for (label, width_ms) in RESOLUTIONS {
        let comparison = verify::compare_windows(store, label, width_ms).await?;
        if !comparison.matches() {
            tracing::error!(
                window = label,
                ?comparison,
                "windows differ from the independent computation"
            );
        }
        windows += comparison.actual;
        windows_match &= comparison.matches();
    }
    Ok((windows, windows_match))
}

/// In InfluxDB: every tick is a `crypto_market` point, and there are as many distinct
/// `crypto_analytics` points as windows closed (a window re-emitted is one point).
async fn verify_influx(config: &Config, stats: &StatsSnapshot) -> anyhow::Result<(usize, bool)> {
    let influx = InfluxStore::new(config.store.influxdb.clone())?;
    let ticks = influx.count("crypto_market", "price_usd").await?;
    let windows = influx.count("crypto_analytics", "count").await?;
    let ok = ticks == stats.ticks && windows > 0 && windows <= stats.windows;
    if !ok {
        tracing::error!(
            stored_ticks = ticks,
            read_ticks = stats.ticks,
            stored_windows = windows,
            emitted_windows = stats.windows,
            "InfluxDB holds a different number of points than the pipeline wrote"
        );
    }
    Ok((windows as usize, ok))
}

/// Peak resident set size of this process (VmHWM), in MB.
pub(crate) fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
