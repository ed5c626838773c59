//! `/api/v1/coins` and `/api/v1/global`: the latest snapshot of every coin, one coin's detail,
//! candles and indicators, and market-wide totals.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query as QueryParams, State};
use axum::http::Uri;
use axum::response::Response;
use cryptoviz_measurements::analytics::INDICATOR_FIELDS;
use cryptoviz_measurements::names::{ANALYTICS, COIN_INFO, MARKET};
use cryptoviz_store::{Agg, Downsample, Query, TimeRange};

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::rows;
use crate::model::param_values::{CoinSort, Interval, Order, Range, Window};
use crate::model::{
    AnalyticsRow, Candle, Coin, CoinDetail, CoinInfoRow, CoinPage, Global, History, IndicatorPoint,
    Indicators, MarketRow, from_row,
};
use crate::params::{self, DAY_NS, Params, rfc3339};

/// How long candle and indicator answers are reused (the live stream carries what is newer).
const CHART_TTL: Duration = Duration::from_secs(1);
/// Most candles one request may ask for.
const MAX_CANDLES: i64 = 20_000;
const SORTS: [&str; 7] = [
    "market_cap",
    "price",
    "volume",
    "change_1h",
    "change_24h",
    "change_7d",
    "volatility",
];

/// The latest snapshot of every coin (one per coin: its newest across sources), largest
/// market cap first; cached for `snapshot_ttl` so that a busy `/coins` costs one store read
/// per period.
pub(crate) async fn snapshot(state: &AppState) -> ApiResult<Arc<Vec<Coin>>> {
    let ttl = state.settings.snapshot_ttl;
    if let Some(hit) = state.cache.coins.get(ttl) {
        return Ok(hit);
    }
    let _guard = state.cache.coins_refresh.lock().await;
    if let Some(hit) = state.cache.coins.get(ttl) {
        return Ok(hit);
    }
    let markets = latest_snapshots(state, None).await?;
    let volatility = latest_volatility(state, None).await?;
    let mut by_coin: HashMap<String, Coin> = HashMap::new();
    for row in markets {
        // Rows arrive newest first: the first one per coin wins.
        if !by_coin.contains_key(&row.crypto_id) {
            let vol = volatility
                .get(&(row.crypto_id.clone(), row.source.clone()))
                .copied();
            by_coin.insert(row.crypto_id.clone(), row.into_coin(vol));
        }
    }
    let mut coins: Vec<Coin> = by_coin.into_values().collect();
    sort_coins(&mut coins, "market_cap", true);
    let coins = Arc::new(coins);
    state.cache.coins.put(coins.clone());
    Ok(coins)
}

/// The `crypto_id` tag filter of one coin, or none.
fn coin_tag(coin: Option<&str>) -> Vec<(String, String)> {
    coin.map(|c| vec![("crypto_id".to_string(), c.to_string())])
        .unwrap_or_default()
}

/// The latest `crypto_market` row of every series (coin × source), newest first.
async fn latest_rows(state: &AppState, coin: Option<&str>) -> ApiResult<Vec<MarketRow>> {
    let mut out = rows(&state.store.last(MARKET, &coin_tag(coin)).await?)
        .into_iter()
        .map(from_row::<MarketRow>)
        .collect::<ApiResult<Vec<_>>>()?;
    out.sort_by(|a, b| b.time.cmp(&a.time));
    Ok(out)
}

/// [`latest_rows`] with each series' newest fundamentals (name, ATH, ATL, supply) from
/// `crypto_coin_info`.
async fn latest_snapshots(state: &AppState, coin: Option<&str>) -> ApiResult<Vec<MarketRow>> {
    let mut markets = latest_rows(state, coin).await?;
    let mut info = HashMap::new();
    for row in rows(&state.store.last(COIN_INFO, &coin_tag(coin)).await?) {
        let row: CoinInfoRow = from_row(row)?;
        info.insert((row.crypto_id.clone(), row.source.clone()), row);
    }
    for m in &mut markets {
        if let Some(i) = info.get(&(m.crypto_id.clone(), m.source.clone())) {
            m.fill_info(i);
        }
    }
    Ok(markets)
}

/// Volatility of the latest 1-hour window per (coin, source).
async fn latest_volatility(
    state: &AppState,
    coin: Option<&str>,
) -> ApiResult<HashMap<(String, String), f64>> {
    let mut tags = vec![("window".to_string(), "1h".to_string())];
    if let Some(c) = coin {
        tags.push(("crypto_id".to_string(), c.to_string()));
    }
    let mut out = HashMap::new();
    for row in rows(&state.store.last(ANALYTICS, &tags).await?) {
        let row: AnalyticsRow = from_row(row)?;
        if let Some(v) = row.volatility_pct {
            out.insert((row.crypto_id, row.source), v);
        }
    }
    Ok(out)
}

/// Half-hourly closes of the last 24 hours per coin (from the 1-minute windows).
async fn sparklines(state: &AppState, newest_ns: i64) -> ApiResult<Arc<HashMap<String, Vec<f64>>>> {
    if let Some(hit) = state.cache.sparklines.get(state.settings.snapshot_ttl * 20) {
        return Ok(hit);
    }
    let every = 30 * 60 * 1_000_000_000;
    let end = newest_ns - newest_ns.rem_euclid(every) + every;
    let query = Query {
        measurement: ANALYTICS.to_string(),
        range: TimeRange::new(end - DAY_NS, end),
        tags: vec![("window".into(), "1m".into())],
        fields: None,
        downsample: Some(Downsample::every(every).agg("close", Agg::Last, "close")),
        descending: false,
        limit: None,
    };
    let mut out: HashMap<String, Vec<f64>> = HashMap::new();
    let mut seen_source: HashMap<String, String> = HashMap::new();
    for row in rows(&state.store.query(&query).await?) {
        let (Some(id), Some(source), Some(close)) = (
            row.get("crypto_id").and_then(|v| v.as_str()),
            row.get("source").and_then(|v| v.as_str()),
            row.get("close").and_then(|v| v.as_f64()),
        ) else {
            continue;
        };
        // One source per coin: the first one seen.
        let chosen = seen_source
            .entry(id.to_string())
            .or_insert_with(|| source.to_string());
        if chosen == source {
            out.entry(id.to_string()).or_default().push(close);
        }
    }
    let out = Arc::new(out);
    state.cache.sparklines.put(out.clone());
    Ok(out)
}

fn sort_coins(coins: &mut [Coin], by: &str, descending: bool) {
    let key = |c: &Coin| -> Option<f64> {
        match by {
            "price" => Some(c.price_usd),
            "volume" => c.volume_24h,
            "change_1h" => c.change_1h,
            "change_24h" => c.change_24h,
            "change_7d" => c.change_7d,
            "volatility" => c.volatility_pct,
            _ => c.market_cap,
        }
    };
    // Coins without the value go last in both orders; ties by id for a stable answer.
    coins.sort_by(|a, b| match (key(a), key(b)) {
        (Some(x), Some(y)) => {
            let o = x.total_cmp(&y);
            (if descending { o.reverse() } else { o }).then_with(|| a.id.cmp(&b.id))
        }
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.id.cmp(&b.id),
    });
}

/// Every coin's latest snapshot.
#[utoipa::path(get, path = "/api/v1/coins", tag = "market", operation_id = "list_coins",
    params(
        ("ids" = Option<String>, Query, description = "Comma-separated coin ids to keep (at most 250)"),
        ("sort" = Option<CoinSort>, Query, description = "market_cap (default), price, volume, change_1h, change_24h, change_7d, volatility"),
        ("order" = Option<Order>, Query, description = "desc (default) or asc"),
        ("limit" = Option<usize>, Query, description = "Page size, 1-250 (100)"),
        ("offset" = Option<usize>, Query, description = "Coins to skip (0)"),
        ("sparkline" = Option<bool>, Query, description = "Add the last 24 hours' half-hourly closes"),
    ),
    responses(
        (status = 200, body = CoinPage),
        (status = 400, body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    uri: Uri,
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Response> {
    let ttl = state.settings.snapshot_ttl;
    let answer = list_answer(state.clone(), q);
    state
        .cache
        .responses
        .json(uri.to_string(), ttl, answer)
        .await
}

async fn list_answer(state: AppState, q: Params) -> ApiResult<CoinPage> {
    params::only(
        &q,
        &["ids", "sort", "order", "limit", "offset", "sparkline"],
    )?;
    let ids = params::coin_ids(&q, "ids", 250)?;
    let sort = params::choice(&q, "sort", &SORTS, "market_cap")?;
    let descending = params::choice(&q, "order", &["desc", "asc"], "desc")? == "desc";
    let limit = params::limit(&q, "limit", 100, 250)?;
    let offset = params::offset(&q, "offset", 100_000)?;
    let with_sparkline = params::flag(&q, "sparkline")?;

    let all = snapshot(&state).await?;
    let mut coins: Vec<Coin> = match &ids {
        Some(ids) => all
            .iter()
            .filter(|c| ids.contains(&c.id))
            .cloned()
            .collect(),
        None => all.iter().cloned().collect(),
    };
    if sort != "market_cap" || !descending {
        sort_coins(&mut coins, sort, descending);
    }
    let total = coins.len();
    let mut page: Vec<Coin> = coins.into_iter().skip(offset).take(limit).collect();
    if with_sparkline && !page.is_empty() {
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
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Json<CoinDetail>> {
    params::only(&q, &[])?;
    let id = params::coin_id(&id, "id")?;
    let snapshots = latest_snapshots(&state, Some(&id)).await?;
    if snapshots.is_empty() {
        return Err(ApiError::NotFound(format!("unknown coin `{id}`")));
    }
    let volatility = latest_volatility(&state, Some(&id)).await?;
    let sources: Vec<Coin> = snapshots
        .into_iter()
        .map(|row| {
            let vol = volatility
                .get(&(row.crypto_id.clone(), row.source.clone()))
                .copied();
            row.into_coin(vol)
        })
        .collect();
    Ok(Json(CoinDetail {
        coin: sources[0].clone(),
        sources,
    }))
}

/// The coin's newest snapshot time (ns) and source, or 404.
async fn newest(state: &AppState, id: &str, source: Option<&str>) -> ApiResult<(i64, String)> {
    let snapshots = latest_rows(state, Some(id)).await?;
    let row = match source {
        Some(s) => snapshots.into_iter().find(|r| r.source == s),
        None => snapshots.into_iter().next(),
    };
    let Some(row) = row else {
        return Err(match source {
            Some(s) => ApiError::NotFound(format!("no data for coin `{id}` from source `{s}`")),
            None => ApiError::NotFound(format!("unknown coin `{id}`")),
        });
    };
    let t = params::parse_rfc3339(&row.time)
        .ok_or_else(|| ApiError::Internal(format!("bad stored time `{}`", row.time)))?;
    Ok((t, row.source))
}

/// A source name as the producers write it.
pub(crate) fn source_param(q: &Params) -> ApiResult<Option<String>> {
    q.get("source")
        .map(|s| crate::routes::news::source_name(s))
        .transpose()
}

/// Candles of a coin with volume, from the consumers' windows.
#[utoipa::path(get, path = "/api/v1/coins/{id}/history", tag = "market",
    params(
        ("id" = String, Path, description = "Coin id"),
        ("from" = Option<String>, Query, description = "Start: RFC 3339 or epoch ms"),
        ("to" = Option<String>, Query, description = "End (exclusive): RFC 3339 or epoch ms; default: the newest data"),
        ("range" = Option<Range>, Query, description = "1h, 24h (default), 7d, 30d, 1y before `to`"),
        ("interval" = Option<Interval>, Query, description = "1m, 5m, 15m, 1h, 4h, 1d or auto (default)"),
        ("source" = Option<String>, Query, description = "Source; default: the one of the newest snapshot"),
    ),
    responses(
        (status = 200, body = History),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn history(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Response> {
    let ttl = CHART_TTL;
    let answer = history_answer(state.clone(), id, q);
    state
        .cache
        .responses
        .json(uri.to_string(), ttl, answer)
        .await
}

async fn history_answer(state: AppState, id: String, q: Params) -> ApiResult<History> {
    params::only(&q, &["from", "to", "range", "interval", "source"])?;
    let id = params::coin_id(&id, "id")?;
    let span = params::span(&q)?;
    let source = source_param(&q)?;
    if let Some(iv) = q.get("interval")
        && iv != "auto"
    {
        params::interval(&q, "interval", "1m")?;
    }
    let (newest_ns, source) = newest(&state, &id, source.as_deref()).await?;
    // Resolve with a provisional span to pick `auto`, then align to the interval.
    let (from0, to0) = span.resolve(newest_ns + 1, DAY_NS);
    let (label, every_ns) = params::interval_or_auto(&q, "interval", to0 - from0)?;
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
    let window = params::source_window(every_ns);
    let query = Query {
        measurement: ANALYTICS.to_string(),
        range: TimeRange::new(from, to),
        tags: vec![
            ("crypto_id".into(), id.clone()),
            ("source".into(), source.clone()),
            ("window".into(), window.into()),
        ],
        fields: None,
        downsample: Some(
            Downsample::every(every_ns)
                .agg("open", Agg::First, "open")
                .agg("high", Agg::Max, "high")
                .agg("low", Agg::Min, "low")
                .agg("close", Agg::Last, "close")
                .agg("volume", Agg::Sum, "volume")
                .agg("count", Agg::Sum, "ticks"),
        ),
        descending: false,
        limit: None,
    };
    let candles = rows(&state.store.query(&query).await?)
        .into_iter()
        .filter(|r| !r.get("open").is_none_or(|v| v.is_null()))
        .map(from_row::<Candle>)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(History {
        id,
        source,
        interval: label.to_string(),
        from: rfc3339(from),
        to: rfc3339(to),
        count: candles.len(),
        candles,
    })
}

/// SMA, EMA, RSI, MACD and Bollinger bands of a coin's windows.
#[utoipa::path(get, path = "/api/v1/coins/{id}/indicators", tag = "market",
    params(
        ("id" = String, Path, description = "Coin id"),
        ("from" = Option<String>, Query, description = "Start: RFC 3339 or epoch ms"),
        ("to" = Option<String>, Query, description = "End (exclusive); default: the newest data"),
        ("range" = Option<Range>, Query, description = "1h, 24h (default), 7d, 30d, 1y before `to`"),
        ("window" = Option<Window>, Query, description = "Window the indicators are computed over: 1m, 5m (default), 1h"),
        ("source" = Option<String>, Query, description = "Source; default: the one of the newest snapshot"),
    ),
    responses(
        (status = 200, body = Indicators),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn indicators(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Response> {
    let ttl = CHART_TTL;
    let answer = indicators_answer(state.clone(), id, q);
    state
        .cache
        .responses
        .json(uri.to_string(), ttl, answer)
        .await
}

async fn indicators_answer(state: AppState, id: String, q: Params) -> ApiResult<Indicators> {
    params::only(&q, &["from", "to", "range", "window", "source"])?;
    let id = params::coin_id(&id, "id")?;
    let span = params::span(&q)?;
    let window = params::choice(&q, "window", &["1m", "5m", "1h"], "5m")?;
    let source = source_param(&q)?;
    let (newest_ns, source) = newest(&state, &id, source.as_deref()).await?;
    let (from, to) = span.resolve(newest_ns + 1, DAY_NS);
    let mut fields = vec!["close".to_string()];
    fields.extend(INDICATOR_FIELDS.iter().map(|f| f.to_string()));
    let query = Query {
        measurement: ANALYTICS.to_string(),
        range: TimeRange::new(from, to),
        tags: vec![
            ("crypto_id".into(), id.clone()),
            ("source".into(), source.clone()),
            ("window".into(), window.into()),
        ],
        fields: Some(fields),
        downsample: None,
        descending: false,
        limit: Some(MAX_CANDLES as usize),
    };
    let data = rows(&state.store.query(&query).await?)
        .into_iter()
        .map(from_row::<IndicatorPoint>)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Indicators {
        id,
        source,
        window: window.to_string(),
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
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Response> {
    let ttl = state.settings.snapshot_ttl;
    let answer = global_answer(state.clone(), q);
    state
        .cache
        .responses
        .json(uri.to_string(), ttl, answer)
        .await
}

async fn global_answer(state: AppState, q: Params) -> ApiResult<Global> {
    params::only(&q, &[])?;
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
