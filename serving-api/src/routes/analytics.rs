//! `/api/v1/analytics`: window statistics per coin.

use axum::Json;
use axum::extract::{Query as QueryParams, State};
use cryptoviz_consumers::measurements::ANALYTICS;
use cryptoviz_store::{Query, TimeRange};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiResult;
use crate::json::rows;
use crate::params::{self, Params};

/// `GET /api/v1/analytics?coin=&from=&to=&window=&limit=`: stored windows, oldest first.
/// Without `from` it returns the newest `limit` windows.
pub async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Json<Value>> {
    params::only(&q, &["coin", "from", "to", "window", "limit"])?;
    let mut tags = Vec::new();
    if let Some(coin) = q.get("coin") {
        tags.push(("crypto_id".to_string(), params::coin_id(coin, "coin")?));
    }
    let window = q.get("window").map_or("1m", String::as_str);
    if !["1m", "5m", "1h"].contains(&window) {
        return Err(crate::ApiError::bad(
            "window",
            "`window` must be one of 1m, 5m, 1h",
        ));
    }
    tags.push(("window".to_string(), window.to_string()));
    let from = params::time(&q, "from")?;
    let to = params::time(&q, "to")?;
    params::ordered(from, to)?;
    let limit = params::limit(&q, "limit", 1000, 10_000)?;
    let query = Query {
        measurement: ANALYTICS.to_string(),
        range: TimeRange {
            start_ns: from,
            end_ns: to,
        },
        tags,
        fields: None,
        downsample: None,
        // Newest first when no start is given, so `limit` keeps the most recent windows.
        descending: from.is_none(),
        limit: Some(limit),
    };
    let mut data = rows(&state.store.query(&query).await?);
    if from.is_none() {
        data.reverse();
    }
    Ok(Json(json!({ "count": data.len(), "data": data })))
}
