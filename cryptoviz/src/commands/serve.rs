//! `cryptoviz serve`: the HTTP API alone, reading the store the consumers write.

use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use cryptoviz_api::AppState;

use tokio_util::sync::CancellationToken;

use crate::config::{Config, LogBackend};
use crate::{backends, shutdown, stages};

/// Flags of `cryptoviz serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address the API listens on (overrides `api.listen`).
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
}

/// Serves the API (and the viewer) over the configured store until Ctrl-C/SIGTERM. The
/// pipeline's stages run elsewhere (`cryptoviz produce`, `cryptoviz consume`), so
/// `/api/v1/status` has no stage counters here.
pub(crate) async fn serve(mut config: Config, args: ServeArgs) -> anyhow::Result<()> {
    if let Some(listen) = args.listen {
        config.api.listen = listen;
    }
    config.validate().context("invalid configuration")?;
    let store = backends::open_store(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.api.listen)
        .await
        .with_context(|| format!("api.listen: cannot listen on {}", config.api.listen))?;
    tracing::info!(addr = %config.api.listen, "cryptoviz API is up");
    let mut state = AppState::new(store.clone())
        .with_settings(config.api.settings(&config.data_dir.0))
        .context("api: cannot open the alert rules")?
        .with_news_enricher(Arc::new(cryptoviz_consumers::records::enrich));
    // With Kafka the live stream follows the topics; the embedded log belongs to the process
    // that runs the stages, so over it `serve` streams what the store shows (windows,
    // anomalies, sentiment).
    if config.log.backend == LogBackend::Kafka {
        let log = backends::open_log(&config).await?;
        state = state
            .with_log(log, stages::lag_groups(&config))
            .with_replays(crate::replays::ConsumerReplays::shared(
                config.consumer.clone(),
            ));
    }
    let live_token = CancellationToken::new();
    let live = cryptoviz_api::start_live(&state, &live_token);
    let replays = state.replays.clone();
    cryptoviz_api::serve(listener, state, shutdown::signal())
        .await
        .context("the API server failed")?;
    live_token.cancel();
    for task in live {
        let _ = task.await;
    }
    if let Some(replays) = replays {
        replays.shutdown().await;
    }
    store.flush().await?;
    tracing::info!("cryptoviz API stopped");
    Ok(())
}
