//! `cryptoviz replay`: re-runs the consumers over the log's history into the store.
//!
//! To recompute analytics after a fix, or to fill a new store from the log. The replay reads
//! in its own consumer groups (`<consumer.group>-replay` and `…-records-replay`), so the live
//! consumers' offsets and checkpoints are untouched and both can run at once; it stops at the
//! log's end as of its start (or at `--to`). Bounds, alignment and idempotence are explained
//! in `cryptoviz_consumers::replay`.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use cryptoviz_consumers::records::TOPICS as RECORD_TOPICS;
use cryptoviz_consumers::replay::{align_down, align_up};
use cryptoviz_consumers::{
    ConsumerStats, PricePipeline, RecordsPipeline, ReplayBounds, ReplayFrom, ReplayTo,
};
use cryptoviz_schemas::topics;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::import::summary::{rfc3339, thousands};
use crate::backends;
use crate::config::Config;

/// Flags of `cryptoviz replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Topic to replay (`crypto-prices`, `crypto-news` or `crypto-market-sentiment`);
    /// repeat for several. Default: all three.
    #[arg(long = "topic", value_name = "T")]
    pub topics: Vec<String>,
    /// Start: `beginning`, an offset (on every partition) or an RFC 3339 time (aligned down
    /// to the hour).
    #[arg(long, value_parser = parse_from)]
    pub from: ReplayFrom,
    /// End (exclusive): an offset (on every partition) or an RFC 3339 time (aligned up to the
    /// hour). Default: the log's end when the replay starts.
    #[arg(long, value_parser = parse_to)]
    pub to: Option<ReplayTo>,
}

fn parse_from(s: &str) -> Result<ReplayFrom, String> {
    if s == "beginning" {
        return Ok(ReplayFrom::Beginning);
    }
    parse_point(s)
        .map(|p| match p {
            Point::Offset(o) => ReplayFrom::Offset(o),
            Point::Time(t) => ReplayFrom::Time(t),
        })
        .map_err(|e| format!("{e}, or `beginning`"))
}

fn parse_to(s: &str) -> Result<ReplayTo, String> {
    parse_point(s).map(|p| match p {
        Point::Offset(o) => ReplayTo::Offset(o),
        Point::Time(t) => ReplayTo::Time(t),
    })
}

enum Point {
    Offset(u64),
    Time(i64),
}

fn parse_point(s: &str) -> Result<Point, String> {
    if let Ok(offset) = s.parse::<u64>() {
        return Ok(Point::Offset(offset));
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| Point::Time(t.timestamp_millis()))
        .map_err(|_| {
            format!("`{s}` is neither an offset nor an RFC 3339 time (e.g. 2026-11-20T00:00:00Z)")
        })
}

/// Replays the chosen topics into the store and prints a summary.
pub async fn replay(config: Config, args: ReplayArgs) -> anyhow::Result<()> {
    let known = [topics::PRICES, topics::NEWS, topics::SENTIMENT];
    let mut chosen: Vec<&str> = Vec::new();
    for t in &args.topics {
        match known.iter().find(|k| **k == t.as_str()) {
            Some(k) if !chosen.contains(k) => chosen.push(k),
            Some(_) => {}
            None => bail!("--topic: unknown topic `{t}` (expected one of {known:?})"),
        }
    }
    if chosen.is_empty() {
        chosen = known.to_vec();
    }
    if let (ReplayFrom::Time(from), Some(ReplayTo::Time(to))) = (args.from, args.to)
        && to <= from
    {
        bail!("--to must be after --from");
    }
    let store = backends::open_store(&config).await?;
    let log = backends::open_log(&config).await?;
    let lateness = config.consumer.allowed_lateness.as_millis() as i64;
    let started = Instant::now();

    let prices_stats = Arc::new(ConsumerStats::default());
    let records_stats = Arc::new(ConsumerStats::default());
    let mut prices = if chosen.contains(&topics::PRICES) {
        let bounds = ReplayBounds::new(
            log.as_ref(),
            &[topics::PRICES],
            args.from,
            args.to,
            lateness,
        )
        .await?;
        let mut consumer = config.consumer.clone();
        consumer.group = format!("{}-replay", config.consumer.group);
        Some(
            PricePipeline::replay(
                log.clone(),
                store.clone(),
                consumer,
                prices_stats.clone(),
                bounds,
            )
            .await?,
        )
    } else {
        None
    };
    let record_topics: Vec<&str> = RECORD_TOPICS
        .into_iter()
        .filter(|t| chosen.contains(t))
        .collect();
    let mut records = if record_topics.is_empty() {
        None
    } else {
        let bounds =
            ReplayBounds::new(log.as_ref(), &record_topics, args.from, args.to, lateness).await?;
        Some(
            RecordsPipeline::replay(
                log.clone(),
                store.clone(),
                &format!("{}-records-replay", config.consumer.group),
                &record_topics,
                config.consumer.poll_max,
                records_stats.clone(),
                bounds,
            )
            .await?,
        )
    };
    let total = prices
        .as_ref()
        .and_then(|p| p.replay_bounds())
        .map_or(0, |b| b.total())
        + records
            .as_ref()
            .and_then(|r| r.replay_bounds())
            .map_or(0, |b| b.total());
    let bar = progress_bar(total);

    // Until every partition has been read to its end. A partition whose start lies past its
    // end (a time after its last record) never delivers: quiet for a while means done too.
    const QUIET: Duration = Duration::from_secs(2);
    let mut quiet_since = Instant::now();
    loop {
        let mut read = 0;
        // A pipeline that has read its whole range is not polled again (a poll of an idle
        // low-rate topic waits for its timeout).
        let p_done = prices
            .as_ref()
            .is_none_or(|p| p.replay_bounds().is_some_and(ReplayBounds::complete));
        let r_done = records
            .as_ref()
            .is_none_or(|r| r.replay_bounds().is_some_and(ReplayBounds::complete));
        if p_done && r_done {
            break;
        }
        if let Some(p) = prices.as_mut().filter(|_| !p_done) {
            read += p.step().await?;
        }
        if let Some(r) = records.as_mut().filter(|_| !r_done) {
            read += r.step().await?;
        }
        let done = progress(&prices, &records);
        bar.set_position(done.0 + done.1);
        if read > 0 {
            quiet_since = Instant::now();
        } else if quiet_since.elapsed() >= QUIET {
            break;
        }
    }
    let (kept, skipped) = progress(&prices, &records);
    if let Some(p) = prices {
        p.finish().await.context("finishing the price replay")?;
    }
    drop(records);
    store.flush().await?;
    log.flush().await?;
    bar.finish_and_clear();

    let p = prices_stats.snapshot();
    let r = records_stats.snapshot();
    let secs = started.elapsed().as_secs_f64();
    println!("replayed {} into the store", chosen.join(", "));
    println!(
        "  range       {} – {}",
        describe_from(args.from),
        describe_to(args.to)
    );
    println!(
        "  read        {} records in range, {} outside it",
        thousands(kept),
        thousands(skipped)
    );
    if chosen.contains(&topics::PRICES) {
        println!(
            "  prices      {} ticks; {} window points, {} anomalies written; {} late",
            thousands(p.ticks),
            thousands(p.windows),
            thousands(p.anomalies),
            thousands(p.late_rows)
        );
    }
    if !record_topics.is_empty() {
        println!("  news/sentiment {} records written", thousands(r.records));
    }
    println!(
        "  dead letters {}",
        thousands(p.dead_letters + r.dead_letters)
    );
    println!(
        "  took        {secs:.1} s ({} records/s)",
        thousands(if secs > 0.0 {
            ((kept + skipped) as f64 / secs) as u64
        } else {
            0
        })
    );
    Ok(())
}

/// Records (in range, outside it) read so far by both replays.
fn progress(prices: &Option<PricePipeline>, records: &Option<RecordsPipeline>) -> (u64, u64) {
    [
        prices.as_ref().and_then(|p| p.replay_bounds()),
        records.as_ref().and_then(|r| r.replay_bounds()),
    ]
    .into_iter()
    .flatten()
    .fold((0, 0), |(k, s), b| (k + b.kept, s + b.skipped))
}

fn progress_bar(total: u64) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr_with_hz(10)
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
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
