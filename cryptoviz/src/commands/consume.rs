//! `cryptoviz consume`: the consumers alone.

use std::time::Duration;

use clap::Args;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::stage_metrics::StageCollector;
use crate::{backends, exporter, shutdown, stages};

/// Flags of `cryptoviz consume`.
#[derive(Debug, Args)]
pub(crate) struct ConsumeArgs {
    /// Exit (after draining) once the topics have had nothing new for this long, e.g. `2s`;
    /// for backfills and tests. Without it, consume until Ctrl-C/SIGTERM.
    #[arg(long, value_parser = humantime_serde::re::humantime::parse_duration)]
    pub exit_when_idle: Option<Duration>,
    /// Serve Prometheus `/metrics` (the consumers' counters, window emit latency and the
    /// groups' lag) and `/health` on this address.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// Runs the consumer groups until a signal (or until idle with `--exit-when-idle`).
pub(crate) async fn consume(config: Config, args: ConsumeArgs) -> anyhow::Result<()> {
    let store = backends::open_store(&config).await?;
    let log = backends::open_log(&config).await?;
    let consumers = stages::consumers(&config, &log, store.clone()).await?;
    let metrics_stop = CancellationToken::new();
    let metrics = match args.metrics_listen {
        Some(addr) => {
            let collector = StageCollector {
                sources: Vec::new(),
                consumers: Some(consumers.handles.clone()),
            };
            let lag = (log.clone(), stages::lag_groups(&config));
            Some(exporter::serve(addr, collector.shared(), Some(lag), metrics_stop.clone()).await?)
        }
        None => None,
    };
    let handles = match args.exit_when_idle {
        Some(idle) => {
            let stages::Consumers {
                mut prices,
                mut trades,
                mut records,
                handles,
            } = consumers;
            // SIGTERM or Ctrl-C ends the run like idleness does: drain, flush, commit, leave
            // the group (a step returns within its poll timeout, so the flag is seen soon).
            let stop = CancellationToken::new();
            let signalled = stop.clone();
            let watcher = tokio::spawn(async move {
                shutdown::signal().await;
                signalled.cancel();
            });
            let mut quiet_since = tokio::time::Instant::now();
            let mut records_polled = tokio::time::Instant::now();
            let (mut trades_polled, mut trades_busy) = (tokio::time::Instant::now(), false);
            while !stop.is_cancelled() {
                let mut read = prices.step().await?;
                // An idle topic's poll waits for its timeout: poll trades on every turn while
                // they flow, else when prices pause or once a second (a deployment without
                // exchange streams never waits on them between price batches).
                if trades_busy || read == 0 || trades_polled.elapsed() >= Duration::from_secs(1) {
                    let n = trades.step().await?;
                    (trades_polled, trades_busy) = (tokio::time::Instant::now(), n > 0);
                    read += n;
                }
                // The low-rate topics likewise: when prices pause, or once a second.
                if read == 0 || records_polled.elapsed() >= Duration::from_secs(1) {
                    read += records.step().await?;
                    records_polled = tokio::time::Instant::now();
                }
                if read > 0 {
                    quiet_since = tokio::time::Instant::now();
                } else if quiet_since.elapsed() >= idle {
                    break;
                }
            }
            watcher.abort();
            prices.finish().await?;
            trades.finish().await?;
            handles
        }
        None => {
            let token = CancellationToken::new();
            let failed = CancellationToken::new();
            let tasks = TaskTracker::new();
            let handles =
                consumers.spawn(&token, &tasks, &tokio::runtime::Handle::current(), &failed);
            tokio::select! {
                _ = shutdown::signal() => {}
                _ = failed.cancelled() => {}
            }
            token.cancel();
            tasks.close();
            tasks.wait().await;
            if let Err(why) = handles.check_alive() {
                // Exit non-zero so the supervisor (compose's `restart: unless-stopped`,
                // Kubernetes) restarts the process; it resumes from the last commit.
                metrics_stop.cancel();
                anyhow::bail!("{why}");
            }
            handles
        }
    };
    log.flush().await?;
    store.flush().await?;
    metrics_stop.cancel();
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    let s = handles.prices.snapshot();
    tracing::info!(
        ticks = s.ticks,
        records = handles.records.snapshot().records,
        windows = s.windows,
        late = s.late_rows,
        dead_letters = s.dead_letters,
        "consumer finished"
    );
    Ok(())
}
