//! `/api/v1/news` and `/api/v1/fear-greed`: articles and the Fear & Greed index.

use axum::Json;
use axum::extract::{Query as QueryParams, State};
use cryptoviz_consumers::measurements::{FEAR_GREED, NEWS, SOURCE_TAG};
use cryptoviz_store::{Query, TimeRange};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::json::rows;
use crate::params::{self, Params};

/// `GET /api/v1/news?source=&from=&to=&limit=`: articles, newest first.
pub async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Json<Value>> {
    params::only(&q, &["source", "from", "to", "limit"])?;
    let mut tags = Vec::new();
    if let Some(source) = q.get("source") {
        tags.push((SOURCE_TAG.to_string(), source_name(source)?));
    }
    let data = newest_first(&state, NEWS, tags, &q, 50).await?;
    Ok(Json(json!({ "count": data.len(), "data": data })))
}

/// `GET /api/v1/fear-greed?from=&to=&limit=`: the latest reading and the history, newest
/// first.
pub async fn fear_greed(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Json<Value>> {
    params::only(&q, &["from", "to", "limit"])?;
    let data = newest_first(&state, FEAR_GREED, Vec::new(), &q, 30).await?;
    Ok(Json(json!({
        "latest": data.first(),
        "count": data.len(),
        "data": data,
    })))
}

async fn newest_first(
    state: &AppState,
    measurement: &str,
    tags: Vec<(String, String)>,
    q: &Params,
    default_limit: usize,
) -> ApiResult<Vec<Map<String, Value>>> {
    let from = params::time(q, "from")?;
    let to = params::time(q, "to")?;
    params::ordered(from, to)?;
    let limit = params::limit(q, "limit", default_limit, 1000)?;
    let query = Query {
        measurement: measurement.to_string(),
        range: TimeRange {
            start_ns: from,
            end_ns: to,
        },
        tags,
        fields: None,
        downsample: None,
        descending: true,
        limit: Some(limit),
    };
    Ok(rows(&state.store.query(&query).await?))
}

/// A feed name: short, of letters, digits, `.`, `_` and `-` (what the config allows).
fn source_name(raw: &str) -> ApiResult<String> {
    let ok = !raw.is_empty()
        && raw.len() <= 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(raw.to_string())
    } else {
        Err(ApiError::bad(
            "source",
            "`source` must be 1–64 letters, digits, '.', '_' or '-'",
        ))
    }
}
