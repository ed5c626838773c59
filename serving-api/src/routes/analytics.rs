//! `/api/v1/analytics`: window statistics per coin, the most volatile coins, and normalised
//! performance comparisons.

use axum::Json;
use axum::extract::{Query, State};
use axum_extra::extract::WithRejection;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::model::{AnalyticsRow, Compare, CompareSeries, List, TopVolatile, VolatileCoin};
use crate::params::{
    AUTO_POINTS, CoinId, CoinIds, DAY_NS, Interval, Limit, Params, Range, Span, Timestamp, Window,
    rfc3339,
};
use crate::read::{Between, WindowQuery};
use crate::state::AppState;

/// Most points one series of a comparison may have.
const MAX_POINTS: i64 = 20_000;

/// Parameters of `/analytics`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsQuery {
    /// Coin id
    #[param(inline)]
    pub coin: Option<CoinId>,
    /// 1m (default), 5m, 1h
    #[serde(default = "Window::m1")]
    pub window: Window,
    /// Start: RFC 3339 or epoch ms
    #[param(inline)]
    pub from: Option<Timestamp>,
    /// End (exclusive)
    #[param(inline)]
    pub to: Option<Timestamp>,
    /// 1-10000 (1000)
    #[serde(default)]
    #[param(inline)]
    pub limit: Limit<1000, 10_000>,
}

/// Stored windows (statistics and indicators), oldest first. Without `from` it returns the
/// newest `limit` windows.
#[utoipa::path(get, path = "/api/v1/analytics", tag = "analytics", operation_id = "list_analytics",
    params(AnalyticsQuery),
    responses((status = 200, body = List<AnalyticsRow>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    WithRejection(Query(q), _): Params<AnalyticsQuery>,
) -> ApiResult<Json<List<AnalyticsRow>>> {
    let data = state
        .analytics()
        .windows(&WindowQuery {
            coin: q.coin.map(|c| c.0),
            window: q.window,
            between: Between::of(q.from, q.to)?,
            limit: q.limit.get(),
        })
        .await?;
    Ok(Json(List::new(data)))
}

/// Parameters of `/analytics/top-volatile`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TopVolatileQuery {
    /// 1m, 5m, 1h (default)
    #[serde(default = "Window::h1")]
    pub window: Window,
    /// 1-250 (10)
    #[serde(default)]
    #[param(inline)]
    pub limit: Limit<10, 250>,
}

/// The coins whose latest window is the most volatile.
#[utoipa::path(get, path = "/api/v1/analytics/top-volatile", tag = "analytics",
    params(TopVolatileQuery),
    responses((status = 200, body = TopVolatile), (status = 400, body = ErrorBody)))]
pub async fn top_volatile(
    State(state): State<AppState>,
    WithRejection(Query(q), _): Params<TopVolatileQuery>,
) -> ApiResult<Json<TopVolatile>> {
    let rows = state
        .analytics()
        .most_volatile(q.window, q.limit.get())
        .await?;
    let data: Vec<VolatileCoin> = rows
        .into_iter()
        .map(|r| VolatileCoin {
            id: r.crypto_id,
            source: r.source,
            time: rfc3339(r.time.0),
            volatility_pct: r.volatility_pct.unwrap_or_default(),
            stddev: r.stddev,
            close: r.close,
        })
        .collect();
    Ok(Json(TopVolatile {
        window: q.window.to_string(),
        count: data.len(),
        data,
    }))
}

/// Parameters of `/analytics/compare`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CompareQuery {
    /// 2 to 10 comma-separated coin ids
    #[param(inline, required = true)]
    pub ids: Option<CoinIds<10>>,
    /// 1h, 24h (default), 7d, 30d, 1y
    pub range: Option<Range>,
    /// Start instead of `range`
    #[param(inline)]
    pub from: Option<Timestamp>,
    /// End (exclusive); default: now
    #[param(inline)]
    pub to: Option<Timestamp>,
    /// 1m, 5m, 15m, 1h, 4h, 1d or auto (default)
    #[serde(default)]
    pub interval: Interval,
}

/// Normalised performance of several coins over the same span: each point's percent change
/// from the coin's first close in the range.
#[utoipa::path(get, path = "/api/v1/analytics/compare", tag = "analytics",
    params(CompareQuery),
    responses((status = 200, body = Compare), (status = 400, body = ErrorBody)))]
pub async fn compare(
    State(state): State<AppState>,
    WithRejection(Query(q), _): Params<CompareQuery>,
) -> ApiResult<Json<Compare>> {
    let Some(CoinIds(ids)) = q.ids else {
        return Err(ApiError::bad("ids", "`ids` is required: 2 to 10 coin ids"));
    };
    if ids.len() < 2 {
        return Err(ApiError::bad("ids", "`ids` needs at least 2 coin ids"));
    }
    let span = Span::new(q.from, q.to, q.range)?;
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
    let (from, to) = span.resolve(now, DAY_NS);
    let (interval, every_ns) = q.interval.resolve(to - from, AUTO_POINTS);
    if (to - from) / every_ns > MAX_POINTS {
        return Err(ApiError::bad(
            "interval",
            format!("at most {MAX_POINTS} points per series: use a coarser `interval`"),
        ));
    }
    let analytics = state.analytics();
    let mut series = Vec::with_capacity(ids.len());
    for id in ids {
        let points = analytics.performance(&id, (from, to), every_ns).await?;
        series.push(CompareSeries { id, points });
    }
    Ok(Json(Compare {
        from: rfc3339(from),
        to: rfc3339(to),
        interval: interval.to_string(),
        series,
    }))
}
