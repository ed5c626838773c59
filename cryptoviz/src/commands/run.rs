//! `cryptoviz run`: the whole pipeline in one process.

use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use cryptoviz_api::AppState;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::stage_metrics::StageCollector;
use crate::{backends, shutdown, stages};

/// Flags of `cryptoviz run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Use the simulated market instead of the live sources (offline use, demos, load).
    #[arg(long)]
    pub simulate: bool,
    /// Market time per wall time for the simulated market (60 = a market minute per second).
    #[arg(long)]
    pub speed: Option<f64>,
    /// Address the API listens on (overrides `api.listen`).
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// Seed of the simulated market (overrides `simulator.seed`).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Starts sources, log, consumers, store and API; stops them in order on Ctrl-C/SIGTERM.
pub(crate) async fn run(mut config: Config, args: RunArgs) -> anyhow::Result<()> {
    if let Some(speed) = args.speed {
        config.simulator.speed = speed;
    }
    if let Some(seed) = args.seed {
        config.simulator.seed = seed;
    }
    if let Some(listen) = args.listen {
        config.api.listen = listen;
    }
    config.validate().context("invalid configuration")?;
    if args.simulate && config.simulator.speed > 1.0 && !config.consumer.accept_future_event_times {
        // The simulated market's clock runs `speed` times faster than the wall clock, so its
        // ticks soon lie more than a day ahead of it: the consumers must not dead-letter them.
        tracing::info!(
            speed = config.simulator.speed,
            "simulated market ahead of the wall clock: consumer.accept_future_event_times on"
        );
        config.consumer.accept_future_event_times = true;
    }
    let store = backends::open_store(&config).await?;
    let log = backends::open_log(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.api.listen)
        .await
        .with_context(|| format!("api.listen: cannot listen on {}", config.api.listen))?;
    tracing::info!(addr = %config.api.listen, data_dir = %config.data_dir.0.display(), "cryptoviz is up");

    let sources = CancellationToken::new();
    let consumers = CancellationToken::new();
    let api = CancellationToken::new();
    let source_tasks = TaskTracker::new();
    let consumer_tasks = TaskTracker::new();

    // Sources and consumers run on a runtime of their own: a burst of pipeline work (decoding,
    // windows, Arrow batches) is then time-sliced with the API's workers by the OS instead of
    // queueing requests behind it on a shared worker.
    let pipeline = pipeline_runtime()?;
    let statuses = stages::spawn_sources(
        &config,
        &log,
        args.simulate,
        &sources,
        &source_tasks,
        pipeline.handle(),
    )?;
    // A consumer that fails for good is shown by `/ready` and the status page; the API stays
    // up to tell.
    let handles = stages::consumers(&config, &log, store.clone())
        .await?
        .spawn(
            &consumers,
            &consumer_tasks,
            pipeline.handle(),
            &CancellationToken::new(),
        );
    let alive = handles.clone();

    let status_sources = statuses.clone();
    let stage_metrics = StageCollector {
        sources: statuses.clone(),
        consumers: Some(handles.clone()),
    };
    let state = AppState::new(store.clone())
        .with_settings(config.api.settings(&config.data_dir.0))
        .context("api: cannot open the alert rules")?
        .with_log(log.clone(), stages::lag_groups(&config))
        .with_replays(crate::replays::ConsumerReplays::shared(
            config.consumer.clone(),
        ))
        .with_news_enricher(Arc::new(cryptoviz_consumers::records::enrich))
        .with_status(Arc::new(move || {
            serde_json::json!({
                "sources": stages::sources_json(&status_sources),
                "consumers": handles.json(),
            })
        }))
        .with_sources(Arc::new(move || stages::sources_json(&statuses)))
        .with_stage_metrics(stage_metrics.shared())
        .with_readiness({
            let log = log.clone();
            Arc::new(move || {
                if let Some(why) = log.stalled() {
                    return Err(format!("log stalled: {why}"));
                }
                alive.check_alive()
            })
        });
    let live = cryptoviz_api::start_live(&state, &api);
    let replays = state.replays.clone();
    let api_token = api.clone();
    let server = tokio::spawn(cryptoviz_api::serve(listener, state, async move {
        api_token.cancelled().await
    }));

    shutdown::signal().await;
    // Stop sources first, then drain the consumers (open windows are flushed as partial) and
    // stop a running replay job, then flush the log and the store, and stop the API last.
    sources.cancel();
    source_tasks.close();
    source_tasks.wait().await;
    consumers.cancel();
    consumer_tasks.close();
    consumer_tasks.wait().await;
    if let Some(replays) = replays {
        replays.shutdown().await;
    }
    log.flush().await?;
    store.flush().await?;
    api.cancel();
    server.await??;
    for task in live {
        let _ = task.await;
    }
    // Last: the store's flush above awaited compactions that ran on the pipeline's runtime.
    drop(pipeline);
    tracing::info!("cryptoviz stopped cleanly");
    Ok(())
}

/// The pipeline's runtime: half the cores (at least one) as `cryptoviz-pipeline` threads.
fn pipeline_runtime() -> anyhow::Result<PipelineRuntime> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads((cores / 2).max(1))
        .thread_name("cryptoviz-pipeline")
        .enable_all()
        .build()
        .context("cannot start the pipeline's runtime")?;
    Ok(PipelineRuntime(Some(runtime)))
}

/// A runtime shut down without blocking when dropped (a drop happens on an async worker, on
/// an early error return too).
struct PipelineRuntime(Option<tokio::runtime::Runtime>);

impl PipelineRuntime {
    fn handle(&self) -> &tokio::runtime::Handle {
        self.0.as_ref().expect("present until dropped").handle()
    }
}

impl Drop for PipelineRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
