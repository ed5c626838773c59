//! `cryptoviz serve`: the HTTP API alone, reading the store the consumers write.

use anyhow::Context;
use clap::Args;
use cryptoviz_api::AppState;

use crate::config::Config;
use crate::{backends, shutdown};

/// Flags of `cryptoviz serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address the API listens on (overrides `api.listen`).
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
}

/// Serves the API over the configured store until Ctrl-C/SIGTERM. The pipeline's stages run
/// elsewhere (`cryptoviz produce`, `cryptoviz consume`), so `/api/v1/status` reports the store
/// only.
pub async fn serve(mut config: Config, args: ServeArgs) -> anyhow::Result<()> {
    if let Some(listen) = args.listen {
        config.api.listen = listen;
    }
    config.validate().context("invalid configuration")?;
    let store = backends::open_store(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.api.listen)
        .await
        .with_context(|| format!("api.listen: cannot listen on {}", config.api.listen))?;
    tracing::info!(addr = %config.api.listen, "cryptoviz API is up");
    let state = AppState::new(store.clone());
    axum::serve(listener, cryptoviz_api::app(state))
        .with_graceful_shutdown(shutdown::signal())
        .await
        .context("the API server failed")?;
    store.flush().await?;
    tracing::info!("cryptoviz API stopped");
    Ok(())
}
