//! The metrics endpoint of `cryptoviz produce` and `cryptoviz consume` (`--metrics-listen`):
//! in the distributed mode each stage is its own process, and Prometheus scrapes each for
//! the counters of what it runs (the API process serves its own, with the HTTP metrics).

use std::net::SocketAddr;

use anyhow::Context;
use cryptoviz_api::StageMetrics;
use cryptoviz_api::metrics::{LagSource, exporter};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Serves `/metrics` and `/health` on `addr` until `stop`; the address error names the flag.
pub(crate) async fn serve(
    addr: SocketAddr,
    stages: StageMetrics,
    lag: Option<LagSource>,
    stop: CancellationToken,
) -> anyhow::Result<JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("--metrics-listen: cannot listen on {addr}"))?;
    tracing::info!(%addr, "metrics endpoint is up");
    Ok(tokio::spawn(async move {
        let server = axum::serve(listener, exporter(stages, lag))
            .with_graceful_shutdown(async move { stop.cancelled().await });
        if let Err(e) = server.await {
            tracing::error!(error = %e, "the metrics endpoint failed");
        }
    }))
}
