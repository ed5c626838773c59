//! The routes, one file per resource, and how they are guarded.

pub mod alerts;
pub mod analytics;
pub mod anomalies;
pub mod coins;
pub mod dlq;
pub mod docs;
pub mod health;
pub mod news;
pub mod replays;
pub mod sql;
pub mod stream;
pub mod trades;
pub mod web;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{delete, get, post};

use crate::state::AppState;
use crate::{metrics, protect};

/// Every route with its guards: protected routes need the API key, every route but the live
/// stream has the request time limit, every matched route's latency is recorded.
pub fn router(state: &AppState) -> Router<AppState> {
    let key = from_fn_with_state(state.clone(), protect::require_key);
    let timed = Router::new()
        .route("/health", get(health::health))
        .route("/metrics", get(health::metrics))
        .route("/docs", get(docs::page))
        .route("/api/v1/openapi.json", get(docs::openapi))
        .route("/api/v1/health", get(health::health))
        .route("/api/v1/ready", get(health::ready))
        .route("/api/v1/status", get(health::status))
        .route("/api/v1/sources", get(health::sources))
        .route("/api/v1/coins", get(coins::list))
        .route("/api/v1/coins/{id}", get(coins::detail))
        .route("/api/v1/coins/{id}/history", get(coins::history))
        .route("/api/v1/coins/{id}/indicators", get(coins::indicators))
        .route("/api/v1/coins/{id}/trades", get(trades::list))
        .route("/api/v1/global", get(coins::global))
        .route("/api/v1/analytics", get(analytics::list))
        .route(
            "/api/v1/analytics/top-volatile",
            get(analytics::top_volatile),
        )
        .route("/api/v1/analytics/compare", get(analytics::compare))
        .route("/api/v1/anomalies", get(anomalies::list))
        .route("/api/v1/news", get(news::list))
        .route("/api/v1/news/sources", get(news::sources))
        .route("/api/v1/sentiment", get(news::sentiment))
        .route("/api/v1/fear-greed", get(news::fear_greed))
        .route(
            "/api/v1/alerts",
            post(alerts::create)
                .route_layer(key.clone())
                .get(alerts::list),
        )
        .route("/api/v1/alerts/fired", get(alerts::fired))
        .route(
            "/api/v1/alerts/{id}",
            delete(alerts::delete).route_layer(key.clone()),
        )
        .route("/api/v1/dlq", get(dlq::list).route_layer(key.clone()))
        .route(
            "/api/v1/dlq/replay",
            post(dlq::replay).route_layer(key.clone()),
        )
        .route("/api/v1/dlq/{id}", get(dlq::show).route_layer(key.clone()))
        .route(
            "/api/v1/replays",
            post(replays::start)
                .route_layer(key.clone())
                .get(replays::list),
        )
        .route(
            "/api/v1/replays/{id}",
            delete(replays::cancel)
                .route_layer(key.clone())
                .get(replays::show),
        )
        .route("/api/v1/sql", post(sql::sql).route_layer(key))
        .route_layer(from_fn_with_state(state.clone(), protect::time_limit));
    Router::new()
        .route("/api/v1/stream", get(stream::stream))
        .merge(timed)
        .route_layer(from_fn_with_state(
            state.http_metrics.clone(),
            metrics::record,
        ))
        .method_not_allowed_fallback(health::method_not_allowed)
        .fallback(web::fallback)
}
