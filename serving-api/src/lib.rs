//! The serving API: the read side of the Lambda architecture.
//!
//! An axum [`Router`] over the store seam (`Arc<dyn Store>`): it never talks to the log or the
//! consumers directly, so the same code serves the embedded store in `cryptoviz run` and
//! InfluxDB in the distributed mode. Every handler validates its parameters before anything
//! reaches the store (400 naming the parameter), answers 404 for an unknown coin, and reports
//! errors in one JSON shape: `{"error": {"code", "message", "param"?}}` ([`error`]).
//!
//! Layout: [`routes`] (one file per resource), [`params`] (time and interval parsing),
//! [`json`] (Arrow rows to JSON), [`error`].

pub mod error;
pub mod json;
pub mod params;
pub mod routes;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use cryptoviz_store::Store;
use tower_http::trace::TraceLayer;

pub use error::ApiError;

/// A function returning a JSON view of the pipeline's live status (sources and consumers);
/// the binary that wires the stages provides it.
pub type StatusFn = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The time-series store the consumers write.
    pub store: Arc<dyn Store>,
    /// Live status of the pipeline's stages.
    pub status: StatusFn,
    /// Status of every producer agent (a JSON array), for `/api/v1/sources`.
    pub sources: StatusFn,
    /// When the process started (for `/health`).
    pub started: Instant,
}

impl AppState {
    /// State over `store`, with no status to report.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            status: Arc::new(|| serde_json::json!({})),
            sources: Arc::new(|| serde_json::json!([])),
            started: Instant::now(),
        }
    }

    /// Sets the function listing the producers' status.
    pub fn with_sources(mut self, sources: StatusFn) -> Self {
        self.sources = sources;
        self
    }

    /// Sets the status function.
    pub fn with_status(mut self, status: StatusFn) -> Self {
        self.status = status;
        self
    }
}

/// The whole API as a router (tests call it with `oneshot`, no socket needed).
pub fn app(state: AppState) -> Router {
    routes::router()
        .with_state(state)
        .layer(TraceLayer::new_for_http())
}
