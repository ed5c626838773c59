//! The serving API: the read side of the Lambda architecture.
//!
//! An axum [`Router`] over the store seam (`Arc<dyn Store>`) and, for the live stream, the log
//! seam (`Arc<dyn Log>`), so the same code serves the embedded backends in `cryptoviz run` and
//! Kafka + InfluxDB in the distributed mode. Every handler validates its parameters before
//! anything reaches the store (400 naming the parameter), answers 404 for an unknown coin, and
//! reports errors in one JSON shape: `{"error": {"code", "message", "param"?}}` ([`error`]).
//! docs/api.md describes every endpoint; `/api/v1/openapi.json` is generated from the code
//! ([`openapi`]).
//!
//! Data flow: requests → [`protect`] (rate limit, API key, time limit) → [`routes`] (one file
//! per resource) → store. Live: [`live::feed`] (log tail, store watch) → [`live::Hub`] →
//! `/api/v1/stream` and the [`alerts`] engine → stream + webhooks.
//!
//! Layout: [`routes`], [`model`] (answer types), [`params`] (parameter parsing), [`body`]
//! (JSON bodies), [`json`] (Arrow rows to JSON), [`live`], [`alerts`], [`replays`] (replay
//! jobs), [`protect`], [`metrics`], [`openapi`], [`settings`], [`error`].

pub mod alerts;
pub mod body;
pub mod error;
pub mod json;
pub mod live;
pub mod metrics;
pub mod model;
pub mod openapi;
pub mod params;
pub mod protect;
pub mod replays;
pub mod routes;
pub mod settings;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::from_fn_with_state;
use cryptoviz_log::Log;
use cryptoviz_store::Store;
use parking_lot::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

pub use error::ApiError;
pub use settings::{ApiKey, ApiSettings};

use crate::alerts::RuleBook;
use crate::live::Hub;
use crate::metrics::HttpMetrics;
use crate::model::Coin;
use crate::protect::{ClientSlots, RateLimiter};

/// A function returning a JSON view of the pipeline's live status (sources and consumers);
/// the binary that wires the stages provides it.
pub type StatusFn = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// Scores an article and tags its coins for the live stream as the consumers do before
/// storing it; the binary provides the consumers' (the default leaves articles as they are).
pub type EnrichFn =
    Arc<dyn Fn(cryptoviz_schemas::CryptoNews) -> cryptoviz_schemas::CryptoNews + Send + Sync>;

/// A check `/ready` runs besides the store's and the log's: `Err` with the reason when a stage
/// of this process can no longer do its work (a consumer that failed for good, a store or log
/// stalled on a full disk).
pub type ReadyFn = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// A value reused until it is older than a given age.
pub struct TtlCell<T> {
    slot: Mutex<Option<(Instant, Arc<T>)>>,
}

impl<T> Default for TtlCell<T> {
    fn default() -> Self {
        TtlCell {
            slot: Mutex::new(None),
        }
    }
}

impl<T> TtlCell<T> {
    /// The value if it is younger than `ttl`.
    pub fn get(&self, ttl: Duration) -> Option<Arc<T>> {
        let slot = self.slot.lock();
        slot.as_ref()
            .filter(|(at, _)| at.elapsed() < ttl)
            .map(|(_, v)| v.clone())
    }

    /// Replaces the value.
    pub fn put(&self, value: Arc<T>) {
        *self.slot.lock() = Some((Instant::now(), value));
    }
}

/// Serialised answers by request (path and query), reused for a short time: a burst of
/// identical requests (a dashboard's refresh, many viewers of one chart) costs one store
/// query per period, and concurrent misses of one key wait for a single computation.
///
/// An answer older than its `ttl` but younger than twice that is served while one request's
/// recomputation runs in the background (stale-while-revalidate), so a busy endpoint never
/// makes its requests wait for the refresh; an older answer, or none, is computed before
/// answering. An answer is thus at most `2 × ttl` plus one computation old.
#[derive(Default)]
pub struct ResponseCache {
    entries: Mutex<HashMap<String, (Instant, Duration, axum::body::Bytes)>>,
    inflight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    refreshing: Mutex<std::collections::HashSet<String>>,
}

/// Entries kept before expired ones are dropped (and, if still full, all of them).
const RESPONSE_CACHE_ENTRIES: usize = 4096;

/// What the cache holds for a key.
enum Cached {
    Fresh(axum::body::Bytes),
    Stale(axum::body::Bytes),
    Missing,
}

impl ResponseCache {
    fn get(&self, key: &str) -> Cached {
        let entries = self.entries.lock();
        match entries.get(key) {
            Some((at, ttl, bytes)) if at.elapsed() < *ttl => Cached::Fresh(bytes.clone()),
            Some((at, ttl, bytes)) if at.elapsed() < *ttl * 2 => Cached::Stale(bytes.clone()),
            _ => Cached::Missing,
        }
    }

    fn put(&self, key: String, ttl: Duration, bytes: axum::body::Bytes) {
        let mut entries = self.entries.lock();
        if entries.len() >= RESPONSE_CACHE_ENTRIES {
            entries.retain(|_, (at, ttl, _)| at.elapsed() < *ttl * 2);
            if entries.len() >= RESPONSE_CACHE_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), ttl, bytes));
    }

    /// The answer for `key` if it is younger than `ttl`; else `compute`'s, serialised to
    /// JSON and kept (in the background while a younger-than-`2 × ttl` answer is served).
    /// Errors are not cached.
    pub async fn json<T, F>(
        self: &Arc<Self>,
        key: String,
        ttl: Duration,
        compute: F,
    ) -> Result<axum::response::Response, ApiError>
    where
        T: serde::Serialize + Send + 'static,
        F: std::future::Future<Output = Result<T, ApiError>> + Send + 'static,
    {
        use axum::response::IntoResponse;
        let respond = |bytes: axum::body::Bytes| {
            ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
        };
        match self.get(&key) {
            Cached::Fresh(hit) => return Ok(respond(hit)),
            Cached::Stale(hit) => {
                if self.refreshing.lock().insert(key.clone()) {
                    let cache = self.clone();
                    tokio::spawn(async move {
                        match compute.await.and_then(|v| serialise(&v)) {
                            Ok(bytes) => cache.put(key.clone(), ttl, bytes),
                            Err(e) => {
                                tracing::warn!(key, error = %e, "refreshing a cached answer failed")
                            }
                        }
                        cache.refreshing.lock().remove(&key);
                    });
                }
                return Ok(respond(hit));
            }
            Cached::Missing => {}
        }
        let gate = self.inflight.lock().entry(key.clone()).or_default().clone();
        let _turn = gate.lock().await;
        if let Cached::Fresh(hit) | Cached::Stale(hit) = self.get(&key) {
            return Ok(respond(hit));
        }
        let result = compute.await;
        self.inflight.lock().remove(&key);
        let bytes = serialise(&result?)?;
        self.put(key, ttl, bytes.clone());
        Ok(respond(bytes))
    }
}

fn serialise<T: serde::Serialize>(value: &T) -> Result<axum::body::Bytes, ApiError> {
    serde_json::to_vec(value)
        .map(axum::body::Bytes::from)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Answers computed once per period and shared by requests.
#[derive(Default)]
pub struct Caches {
    /// Serialised answers of the market endpoints, by request.
    pub responses: Arc<ResponseCache>,
    /// Every coin's latest snapshot (for `/coins` and `/global`).
    pub coins: TtlCell<Vec<Coin>>,
    /// One request at a time recomputes the snapshot; the others wait for it.
    pub coins_refresh: tokio::sync::Mutex<()>,
    /// Half-hourly closes per coin.
    pub sparklines: TtlCell<HashMap<String, Vec<f64>>>,
}

/// What every handler can reach. Cheap to clone (one reference count): axum clones the state
/// for every middleware and extractor of every request, so the fields live behind one `Arc`
/// ([`Shared`], reached through `Deref`).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The fields of [`AppState`].
#[derive(Clone)]
pub struct Shared {
    /// The time-series store the consumers write.
    pub store: Arc<dyn Store>,
    /// The log, for the live stream, readiness and consumer lag (`None`: store only).
    pub log: Option<Arc<dyn Log>>,
    /// Consumer groups and their topics, for the lag metric.
    pub lag_groups: Vec<(String, Vec<String>)>,
    /// Live status of the pipeline's stages.
    pub status: StatusFn,
    /// Status of every producer agent (a JSON array), for `/api/v1/sources`.
    pub sources: StatusFn,
    /// The process's own stages' readiness, for `/ready`.
    pub readiness: ReadyFn,
    /// When the process started (for `/health`).
    pub started: Instant,
    pub settings: Arc<ApiSettings>,
    pub hub: Arc<Hub>,
    pub alerts: Arc<RuleBook>,
    pub limiter: Arc<RateLimiter>,
    /// Live stream clients, in total and per client.
    pub stream_slots: Arc<ClientSlots>,
    pub http_metrics: Arc<HttpMetrics>,
    pub cache: Arc<Caches>,
    /// Replay jobs (`None`: replays are not offered by this process).
    pub replays: Option<Arc<replays::Replays>>,
    /// Articles read from the log are enriched with it before the live stream shows them.
    pub enrich_news: EnrichFn,
    /// The limits `/sql` queries share (memory pool, concurrency, scan size).
    pub sql: Arc<routes::sql::SqlGate>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// State over `store` with default settings, no log and alert rules in memory.
    pub fn new(store: Arc<dyn Store>) -> Self {
        let settings = ApiSettings::default();
        AppState(Arc::new(Shared {
            store,
            log: None,
            lag_groups: Vec::new(),
            status: Arc::new(|| serde_json::json!({})),
            sources: Arc::new(|| serde_json::json!([])),
            readiness: Arc::new(|| Ok(())),
            started: Instant::now(),
            limiter: Arc::new(RateLimiter::new(
                settings.rate_limit_per_second,
                settings.rate_limit_burst,
            )),
            sql: Arc::new(routes::sql::SqlGate::new(&settings)),
            stream_slots: Arc::new(ClientSlots::new(
                settings.stream_max_clients,
                settings.stream_max_clients_per_ip,
            )),
            settings: Arc::new(settings),
            hub: Arc::new(Hub::new(10_000, 4_096)),
            alerts: Arc::new(RuleBook::in_memory()),
            http_metrics: Arc::new(HttpMetrics::default()),
            cache: Arc::new(Caches::default()),
            replays: None,
            enrich_news: Arc::new(|article| article),
        }))
    }

    /// The fields, to set while building (copied first if a clone shares them).
    fn shared(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.0)
    }

    /// Applies `settings`, opening the alert rule book at `settings.alerts_file`.
    pub fn with_settings(mut self, settings: ApiSettings) -> std::io::Result<Self> {
        let shared = self.shared();
        if let Some(path) = &settings.alerts_file {
            shared.alerts = Arc::new(RuleBook::open(path)?);
        }
        shared.limiter = Arc::new(RateLimiter::new(
            settings.rate_limit_per_second,
            settings.rate_limit_burst,
        ));
        shared.sql = Arc::new(routes::sql::SqlGate::new(&settings));
        shared.stream_slots = Arc::new(ClientSlots::new(
            settings.stream_max_clients,
            settings.stream_max_clients_per_ip,
        ));
        shared.settings = Arc::new(settings);
        Ok(self)
    }

    /// Sets the log, and the consumer groups (with their topics) whose lag `/metrics` reports.
    pub fn with_log(mut self, log: Arc<dyn Log>, lag_groups: Vec<(String, Vec<String>)>) -> Self {
        let shared = self.shared();
        shared.log = Some(log);
        shared.lag_groups = lag_groups;
        self
    }

    /// Offers replay jobs (`/api/v1/replays`) run by `runner` (the binary's runs the
    /// consumers); they need the log too ([`AppState::with_log`]).
    pub fn with_replays(mut self, runner: Arc<dyn replays::ReplayRunner>) -> Self {
        self.shared().replays = Some(Arc::new(replays::Replays::new(runner)));
        self
    }

    /// Sets how articles are scored and tagged for the live stream (see [`EnrichFn`]).
    pub fn with_news_enricher(mut self, enrich: EnrichFn) -> Self {
        self.shared().enrich_news = enrich;
        self
    }

    /// Sets the function listing the producers' status.
    pub fn with_sources(mut self, sources: StatusFn) -> Self {
        self.shared().sources = sources;
        self
    }

    /// Sets the status function.
    pub fn with_status(mut self, status: StatusFn) -> Self {
        self.shared().status = status;
        self
    }

    /// Sets the readiness check of this process's own stages (see [`ReadyFn`]).
    pub fn with_readiness(mut self, readiness: ReadyFn) -> Self {
        self.shared().readiness = readiness;
        self
    }
}

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
