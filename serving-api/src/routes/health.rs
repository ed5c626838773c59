//! Liveness and pipeline status.

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;

/// `GET /health`: the process is up and serving.
pub async fn health(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "uptime_seconds": state.started.elapsed().as_secs_f64(),
    }))
}

/// `GET /api/v1/status`: live counters of the pipeline's stages.
pub async fn status(State(state): State<AppState>) -> Json<Value> {
    Json((state.status)())
}

/// `GET /api/v1/sources`: every producer agent's last success, last error, breaker state and
/// counts of records published and rejected.
pub async fn sources(State(state): State<AppState>) -> Json<Value> {
    let sources = (state.sources)();
    Json(json!({
        "count": sources.as_array().map_or(0, Vec::len),
        "data": sources,
    }))
}

/// Any other path: a JSON 404.
pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}
