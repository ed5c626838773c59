//! `/api/v1/news`, `/api/v1/news/sources`, `/api/v1/sentiment` and `/api/v1/fear-greed`:
//! articles with their sentiment, publishers, sentiment over time and the Fear & Greed index.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Query as QueryParams, State};
use cryptoviz_measurements::names::{FEAR_GREED, NEWS, SENTIMENT, SOURCE_TAG};
use cryptoviz_store::{Query, TimeRange};

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::rows;
use crate::model::param_values::{Range, SentimentLabel};
use crate::model::{
    FearGreed, FearGreedPoint, List, NewsArticle, NewsSource, SentimentPoint, SentimentSeries,
    from_row,
};
use crate::params::{self, Params};

/// Articles read at most when filtering on fields (coin, sentiment) after the store's filters.
const SCAN_CAP: usize = 50_000;

/// Articles with sentiment and coin tags, newest first.
#[utoipa::path(get, path = "/api/v1/news", tag = "news", operation_id = "list_news",
    params(
        ("coin" = Option<String>, Query, description = "Only articles mentioning this coin id"),
        ("source" = Option<String>, Query, description = "Publisher (feed name)"),
        ("sentiment" = Option<SentimentLabel>, Query, description = "positive, negative or neutral"),
        ("from" = Option<String>, Query, description = "Start: RFC 3339 or epoch ms"),
        ("to" = Option<String>, Query, description = "End (exclusive)"),
        ("limit" = Option<usize>, Query, description = "1-1000 (50)"),
        ("offset" = Option<usize>, Query, description = "Articles to skip (0)"),
    ),
    responses((status = 200, body = List<NewsArticle>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Json<List<NewsArticle>>> {
    params::only(
        &q,
        &[
            "coin",
            "source",
            "sentiment",
            "from",
            "to",
            "limit",
            "offset",
        ],
    )?;
    let mut tags = Vec::new();
    if let Some(source) = q.get("source") {
        tags.push((SOURCE_TAG.to_string(), source_name(source)?));
    }
    let coin = q
        .get("coin")
        .map(|c| params::coin_id(c, "coin"))
        .transpose()?;
    let label = params::optional_choice(&q, "sentiment", &["positive", "negative", "neutral"])?;
    let from = params::time(&q, "from")?;
    let to = params::time(&q, "to")?;
    params::ordered(from, to)?;
    let limit = params::limit(&q, "limit", 50, 1000)?;
    let offset = params::offset(&q, "offset", 10_000)?;
    let filtered = coin.is_some() || label.is_some();
    let query = Query {
        measurement: NEWS.to_string(),
        range: TimeRange {
            start_ns: from,
            end_ns: to,
        },
        tags,
        fields: None,
        downsample: None,
        descending: true,
        limit: Some(if filtered { SCAN_CAP } else { offset + limit }),
    };
    let data = rows(&state.store.query(&query).await?)
        .into_iter()
        .map(from_row::<NewsArticle>)
        .filter(|r| match r {
            Ok(a) => {
                coin.as_ref().is_none_or(|c| a.coins.0.contains(c))
                    && label.is_none_or(|l| a.sentiment_label.map(|s| s.as_str()) == Some(l))
            }
            Err(_) => true,
        })
        .skip(offset)
        .take(limit)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(List::new(data)))
}

/// Every publisher with its article count and newest article.
#[utoipa::path(get, path = "/api/v1/news/sources", tag = "news", operation_id = "news_sources",
    responses((status = 200, body = List<NewsSource>), (status = 400, body = ErrorBody)))]
pub async fn sources(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Json<List<NewsSource>>> {
    params::only(&q, &[])?;
    let mut query = Query::new(NEWS);
    query.fields = Some(vec!["guid".to_string()]);
    let mut by_source: BTreeMap<String, (usize, Option<String>)> = BTreeMap::new();
    for row in rows(&state.store.query(&query).await?) {
        let source = row
            .get(SOURCE_TAG)
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let time = row.get("time").and_then(|v| v.as_str()).map(str::to_string);
        let entry = by_source.entry(source.to_string()).or_default();
        entry.0 += 1;
        // Rows come oldest first: the last one seen is the newest.
        if time.is_some() {
            entry.1 = time;
        }
    }
    let data = by_source
        .into_iter()
        .map(|(source, (articles, latest))| NewsSource {
            source,
            articles,
            latest,
        })
        .collect();
    Ok(Json(List::new(data)))
}

/// Hourly sentiment of a coin, or of the whole market, oldest first.
#[utoipa::path(get, path = "/api/v1/sentiment", tag = "news",
    params(
        ("coin" = Option<String>, Query, description = "Coin id, or `market` (default) for the market-wide series"),
        ("from" = Option<String>, Query, description = "Start: RFC 3339 or epoch ms"),
        ("to" = Option<String>, Query, description = "End (exclusive); default: now"),
        ("range" = Option<Range>, Query, description = "1h, 24h, 7d (default), 30d, 1y before `to`"),
    ),
    responses((status = 200, body = SentimentSeries), (status = 400, body = ErrorBody)))]
pub async fn sentiment(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Json<SentimentSeries>> {
    params::only(&q, &["coin", "from", "to", "range"])?;
    let coin = match q.get("coin") {
        None => "market".to_string(),
        Some(c) => params::coin_id(c, "coin")?,
    };
    let span = params::span(&q)?;
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
    let (from, to) = span.resolve(now, 7 * params::DAY_NS);
    let query = Query {
        measurement: SENTIMENT.to_string(),
        range: TimeRange::new(from, to),
        tags: vec![
            ("crypto_id".into(), coin.clone()),
            ("window".into(), "1h".into()),
        ],
        fields: None,
        downsample: None,
        descending: false,
        limit: Some(10_000),
    };
    let data = rows(&state.store.query(&query).await?)
        .into_iter()
        .map(from_row::<SentimentPoint>)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(SentimentSeries {
        coin,
        count: data.len(),
        data,
    }))
}

/// The latest Fear & Greed reading and the history, newest first.
#[utoipa::path(get, path = "/api/v1/fear-greed", tag = "news",
    params(
        ("from" = Option<String>, Query, description = "Start: RFC 3339 or epoch ms"),
        ("to" = Option<String>, Query, description = "End (exclusive)"),
        ("limit" = Option<usize>, Query, description = "1-1000 (30)"),
    ),
    responses((status = 200, body = FearGreed), (status = 400, body = ErrorBody)))]
pub async fn fear_greed(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Json<FearGreed>> {
    params::only(&q, &["from", "to", "limit"])?;
    let from = params::time(&q, "from")?;
    let to = params::time(&q, "to")?;
    params::ordered(from, to)?;
    let limit = params::limit(&q, "limit", 30, 1000)?;
    let query = Query {
        measurement: FEAR_GREED.to_string(),
        range: TimeRange {
            start_ns: from,
            end_ns: to,
        },
        tags: Vec::new(),
        fields: None,
        downsample: None,
        descending: true,
        limit: Some(limit),
    };
    let data = rows(&state.store.query(&query).await?)
        .into_iter()
        .map(from_row::<FearGreedPoint>)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(FearGreed {
        latest: data.first().cloned(),
        count: data.len(),
        data,
    }))
}

/// A feed name: short, of letters, digits, `.`, `_` and `-` (what the config allows).
pub(crate) fn source_name(raw: &str) -> ApiResult<String> {
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
