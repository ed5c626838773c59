//! The routes, one file per resource.

mod analytics;
mod coins;
mod health;
mod news;

use axum::Router;
use axum::routing::get;

use crate::AppState;

/// Every route of the API, before state and middleware.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health::health))
        .route("/api/v1/health", get(health::health))
        .route("/api/v1/status", get(health::status))
        .route("/api/v1/sources", get(health::sources))
        .route("/api/v1/news", get(news::list))
        .route("/api/v1/fear-greed", get(news::fear_greed))
        .route("/api/v1/coins", get(coins::list))
        .route("/api/v1/coins/{id}/history", get(coins::history))
        .route("/api/v1/analytics", get(analytics::list))
        .fallback(health::not_found)
}
