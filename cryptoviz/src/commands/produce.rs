//! `cryptoviz produce`: the producers alone.

use anyhow::{Context, bail};
use clap::Args;
use cryptoviz_producers::sources::simulated::{Market, generate};
use cryptoviz_producers::{Publisher, SourceStatus};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::stage_metrics::StageCollector;
use crate::{backends, exporter, shutdown, stages};

/// Flags of `cryptoviz produce`.
#[derive(Debug, Args)]
pub(crate) struct ProduceArgs {
    /// Use the simulated market instead of the live sources.
    #[arg(long)]
    pub simulate: bool,
    /// With `--simulate`: instead of running live, publish this many simulated ticks of history as fast as
    /// possible, then exit (backfill, load tests).
    #[arg(long, requires = "simulate")]
    pub ticks: Option<u64>,
    /// Market time of the first tick of `--ticks` (RFC 3339; default 2026-01-01T00:00:00Z).
    #[arg(long, requires = "ticks")]
    pub start: Option<String>,
    /// Market time per wall time for the live simulated market.
    #[arg(long)]
    pub speed: Option<f64>,
    /// Serve Prometheus `/metrics` (the sources' counters and breaker states) and `/health`
    /// on this address while running live.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// Runs the producers (the live agents, or the simulated market with `--simulate`) until
/// Ctrl-C/SIGTERM, or publishes `--ticks` of simulated history and exits.
pub(crate) async fn produce(mut config: Config, args: ProduceArgs) -> anyhow::Result<()> {
    if let Some(speed) = args.speed {
        config.simulator.speed = speed;
    }
    config.validate().context("invalid configuration")?;
    let log = backends::open_log(&config).await?;
    let status = SourceStatus::new("simulated");
    let publisher = Publisher::new(log.clone(), "simulated", status.clone());
    if let Some(ticks) = args.ticks {
        let start = match args.start.as_deref() {
            Some(s) => parse_time(s).context("--start")?,
            None => HISTORY_START_MS,
        };
        publish_history(&publisher, &config, start, ticks).await?;
        log.flush().await?;
        let s = status.snapshot();
        println!("published {} ticks ({} rejected)", s.published, s.rejected);
        return Ok(());
    }
    let token = CancellationToken::new();
    let tasks = TaskTracker::new();
    let statuses = stages::spawn_sources(
        &config,
        &log,
        args.simulate,
        &token,
        &tasks,
        &tokio::runtime::Handle::current(),
    )?;
    let metrics = match args.metrics_listen {
        Some(addr) => {
            let collector = StageCollector {
                sources: statuses.clone(),
                consumers: None,
            };
            Some(exporter::serve(addr, collector.shared(), None, token.clone()).await?)
        }
        None => None,
    };
    shutdown::signal().await;
    token.cancel();
    tasks.close();
    tasks.wait().await;
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    log.flush().await?;
    for status in statuses {
        let s = status.snapshot();
        tracing::info!(source = %s.name, published = s.published, rejected = s.rejected, "source stopped");
    }
    Ok(())
}

/// 2026-01-01T00:00:00Z: where generated history starts unless told otherwise.
pub(crate) const HISTORY_START_MS: i64 = 1_767_225_600_000;

/// Publishes `ticks` simulated price ticks (plus their news and Fear & Greed values) from
/// `start_ms`, in batches, as fast as the log takes them.
pub(crate) async fn publish_history(
    publisher: &Publisher,
    config: &Config,
    start_ms: i64,
    ticks: u64,
) -> anyhow::Result<()> {
    const BATCH: usize = 20_000;
    let mut market = Market::new(&config.simulator, start_ms);
    let now = cryptoviz_schemas::now_ms();
    let per_step = market.coin_count() as u64;
    let mut remaining = ticks;
    let mut batch = Vec::with_capacity(BATCH + per_step as usize);
    while remaining > 0 {
        let steps = (BATCH as u64 / per_step)
            .max(1)
            .min(remaining.div_ceil(per_step));
        generate(&mut market, steps * per_step, |_, prices| {
            batch.append(prices)
        });
        remaining = remaining.saturating_sub(steps * per_step);
        publisher.publish(&batch, now).await?;
        batch.clear();
        publisher.publish(&market.take_news(), now).await?;
        publisher.publish(&market.take_sentiment(), now).await?;
    }
    Ok(())
}

fn parse_time(s: &str) -> anyhow::Result<i64> {
    match chrono::DateTime::parse_from_rfc3339(s) {
        Ok(t) => Ok(t.timestamp_millis()),
        Err(e) => bail!("`{s}` is not an RFC 3339 time: {e}"),
    }
}
