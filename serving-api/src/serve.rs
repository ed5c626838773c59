//! Serving: [`app`] (the router with its guards), [`serve`] (the HTTP/1 server loop with
//! per-connection settings and graceful shutdown) and [`start_live`] (the tasks that feed the
//! live stream and the alert engine).

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::from_fn_with_state;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

use crate::state::AppState;
use crate::{alerts, live, protect, routes};

/// The whole API as a router (tests call it with `oneshot`, no socket needed; a server needs
/// `into_make_service_with_connect_info::<SocketAddr>()` for per-client rate limits).
pub fn app(state: AppState) -> Router {
    let mut router = routes::router(&state)
        .layer(from_fn_with_state(state.clone(), protect::rate_limit))
        .layer(DefaultBodyLimit::max(state.settings.body_limit_bytes));
    let origins: Vec<HeaderValue> = state
        .settings
        .cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if !origins.is_empty() {
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::POST, Method::DELETE])
                .allow_headers([
                    header::CONTENT_TYPE,
                    HeaderName::from_static(protect::API_KEY_HEADER),
                    HeaderName::from_static("last-event-id"),
                ])
                .max_age(Duration::from_secs(600)),
        );
    }
    router.with_state(state).layer(TraceLayer::new_for_http())
}

/// Serves [`app`] on `listener` until `shutdown` completes, then waits for open connections
/// to finish their responses: with `TCP_NODELAY` on every connection (so the last small
/// segment of a response is not held back until the client acknowledges the previous one,
/// which a delayed ACK can stretch to 40 ms), with each client's address for the per-client
/// limits, and with `api.header_read_timeout`: a connection that does not send a whole
/// request head in time (a slowloris) or stays idle that long between requests is closed.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let header_timeout = state.settings.header_read_timeout;
    let router = app(state);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    let connections = tokio_util::task::TaskTracker::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors or a connection reset before accept: not fatal.
                    tracing::debug!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY on a connection");
        }
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            router.clone().oneshot(request.map(axum::body::Body::new))
        });
        let mut stop = stop_rx.clone();
        connections.spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let conn = builder.serve_connection(TokioIo::new(tcp), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::trace!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                _ = stop.changed() => conn.as_mut().graceful_shutdown(),
            }
            if let Err(e) = conn.await {
                tracing::trace!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(());
    connections.close();
    connections.wait().await;
    Ok(())
}

/// Starts the live side: the log tail (when there is a log), the store watch and the alert
/// engine; they stop with `cancel`.
pub fn start_live(state: &AppState, cancel: &CancellationToken) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    if let Some(log) = &state.log {
        tasks.push(tokio::spawn(live::feed::tail_log(
            log.clone(),
            state.hub.clone(),
            state.enrich_news.clone(),
            cancel.clone(),
        )));
    }
    tasks.push(tokio::spawn(live::feed::watch_store(
        state.store.clone(),
        state.hub.clone(),
        Duration::from_secs(1),
        cancel.clone(),
    )));
    tasks.push(tokio::spawn(alerts::engine::run(
        state.alerts.clone(),
        state.hub.clone(),
        alerts::Webhooks::new(
            state.settings.webhook_allowed_networks.clone(),
            state.settings.webhook_max_concurrent,
        ),
        cancel.clone(),
    )));
    tasks
}
