//! [`AppState`]: what every handler, middleware and live task of the API reaches (the store
//! and log seams, settings, the live hub, alert rules, limits, caches), and the functions the
//! binary that wires the stages provides ([`StatusFn`], [`EnrichFn`], [`ReadyFn`]).

use std::sync::Arc;
use std::time::Instant;

use cryptoviz_log::Log;
use cryptoviz_store::Store;

use crate::alerts::RuleBook;
use crate::cache::Caches;
use crate::limits::{ClientSlots, RateLimiter, SqlGate};
use crate::live::Hub;
use crate::metrics::HttpMetrics;
pub use crate::metrics::{StageMetrics, StatusFn};
use crate::read::{Analytics, Anomalies, Market, News, Sentiment};
use crate::replays;
use crate::settings::ApiSettings;

/// Scores an article and tags its coins for the live stream as the consumers do before
/// storing it; the binary provides the consumers' (the default leaves articles as they are).
pub type EnrichFn =
    Arc<dyn Fn(cryptoviz_schemas::CryptoNews) -> cryptoviz_schemas::CryptoNews + Send + Sync>;

/// A check `/ready` runs besides the store's and the log's: `Err` with the reason when a stage
/// of this process can no longer do its work (a consumer that failed for good, a store or log
/// stalled on a full disk).
pub type ReadyFn = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

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
    /// The stages' counters, for `/metrics`.
    pub stage_metrics: StageMetrics,
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
    pub sql: Arc<SqlGate>,
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
            stage_metrics: crate::metrics::no_stages(),
            readiness: Arc::new(|| Ok(())),
            started: Instant::now(),
            limiter: Arc::new(RateLimiter::new(
                settings.rate_limit_per_second,
                settings.rate_limit_burst,
            )),
            sql: Arc::new(SqlGate::new(&settings)),
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
        shared.sql = Arc::new(SqlGate::new(&settings));
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

    /// Sets the stages' metrics `/metrics` encodes (see [`StageMetrics`]).
    pub fn with_stage_metrics(mut self, stages: StageMetrics) -> Self {
        self.shared().stage_metrics = stages;
        self
    }

    /// Sets the readiness check of this process's own stages (see [`ReadyFn`]).
    pub fn with_readiness(mut self, readiness: ReadyFn) -> Self {
        self.shared().readiness = readiness;
        self
    }
}

impl Shared {
    /// Coin snapshots (`crypto_market`, `crypto_coin_info`).
    pub fn market(&self) -> Market {
        Market::new(self.store.clone())
    }

    /// Window statistics, candles and indicators (`crypto_analytics`).
    pub fn analytics(&self) -> Analytics {
        Analytics::new(self.store.clone())
    }

    /// Anomaly episodes (`crypto_anomalies`).
    pub fn anomalies(&self) -> Anomalies {
        Anomalies::new(self.store.clone())
    }

    /// Articles (`crypto_news`).
    pub fn news(&self) -> News {
        News::new(self.store.clone())
    }

    /// Hourly sentiment and Fear & Greed (`crypto_sentiment`, `fear_greed`).
    pub fn sentiment(&self) -> Sentiment {
        Sentiment::new(self.store.clone())
    }
}
