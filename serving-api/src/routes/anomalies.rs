//! `/api/v1/anomalies`: anomaly episodes, newest first.

use axum::Json;
use axum::extract::{Query as QueryParams, State};
use cryptoviz_measurements::names::ANOMALIES;
use cryptoviz_store::{Query, TimeRange};

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::json::rows;
use crate::model::param_values::{AnomalyKind, Range, Severity};
use crate::model::{AnomalyRow, List, from_row};
use crate::params::{self, Params};

/// Rows read at most when filtering on a field (severity) after the store's filters.
const SCAN_CAP: usize = 50_000;

/// Anomaly episodes (z-score of returns and volume, cross-source divergence), newest first.
#[utoipa::path(get, path = "/api/v1/anomalies", tag = "analytics", operation_id = "list_anomalies",
    params(
        ("coin" = Option<String>, Query, description = "Coin id"),
        ("kind" = Option<AnomalyKind>, Query, description = "price_return, volume or divergence"),
        ("severity" = Option<Severity>, Query, description = "low, medium or high"),
        ("from" = Option<String>, Query, description = "Start: RFC 3339 or epoch ms"),
        ("to" = Option<String>, Query, description = "End (exclusive)"),
        ("range" = Option<Range>, Query, description = "1h, 24h, 7d, 30d, 1y before `to` (or now)"),
        ("limit" = Option<usize>, Query, description = "1-1000 (100)"),
    ),
    responses((status = 200, body = List<AnomalyRow>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Json<List<AnomalyRow>>> {
    params::only(
        &q,
        &["coin", "kind", "severity", "from", "to", "range", "limit"],
    )?;
    let mut tags = Vec::new();
    if let Some(coin) = q.get("coin") {
        tags.push(("crypto_id".to_string(), params::coin_id(coin, "coin")?));
    }
    if let Some(kind) =
        params::optional_choice(&q, "kind", &["price_return", "volume", "divergence"])?
    {
        tags.push(("kind".to_string(), kind.to_string()));
    }
    let severity = params::optional_choice(&q, "severity", &["low", "medium", "high"])?;
    let span = params::span(&q)?;
    let (from, to) = match span.range {
        Some(_) => {
            let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
            let (f, t) = span.resolve(now, 0);
            (Some(f), Some(t))
        }
        None => (span.from, span.to),
    };
    let limit = params::limit(&q, "limit", 100, 1000)?;
    let query = Query {
        measurement: ANOMALIES.to_string(),
        range: TimeRange {
            start_ns: from,
            end_ns: to,
        },
        tags,
        fields: None,
        downsample: None,
        descending: true,
        limit: Some(if severity.is_some() { SCAN_CAP } else { limit }),
    };
    let data = rows(&state.store.query(&query).await?)
        .into_iter()
        .map(from_row::<AnomalyRow>)
        .filter(|r| match (r, severity) {
            (Ok(row), Some(s)) => row.severity.as_str() == s,
            _ => true,
        })
        .take(limit)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(List::new(data)))
}
