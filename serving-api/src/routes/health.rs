//! Liveness, readiness, pipeline status and Prometheus metrics.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{Method, Uri};
use axum::response::Response;
use cryptoviz_schemas::topics;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::metrics;
pub use crate::model::Health;
use crate::state::AppState;

/// Readiness: whether the log and the store answer and this process's stages work.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    /// `ready`.
    pub status: String,
    /// `ok`, or `not used` for a process without a log (`cryptoviz serve` over a store).
    pub log: String,
    /// `ok`.
    pub store: String,
}

/// The process is up and serving.
#[utoipa::path(get, path = "/api/v1/health", tag = "operations",
    responses((status = 200, body = Health)))]
pub async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        uptime_seconds: state.started.elapsed().as_secs_f64(),
    })
}

/// The log and the store are reachable and every stage of this process works (503 naming
/// what does not: the store, the log, a consumer that failed for good).
#[utoipa::path(get, path = "/api/v1/ready", tag = "operations",
    responses((status = 200, body = Ready), (status = 503, body = ErrorBody)))]
pub async fn ready(State(state): State<AppState>) -> Result<Json<Ready>, ApiError> {
    (state.readiness)().map_err(|why| ApiError::Unavailable(format!("not ready: {why}")))?;
    let limit = Duration::from_secs(2);
    match tokio::time::timeout(limit, state.store.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(ApiError::Unavailable(format!("store not ready: {e}"))),
        Err(_) => {
            return Err(ApiError::Unavailable(
                "store not ready: no answer in 2 s".into(),
            ));
        }
    }
    let log = match &state.log {
        None => "not used".to_string(),
        Some(log) => match tokio::time::timeout(limit, log.partition_count(topics::PRICES)).await {
            Ok(Ok(_)) => "ok".to_string(),
            Ok(Err(e)) => return Err(ApiError::Unavailable(format!("log not ready: {e}"))),
            Err(_) => {
                return Err(ApiError::Unavailable(
                    "log not ready: no answer in 2 s".into(),
                ));
            }
        },
    };
    Ok(Json(Ready {
        status: "ready".into(),
        log,
        store: "ok".into(),
    }))
}

/// Live counters of the pipeline's stages (producers and consumers in this process), and the
/// consumer groups' lag (records appended but not committed) when this process has the log.
#[utoipa::path(get, path = "/api/v1/status", tag = "operations",
    responses((status = 200, body = serde_json::Value, description = "`{sources: [...], consumers: {prices, records}, lag: [{group, topic, records}]}`")))]
pub async fn status(State(state): State<AppState>) -> Json<serde_json::Value> {
    let mut status = (state.status)();
    if let Some(object) = status.as_object_mut() {
        let lag = lag(&state).await;
        object.insert(
            "lag".into(),
            lag.into_iter()
                .map(|(group, topic, records)| {
                    serde_json::json!({"group": group, "topic": topic, "records": records})
                })
                .collect(),
        );
    }
    Json(status)
}

/// Every producer agent's last success, last error, breaker state and counts.
#[utoipa::path(get, path = "/api/v1/sources", tag = "operations",
    responses((status = 200, body = serde_json::Value, description = "`{count, data: [{name, published, rejected, last_success_ms, last_error, breaker}]}`")))]
pub async fn sources(State(state): State<AppState>) -> Json<serde_json::Value> {
    let sources = (state.sources)();
    Json(serde_json::json!({
        "count": sources.as_array().map_or(0, Vec::len),
        "data": sources,
    }))
}

/// Prometheus metrics (text exposition format): the stages' counters, consumer lag, the
/// live stream and alerts, and request latencies.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut registry = metrics::scrape_registry(&state.stage_metrics, lag(&state).await);
    registry.register(
        "cryptoviz_stream_subscribers",
        "Live stream connections (and internal followers)",
        ConstGauge::new(state.hub.subscribers() as i64),
    );
    registry.register(
        "cryptoviz_stream_events",
        "Events published on the live stream",
        ConstCounter::new(state.hub.published()),
    );
    registry.register(
        "cryptoviz_alert_rules",
        "Alert rules stored",
        ConstGauge::new(state.alerts.rules().len() as i64),
    );
    state.http_metrics.register(&mut registry);
    metrics::exposition(&registry)
}

/// Consumer lag when this process has the log.
async fn lag(state: &AppState) -> metrics::Lag {
    match &state.log {
        Some(log) => metrics::consumer_lag(log.as_ref(), &state.lag_groups).await,
        None => Vec::new(),
    }
}

/// Any other path under the API: a JSON 404.
pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}

/// A known path with another method: a JSON 405.
pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{method} is not served on {}", uri.path()))
}
