//! `/api/v1/analytics`: window statistics per coin, the most volatile coins, and normalised
//! performance comparisons.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query as QueryParams, State};
use cryptoviz_measurements::names::ANALYTICS;
use cryptoviz_store::{Agg, Downsample, Query, TimeRange};

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::rows;
use crate::model::param_values::{Interval, Range, Window};
use crate::model::{
    AnalyticsRow, Compare, ComparePoint, CompareSeries, List, TopVolatile, VolatileCoin, from_row,
};
use crate::params::{self, DAY_NS, Params, rfc3339};

const WINDOWS: [&str; 3] = ["1m", "5m", "1h"];

/// Stored windows (statistics and indicators), oldest first. Without `from` it returns the
/// newest `limit` windows.
#[utoipa::path(get, path = "/api/v1/analytics", tag = "analytics", operation_id = "list_analytics",
    params(
        ("coin" = Option<String>, Query, description = "Coin id"),
        ("window" = Option<Window>, Query, description = "1m (default), 5m, 1h"),
        ("from" = Option<String>, Query, description = "Start: RFC 3339 or epoch ms"),
        ("to" = Option<String>, Query, description = "End (exclusive)"),
        ("limit" = Option<usize>, Query, description = "1-10000 (1000)"),
    ),
    responses((status = 200, body = List<AnalyticsRow>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Json<List<AnalyticsRow>>> {
    params::only(&q, &["coin", "from", "to", "window", "limit"])?;
    let mut tags = Vec::new();
    if let Some(coin) = q.get("coin") {
        tags.push(("crypto_id".to_string(), params::coin_id(coin, "coin")?));
    }
    let window = params::choice(&q, "window", &WINDOWS, "1m")?;
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
    let mut data = rows(&state.store.query(&query).await?)
        .into_iter()
        .map(from_row::<AnalyticsRow>)
        .collect::<ApiResult<Vec<_>>>()?;
    if from.is_none() {
        data.reverse();
    }
    Ok(Json(List::new(data)))
}

/// The coins whose latest window is the most volatile.
#[utoipa::path(get, path = "/api/v1/analytics/top-volatile", tag = "analytics",
    params(
        ("window" = Option<Window>, Query, description = "1m, 5m, 1h (default)"),
        ("limit" = Option<usize>, Query, description = "1-250 (10)"),
    ),
    responses((status = 200, body = TopVolatile), (status = 400, body = ErrorBody)))]
pub async fn top_volatile(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Json<TopVolatile>> {
    params::only(&q, &["window", "limit"])?;
    let window = params::choice(&q, "window", &WINDOWS, "1h")?;
    let limit = params::limit(&q, "limit", 10, 250)?;
    let tags = vec![("window".to_string(), window.to_string())];
    // The newest window per coin (across sources).
    let mut newest: HashMap<String, AnalyticsRow> = HashMap::new();
    for row in rows(&state.store.last(ANALYTICS, &tags).await?) {
        let row: AnalyticsRow = from_row(row)?;
        if row.volatility_pct.is_none() {
            continue;
        }
        match newest.get(&row.crypto_id) {
            Some(seen) if seen.time >= row.time => {}
            _ => {
                newest.insert(row.crypto_id.clone(), row);
            }
        }
    }
    let mut data: Vec<VolatileCoin> = newest
        .into_values()
        .map(|r| VolatileCoin {
            id: r.crypto_id,
            source: r.source,
            time: rfc3339(r.time.0),
            volatility_pct: r.volatility_pct.unwrap_or_default(),
            stddev: r.stddev,
            close: r.close,
        })
        .collect();
    data.sort_by(|a, b| {
        b.volatility_pct
            .total_cmp(&a.volatility_pct)
            .then_with(|| a.id.cmp(&b.id))
    });
    data.truncate(limit);
    Ok(Json(TopVolatile {
        window: window.to_string(),
        count: data.len(),
        data,
    }))
}

/// Normalised performance of several coins over the same span: each point's percent change
/// from the coin's first close in the range.
#[utoipa::path(get, path = "/api/v1/analytics/compare", tag = "analytics",
    params(
        ("ids" = String, Query, description = "2 to 10 comma-separated coin ids"),
        ("range" = Option<Range>, Query, description = "1h, 24h (default), 7d, 30d, 1y"),
        ("from" = Option<String>, Query, description = "Start instead of `range`"),
        ("to" = Option<String>, Query, description = "End (exclusive); default: now"),
        ("interval" = Option<Interval>, Query, description = "1m, 5m, 15m, 1h, 4h, 1d or auto (default)"),
    ),
    responses((status = 200, body = Compare), (status = 400, body = ErrorBody)))]
pub async fn compare(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Json<Compare>> {
    params::only(&q, &["ids", "range", "from", "to", "interval"])?;
    let Some(ids) = params::coin_ids(&q, "ids", 10)? else {
        return Err(ApiError::bad("ids", "`ids` is required: 2 to 10 coin ids"));
    };
    if ids.len() < 2 {
        return Err(ApiError::bad("ids", "`ids` needs at least 2 coin ids"));
    }
    let span = params::span(&q)?;
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
    let (from, to) = span.resolve(now, DAY_NS);
    let (label, every_ns) = params::interval_or_auto(&q, "interval", to - from)?;
    if (to - from) / every_ns > 20_000 {
        return Err(ApiError::bad(
            "interval",
            "at most 20000 points per series: use a coarser `interval`",
        ));
    }
    let window = params::source_window(every_ns);
    let mut series = Vec::with_capacity(ids.len());
    for id in ids {
        let query = Query {
            measurement: ANALYTICS.to_string(),
            range: TimeRange::new(from, to),
            tags: vec![
                ("crypto_id".into(), id.clone()),
                ("window".into(), window.into()),
            ],
            fields: None,
            downsample: Some(Downsample::every(every_ns).agg("close", Agg::Last, "close")),
            descending: false,
            limit: None,
        };
        let mut first_source: Option<String> = None;
        let mut base: Option<f64> = None;
        let mut points = Vec::new();
        for row in rows(&state.store.query(&query).await?) {
            let (Some(source), Some(close), Some(time)) = (
                row.get("source").and_then(|v| v.as_str()),
                row.get("close").and_then(|v| v.as_f64()),
                row.get("time").and_then(|v| v.as_str()),
            ) else {
                continue;
            };
            // One source per coin, the first one in the range.
            if first_source.get_or_insert_with(|| source.to_string()) != source {
                continue;
            }
            let b = *base.get_or_insert(close);
            let change_pct = if b != 0.0 {
                (close / b - 1.0) * 100.0
            } else {
                0.0
            };
            points.push(ComparePoint {
                time: time.to_string(),
                close,
                change_pct,
            });
        }
        series.push(CompareSeries { id, points });
    }
    Ok(Json(Compare {
        from: rfc3339(from),
        to: rfc3339(to),
        interval: label.to_string(),
        series,
    }))
}
