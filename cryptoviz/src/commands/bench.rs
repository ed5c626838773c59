//! `cryptoviz bench`: simulated ticks through the full embedded pipeline.
//!
//! encode → log → decode → windows → store, with the producer and the consumer running
//! concurrently as in `cryptoviz run`. The clock stops when the consumer has stored the last
//! tick and drained its windows; then the windows are checked against an independent
//! DataFusion computation over the stored raw ticks.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use cryptoviz_consumers::windows::RESOLUTIONS;
use cryptoviz_consumers::{ConsumerStats, PricePipeline, verify};
use cryptoviz_producers::{Publisher, SourceStatus};
use serde::Serialize;

use super::produce::{HISTORY_START_MS, publish_history};
use crate::backends;
use crate::config::{Config, DataDir};

/// Flags of `cryptoviz bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Number of price ticks to push through the pipeline.
    #[arg(long, default_value_t = 1_000_000)]
    pub ticks: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Keep the data directory given by `--data-dir` instead of a temporary one.
    #[arg(long)]
    pub keep: bool,
}

/// What the bench measured.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub ticks: u64,
    pub seconds: f64,
    pub ticks_per_sec: f64,
    pub peak_rss_mb: f64,
    pub windows: usize,
    pub windows_match: bool,
    pub late_rows: u64,
    pub dead_letters: u64,
    pub commits: u64,
}

/// Runs the benchmark and prints its report.
pub async fn bench(mut config: Config, args: BenchArgs) -> anyhow::Result<()> {
    if args.ticks == 0 {
        bail!("--ticks must be at least 1");
    }
    let temp = tempfile::tempdir().context("cannot create a temporary data directory")?;
    if !args.keep {
        config.data_dir = DataDir(temp.path().to_path_buf());
    }
    let store = backends::open_embedded_store(&config).await?;
    let log = backends::open_log(&config).await?;
    let stats = Arc::new(ConsumerStats::default());
    let mut pipeline = PricePipeline::new(
        log.clone(),
        store.clone(),
        config.consumer.clone(),
        stats.clone(),
    )
    .await?;
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
    // Every resolution (1m, 5m, 1h) against its own independent computation.
    let (mut windows, mut windows_match) = (0, true);
    for (label, width_ms) in RESOLUTIONS {
        let comparison = verify::compare_windows(&store, label, width_ms).await?;
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
    let s = stats.snapshot();
    let report = BenchReport {
        ticks: s.ticks,
        seconds,
        ticks_per_sec: s.ticks as f64 / seconds,
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
            "{} ticks in {:.3} s: {:.0} ticks/s end to end; peak RSS {:.1} MB; {} windows, {}",
            report.ticks,
            report.seconds,
            report.ticks_per_sec,
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

/// Peak resident set size of this process (VmHWM), in MB.
fn peak_rss_mb() -> f64 {
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
