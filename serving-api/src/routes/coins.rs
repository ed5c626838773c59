//! `/api/v1/coins` and `/api/v1/global`: the latest snapshot of every coin, one coin's detail,
//! candles and indicators, and market-wide totals.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::Response;
use axum_extra::extract::WithRejection;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::model::{Coin, CoinDetail, CoinPage, Global, History, Indicators};
use crate::params::{
    self, AUTO_POINTS, CoinIds, CoinSort, DAY_NS, Flag, Interval, Limit, NoParams, Offset, Order,
    Params, Range, SourceName, Span, Timestamp, Window, rfc3339,
};
use crate::read::{CandleQuery, Trades, sort_coins};
use crate::state::AppState;

/// How long candle and indicator answers are reused (the live stream carries what is newer).
const CHART_TTL: Duration = Duration::from_secs(1);
/// Most candles one request may ask for.
const MAX_CANDLES: i64 = 20_000;

/// The latest snapshot of every coin (one per coin: its newest across sources), largest
/// market cap first; cached for `snapshot_ttl` so that a busy `/coins` costs one store read
/// per period.
pub(crate) async fn snapshot(state: &AppState) -> ApiResult<Arc<Vec<Coin>>> {
    let market = state.market();
    state
        .cache
        .coins
        .get_or_load(
            state.settings.snapshot_ttl,
            async move { market.coins().await },
        )
        .await
}

/// Half-hourly closes of the last 24 hours per coin, cached for 20 snapshot periods.
async fn sparklines(state: &AppState, newest_ns: i64) -> ApiResult<Arc<HashMap<String, Vec<f64>>>> {
    let analytics = state.analytics();
    state
        .cache
        .sparklines
        .get_or_load(state.settings.snapshot_ttl * 20, async move {
            analytics.sparklines(newest_ns).await
        })
        .await
}

/// Parameters of `/coins`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CoinsQuery {
    /// Comma-separated coin ids to keep (at most 250)
    #[param(inline)]
    pub ids: Option<CoinIds<250>>,
    /// market_cap (default), price, volume, change_1h, change_24h, change_7d, volatility
    #[serde(default)]
    pub sort: CoinSort,
    /// desc (default) or asc
    #[serde(default)]
    pub order: Order,
    /// Page size, 1-250 (100)
    #[serde(default)]
    #[param(inline)]
    pub limit: Limit<100, 250>,
    /// Coins to skip (0)
    #[serde(default)]
    #[param(inline)]
    pub offset: Offset<100_000>,
    /// Add the last 24 hours' half-hourly closes
    #[serde(default)]
    #[param(inline)]
    pub sparkline: Flag,
}

/// Every coin's latest snapshot.
#[utoipa::path(get, path = "/api/v1/coins", tag = "market", operation_id = "list_coins",
    params(CoinsQuery),
    responses(
        (status = 200, body = CoinPage),
        (status = 400, body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    uri: Uri,
    WithRejection(Query(q), _): Params<CoinsQuery>,
) -> ApiResult<Response> {
    let ttl = state.settings.snapshot_ttl;
    let answer = list_answer(state.clone(), q);
    state
        .cache
        .responses
        .json(uri.to_string(), ttl, answer)
        .await
}

async fn list_answer(state: AppState, q: CoinsQuery) -> ApiResult<CoinPage> {
    let all = snapshot(&state).await?;
    let mut coins: Vec<Coin> = match &q.ids {
        Some(ids) => all
            .iter()
            .filter(|c| ids.0.contains(&c.id))
            .cloned()
            .collect(),
        None => all.iter().cloned().collect(),
    };
    if (q.sort, q.order) != (CoinSort::MarketCap, Order::Desc) {
        sort_coins(&mut coins, q.sort, q.order);
    }
    let total = coins.len();
    let (limit, offset) = (q.limit.get(), q.offset.get());
    let mut page: Vec<Coin> = coins.into_iter().skip(offset).take(limit).collect();
    if q.sparkline.0 && !page.is_empty() {
        let newest = page
            .iter()
            .filter_map(|c| params::parse_rfc3339(&c.updated_at))
            .max()
            .unwrap_or(0);
        let lines = sparklines(&state, newest).await?;
        for coin in &mut page {
            coin.sparkline = Some(lines.get(&coin.id).cloned().unwrap_or_default());
        }
    }
    Ok(CoinPage {
        count: page.len(),
        total,
        limit,
        offset,
        data: page,
    })
}

/// One coin: its newest snapshot and every source's latest side by side.
#[utoipa::path(get, path = "/api/v1/coins/{id}", tag = "market",
    params(("id" = String, Path, description = "Coin id, e.g. bitcoin")),
    responses(
        (status = 200, body = CoinDetail),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Unknown coin"),
    ))]
pub async fn detail(
    State(state): State<AppState>,
    Path(id): Path<String>,
    WithRejection(Query(NoParams {}), _): Params<NoParams>,
) -> ApiResult<Json<CoinDetail>> {
    let id = params::coin_id(&id, "id")?;
    let sources = state.market().coins_by_source(Some(&id)).await?;
    let Some(coin) = sources.first().cloned() else {
        return Err(ApiError::NotFound(format!("unknown coin `{id}`")));
    };
    Ok(Json(CoinDetail { coin, sources }))
}

/// The coin's newest snapshot time (ns) and source, or 404.
async fn newest(state: &AppState, id: &str, source: Option<&str>) -> ApiResult<(i64, String)> {
    state
        .market()
        .newest(id, source)
        .await?
        .ok_or_else(|| match source {
            Some(s) => ApiError::NotFound(format!("no data for coin `{id}` from source `{s}`")),
            None => ApiError::NotFound(format!("unknown coin `{id}`")),
        })
}

/// Parameters of `/coins/{id}/history`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Start: RFC 3339 or epoch ms
    #[param(inline)]
    pub from: Option<Timestamp>,
    /// End (exclusive): RFC 3339 or epoch ms; default: the newest data
    #[param(inline)]
    pub to: Option<Timestamp>,
    /// 1h, 24h (default), 7d, 30d, 1y before `to`
    pub range: Option<Range>,
    /// 1m, 5m, 15m, 1h, 4h, 1d or auto (default)
    #[serde(default)]
    pub interval: Interval,
    /// Source; default: the one of the newest snapshot. An exchange (`binance`, `coinbase`,
    /// `kraken`) gives the candles of its trades: `volume` is the base volume and `ticks` the
    /// trade count
    #[param(inline)]
    pub source: Option<SourceName>,
}

/// Candles of a coin with volume, from the consumers' windows: of a price source, or of an
/// exchange's trades (`source=binance`).
#[utoipa::path(get, path = "/api/v1/coins/{id}/history", tag = "market",
    params(("id" = String, Path, description = "Coin id"), HistoryQuery),
    responses(
        (status = 200, body = History),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn history(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    WithRejection(Query(q), _): Params<HistoryQuery>,
) -> ApiResult<Response> {
    let id = params::coin_id(&id, "id")?;
    let span = Span::new(q.from, q.to, q.range)?;
    let answer = history_answer(state.clone(), id, span, q);
    state
        .cache
        .responses
        .json(uri.to_string(), CHART_TTL, answer)
        .await
}

/// Whose candles a history shows.
enum Series {
    /// A price source's windows (`crypto_analytics`).
    Prices,
    /// An exchange's trade candles (`crypto_trade_candles`), quoted in this currency.
    Trades { quote: String },
}

/// The series a history reads, its newest time (ns) and source: an exchange's trade candles
/// when `source` names one with candles of the coin, else a price source's windows. A source
/// that nothing was ever stored from is a 400 naming `source`.
async fn history_series(
    state: &AppState,
    id: &str,
    source: Option<String>,
) -> ApiResult<(i64, String, Series)> {
    let trades = Trades::new(state.store.clone());
    if let Some(exchange) = &source
        && let Some((newest_ns, quote)) = trades.newest(id, exchange).await?
    {
        return Ok((newest_ns, exchange.clone(), Series::Trades { quote }));
    }
    if let Some(s) = &source
        && state.market().newest(id, Some(s)).await?.is_none()
    {
        let mut known = state
            .store
            .tag_values(cryptoviz_measurements::names::MARKET, "source")
            .await?;
        known.extend(trades.exchanges().await?);
        known.sort();
        known.dedup();
        if !known.contains(s) {
            return Err(ApiError::bad(
                "source",
                format!("unknown source `{s}`; known sources: {}", known.join(", ")),
            ));
        }
    }
    let (newest_ns, source) = newest(state, id, source.as_deref()).await?;
    Ok((newest_ns, source, Series::Prices))
}

async fn history_answer(
    state: AppState,
    id: String,
    span: Span,
    q: HistoryQuery,
) -> ApiResult<History> {
    let source = q.source.map(|s| s.0);
    let (newest_ns, source, series) = history_series(&state, &id, source).await?;
    // Resolve with a provisional span to pick `auto`, then align to the interval.
    let (from0, to0) = span.resolve(newest_ns + 1, DAY_NS);
    let (interval, every_ns) = q.interval.resolve(to0 - from0, AUTO_POINTS);
    let to = if span.to.is_some() {
        to0
    } else {
        newest_ns - newest_ns.rem_euclid(every_ns) + every_ns
    };
    let from = span.from.unwrap_or(to - (to0 - from0));
    if (to - from) / every_ns > MAX_CANDLES {
        return Err(ApiError::bad(
            "interval",
            format!(
                "at most {MAX_CANDLES} candles per request: use a coarser `interval` or a shorter range"
            ),
        ));
    }
    let query = CandleQuery {
        coin: id.clone(),
        source: source.clone(),
        from,
        to,
        every_ns,
    };
    let (candles, quote) = match series {
        Series::Prices => (state.analytics().candles(&query).await?, None),
        Series::Trades { quote } => (
            Trades::new(state.store.clone()).candles(&query).await?,
            Some(quote),
        ),
    };
    Ok(History {
        id,
        source,
        quote,
        interval: interval.to_string(),
        from: rfc3339(from),
        to: rfc3339(to),
        count: candles.len(),
        candles,
    })
}

/// Parameters of `/coins/{id}/indicators`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IndicatorsQuery {
    /// Start: RFC 3339 or epoch ms
    #[param(inline)]
    pub from: Option<Timestamp>,
    /// End (exclusive); default: the newest data
    #[param(inline)]
    pub to: Option<Timestamp>,
    /// 1h, 24h (default), 7d, 30d, 1y before `to`
    pub range: Option<Range>,
    /// Window the indicators are computed over: 1m, 5m (default), 1h
    #[serde(default = "Window::m5")]
    pub window: Window,
    /// Source; default: the one of the newest snapshot
    #[param(inline)]
    pub source: Option<SourceName>,
}

/// SMA, EMA, RSI, MACD and Bollinger bands of a coin's windows.
#[utoipa::path(get, path = "/api/v1/coins/{id}/indicators", tag = "market",
    params(("id" = String, Path, description = "Coin id"), IndicatorsQuery),
    responses(
        (status = 200, body = Indicators),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn indicators(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    WithRejection(Query(q), _): Params<IndicatorsQuery>,
) -> ApiResult<Response> {
    let id = params::coin_id(&id, "id")?;
    let span = Span::new(q.from, q.to, q.range)?;
    let answer = indicators_answer(state.clone(), id, span, q);
    state
        .cache
        .responses
        .json(uri.to_string(), CHART_TTL, answer)
        .await
}

async fn indicators_answer(
    state: AppState,
    id: String,
    span: Span,
    q: IndicatorsQuery,
) -> ApiResult<Indicators> {
    let source = q.source.map(|s| s.0);
    let (newest_ns, source) = newest(&state, &id, source.as_deref()).await?;
    let between = span.resolve(newest_ns + 1, DAY_NS);
    let data = state
        .analytics()
        .indicators(&id, &source, q.window, between, MAX_CANDLES as usize)
        .await?;
    Ok(Indicators {
        id,
        source,
        window: q.window.to_string(),
        count: data.len(),
        data,
    })
}

/// Total market cap and volume, BTC and ETH dominance.
#[utoipa::path(get, path = "/api/v1/global", tag = "market",
    responses((status = 200, body = Global), (status = 400, body = ErrorBody)))]
pub async fn global(
    State(state): State<AppState>,
    uri: Uri,
    WithRejection(Query(NoParams {}), _): Params<NoParams>,
) -> ApiResult<Response> {
    let ttl = state.settings.snapshot_ttl;
    let answer = global_answer(state.clone());
    state
        .cache
        .responses
        .json(uri.to_string(), ttl, answer)
        .await
}

async fn global_answer(state: AppState) -> ApiResult<Global> {
    let coins = snapshot(&state).await?;
    let total_market_cap: f64 = coins.iter().filter_map(|c| c.market_cap).sum();
    let total_volume_24h: f64 = coins.iter().filter_map(|c| c.volume_24h).sum();
    let dominance = |id: &str| {
        let cap = coins.iter().find(|c| c.id == id)?.market_cap?;
        (total_market_cap > 0.0).then(|| cap / total_market_cap * 100.0)
    };
    let mut sources: Vec<String> = coins.iter().map(|c| c.source.clone()).collect();
    sources.sort();
    sources.dedup();
    Ok(Global {
        updated_at: coins.iter().map(|c| c.updated_at.clone()).max(),
        coins: coins.len(),
        total_market_cap,
        total_volume_24h,
        btc_dominance: dominance("bitcoin"),
        eth_dominance: dominance("ethereum"),
        sources,
    })
}
