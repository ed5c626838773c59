//! `/api/v1/coins`: the latest snapshot of every coin, and a coin's candle history.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query as QueryParams, State};
use cryptoviz_consumers::measurements::{ANALYTICS, MARKET};
use cryptoviz_store::{Agg, Downsample, Query, TimeRange};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::json::rows;
use crate::params::{self, Params};

const DAY_NS: i64 = 86_400_000_000_000;
const MAX_CANDLES: i64 = 20_000;

/// The latest point of every series of a coin (or of all coins), newest source first.
async fn latest(state: &AppState, coin: Option<&str>) -> ApiResult<Vec<Map<String, Value>>> {
    let tags: Vec<(String, String)> = coin
        .map(|c| vec![("crypto_id".to_string(), c.to_string())])
        .unwrap_or_default();
    let mut snapshots = rows(&state.store.last(MARKET, &tags).await?);
    snapshots.sort_by(|a, b| text(b, "time").cmp(text(a, "time")));
    Ok(snapshots)
}

fn text<'a>(row: &'a Map<String, Value>, key: &str) -> &'a str {
    row.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// `GET /api/v1/coins`: one entry per coin (its most recent tick across sources), largest
/// market cap first.
pub async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Json<Value>> {
    params::only(&q, &[])?;
    let mut by_coin: HashMap<String, Map<String, Value>> = HashMap::new();
    for row in latest(&state, None).await? {
        let id = text(&row, "crypto_id").to_string();
        // Rows arrive newest first: the first one per coin wins.
        by_coin.entry(id).or_insert(row);
    }
    let mut coins: Vec<Value> = by_coin.into_values().map(snapshot).collect();
    let cap = |v: &Value| v["market_cap"].as_f64().unwrap_or(f64::NEG_INFINITY);
    coins.sort_by(|a, b| cap(b).total_cmp(&cap(a)));
    Ok(Json(json!({ "count": coins.len(), "data": coins })))
}

/// A stored `crypto_market` row as the API shows a coin.
fn snapshot(mut row: Map<String, Value>) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), row.remove("crypto_id").unwrap_or(Value::Null));
    for key in ["symbol", "name", "source"] {
        out.insert(key.into(), row.remove(key).unwrap_or(Value::Null));
    }
    out.insert(
        "updated_at".into(),
        row.remove("time").unwrap_or(Value::Null),
    );
    out.extend(row);
    Value::Object(out)
}

/// `GET /api/v1/coins/{id}/history?from=&to=&interval=`: OHLC candles built from the
/// 1-minute windows. Without `to`, the history ends at the coin's latest tick; without `from`,
/// it covers the 24 hours before `to`.
pub async fn history(
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Json<Value>> {
    params::only(&q, &["from", "to", "interval"])?;
    let id = params::coin_id(&id, "id")?;
    let (label, every_ns) = params::interval(&q, "interval", "1m")?;
    let from = params::time(&q, "from")?;
    let to = params::time(&q, "to")?;
    params::ordered(from, to)?;
    let latest = latest(&state, Some(&id)).await?;
    let Some(newest) = latest.first() else {
        return Err(ApiError::NotFound(format!("unknown coin `{id}`")));
    };
    let to = match to {
        Some(t) => t,
        None => chrono::DateTime::parse_from_rfc3339(text(newest, "time"))
            .ok()
            .and_then(|t| t.timestamp_nanos_opt())
            .map_or(0, |t| t + every_ns),
    };
    let from = from.unwrap_or(to - DAY_NS);
    if (to - from) / every_ns > MAX_CANDLES {
        return Err(ApiError::bad(
            "interval",
            format!(
                "at most {MAX_CANDLES} candles per request: use a coarser `interval` or a shorter range"
            ),
        ));
    }
    let query = Query {
        measurement: ANALYTICS.to_string(),
        range: TimeRange {
            start_ns: Some(from),
            end_ns: Some(to),
        },
        tags: vec![
            ("crypto_id".into(), id.clone()),
            ("window".into(), "1m".into()),
        ],
        fields: None,
        downsample: Some(Downsample {
            every_ns,
            aggregates: vec![
                ("open".into(), Agg::First, "open".into()),
                ("high".into(), Agg::Max, "high".into()),
                ("low".into(), Agg::Min, "low".into()),
                ("close".into(), Agg::Last, "close".into()),
                ("count".into(), Agg::Sum, "ticks".into()),
            ],
        }),
        descending: false,
        limit: None,
    };
    let candles: Vec<Value> = rows(&state.store.query(&query).await?)
        .into_iter()
        .map(|mut r| {
            json!({
                "time": r.remove("time").unwrap_or(Value::Null),
                "source": r.remove("source").unwrap_or(Value::Null),
                "open": r.remove("open").unwrap_or(Value::Null),
                "high": r.remove("high").unwrap_or(Value::Null),
                "low": r.remove("low").unwrap_or(Value::Null),
                "close": r.remove("close").unwrap_or(Value::Null),
                "ticks": r.remove("ticks").unwrap_or(Value::Null),
            })
        })
        .collect();
    Ok(Json(json!({
        "id": id,
        "interval": label,
        "from": params::rfc3339(from),
        "to": params::rfc3339(to),
        "count": candles.len(),
        "candles": candles,
    })))
}
