//! `cryptoviz replay`: re-runs the consumers over the log's history into the store.
//!
//! To recompute analytics after a fix, or to fill a new store from the log. The replay reads
//! in its own consumer groups (`<consumer.group>-replay` and `…-records-replay`), so the live
//! consumers' offsets and checkpoints are untouched and both can run at once; it stops at the
//! log's end as of its start (or at `--to`). Bounds, alignment and idempotence are explained
//! in `cryptoviz_consumers::replay`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use cryptoviz_consumers::replay::{
    ReplayEnd, ReplayFrom, ReplayProgress, ReplaySpec, ReplayTo, align_down, align_up,
};
use cryptoviz_schemas::topics;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_util::sync::CancellationToken;

use super::import::summary::{rfc3339, thousands};
use crate::config::Config;
use crate::{backends, shutdown};

/// Flags of `cryptoviz replay`.
#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// Topic to replay (`crypto-prices`, `crypto-news` or `crypto-market-sentiment`);
    /// repeat for several. Default: all three.
    #[arg(long = "topic", value_name = "T")]
    pub topics: Vec<String>,
    /// Start: `beginning`, an offset (on every partition) or an RFC 3339 time (aligned down
    /// to the hour).
    #[arg(long)]
    pub from: ReplayFrom,
    /// End (exclusive): an offset (on every partition) or an RFC 3339 time (aligned up to the
    /// hour). Default: the log's end when the replay starts.
    #[arg(long)]
    pub to: Option<ReplayTo>,
}

/// Replays the chosen topics into the store and prints a summary. Ctrl-C/SIGTERM stops it
/// cleanly: what was read and closed is stored, open windows are dropped.
pub(crate) async fn replay(config: Config, args: ReplayArgs) -> anyhow::Result<()> {
    let spec = ReplaySpec::new(&args.topics, args.from, args.to)
        .map_err(|e| anyhow::anyhow!("--{}: {e}", e.param()))?;
    let store = backends::open_store(&config).await?;
    let log = backends::open_log(&config).await?;
    let started = Instant::now();
    let progress = ReplayProgress::default();
    let cancel = CancellationToken::new();
    let bar = progress_bar();
    let run =
        cryptoviz_consumers::replay::run(log, store, &config.consumer, &spec, &progress, &cancel);
    let signal = shutdown::signal();
    tokio::pin!(run, signal);
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    let mut signalled = false;
    let end = loop {
        tokio::select! {
            end = &mut run => break end.context("the replay failed")?,
            _ = &mut signal, if !signalled => {
                signalled = true;
                eprintln!("stopping the replay: storing what was read");
                cancel.cancel();
            }
            _ = ticker.tick() => {
                let p = progress.snapshot();
                bar.set_length(p.total);
                bar.set_position(p.kept + p.skipped);
            }
        }
    };
    bar.finish_and_clear();

    let p = progress.snapshot();
    let secs = started.elapsed().as_secs_f64();
    match end {
        ReplayEnd::Completed => println!("replayed {} into the store", spec.topics().join(", ")),
        ReplayEnd::Cancelled => println!(
            "replay of {} stopped before the end (open windows dropped)",
            spec.topics().join(", ")
        ),
    }
    println!(
        "  range       {} – {}",
        describe_from(args.from),
        describe_to(args.to)
    );
    println!(
        "  read        {} records in range, {} outside it",
        thousands(p.kept),
        thousands(p.skipped)
    );
    if spec.topics().contains(&topics::PRICES) {
        println!(
            "  prices      {} ticks; {} window points, {} anomalies written; {} late",
            thousands(p.ticks),
            thousands(p.windows),
            thousands(p.anomalies),
            thousands(p.late_rows)
        );
    }
    if spec.topics().iter().any(|t| *t != topics::PRICES) {
        println!("  news/sentiment {} records written", thousands(p.records));
    }
    println!("  dead letters {}", thousands(p.dead_letters));
    println!(
        "  took        {secs:.1} s ({} records/s)",
        thousands(if secs > 0.0 {
            ((p.kept + p.skipped) as f64 / secs) as u64
        } else {
            0
        })
    );
    Ok(())
}

fn progress_bar() -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr_with_hz(10)
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(0), target);
    bar.set_style(
        ProgressStyle::with_template(
            "  replay [{bar:30}] {human_pos}/{human_len} records ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

fn describe_from(from: ReplayFrom) -> String {
    match from {
        ReplayFrom::Beginning => "beginning".into(),
        ReplayFrom::Offset(o) => format!("offset {o}"),
        ReplayFrom::Time(t) => format!("{} (aligned to the hour)", rfc3339(align_down(t))),
    }
}

fn describe_to(to: Option<ReplayTo>) -> String {
    match to {
        None => "the log's end at the start".into(),
        Some(ReplayTo::Offset(o)) => format!("offset {o}"),
        Some(ReplayTo::Time(t)) => format!("{} (aligned to the hour)", rfc3339(align_up(t))),
    }
}
