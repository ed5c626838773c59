//! `/api/v1/news`, `/api/v1/news/sources`, `/api/v1/sentiment` and `/api/v1/fear-greed`:
//! articles with their sentiment, publishers, sentiment over time and the Fear & Greed index.

use axum::Json;
use axum::extract::{Query, State};
use axum_extra::extract::WithRejection;
use cryptoviz_measurements::sentiment::{Label, MARKET_WIDE};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiResult, ErrorBody};
use crate::model::{FearGreed, List, NewsArticle, NewsSource, SentimentPoint, SentimentSeries};
use crate::params::{
    CoinId, DAY_NS, Limit, NoParams, Offset, Params, Range, SourceName, Span, Timestamp, choices,
};
use crate::read::{Between, NewsQuery};
use crate::state::AppState;

/// Parameters of `/news`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ArticlesQuery {
    /// Only articles mentioning this coin id
    #[param(inline)]
    pub coin: Option<CoinId>,
    /// Publisher (feed name)
    #[param(inline)]
    pub source: Option<SourceName>,
    /// positive, negative or neutral
    #[serde(default, deserialize_with = "choices::optional")]
    pub sentiment: Option<Label>,
    /// Start: RFC 3339 or epoch ms
    #[param(inline)]
    pub from: Option<Timestamp>,
    /// End (exclusive)
    #[param(inline)]
    pub to: Option<Timestamp>,
    /// 1-1000 (50)
    #[serde(default)]
    #[param(inline)]
    pub limit: Limit<50, 1000>,
    /// Articles to skip (0)
    #[serde(default)]
    #[param(inline)]
    pub offset: Offset<10_000>,
}

/// Articles with sentiment and coin tags, newest first.
#[utoipa::path(get, path = "/api/v1/news", tag = "news", operation_id = "list_news",
    params(ArticlesQuery),
    responses((status = 200, body = List<NewsArticle>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    WithRejection(Query(q), _): Params<ArticlesQuery>,
) -> ApiResult<Json<List<NewsArticle>>> {
    let data = state
        .news()
        .articles(&NewsQuery {
            source: q.source.map(|s| s.0),
            coin: q.coin.map(|c| c.0),
            label: q.sentiment,
            between: Between::of(q.from, q.to)?,
            limit: q.limit.get(),
            offset: q.offset.get(),
        })
        .await?;
    Ok(Json(List::new(data)))
}

/// Every publisher with its article count and newest article.
#[utoipa::path(get, path = "/api/v1/news/sources", tag = "news", operation_id = "news_sources",
    responses((status = 200, body = List<NewsSource>), (status = 400, body = ErrorBody)))]
pub async fn sources(
    State(state): State<AppState>,
    WithRejection(Query(NoParams {}), _): Params<NoParams>,
) -> ApiResult<Json<List<NewsSource>>> {
    Ok(Json(List::new(state.news().sources().await?)))
}

/// Parameters of `/sentiment`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SentimentQuery {
    /// Coin id, or `market` (default) for the market-wide series
    #[param(inline)]
    pub coin: Option<CoinId>,
    /// Start: RFC 3339 or epoch ms
    #[param(inline)]
    pub from: Option<Timestamp>,
    /// End (exclusive); default: now
    #[param(inline)]
    pub to: Option<Timestamp>,
    /// 1h, 24h, 7d (default), 30d, 1y before `to`
    pub range: Option<Range>,
}

/// Hourly sentiment of a coin, or of the whole market, oldest first.
#[utoipa::path(get, path = "/api/v1/sentiment", tag = "news",
    params(SentimentQuery),
    responses((status = 200, body = SentimentSeries), (status = 400, body = ErrorBody)))]
pub async fn sentiment(
    State(state): State<AppState>,
    WithRejection(Query(q), _): Params<SentimentQuery>,
) -> ApiResult<Json<SentimentSeries>> {
    let coin = q.coin.map_or_else(|| MARKET_WIDE.to_string(), |c| c.0);
    let span = Span::new(q.from, q.to, q.range)?;
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
    let hours = state
        .sentiment()
        .hourly(&coin, span.resolve(now, 7 * DAY_NS))
        .await?;
    let data: Vec<SentimentPoint> = hours.into_iter().map(SentimentPoint::from).collect();
    Ok(Json(SentimentSeries {
        coin,
        count: data.len(),
        data,
    }))
}

/// Parameters of `/fear-greed`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FearGreedQuery {
    /// Start: RFC 3339 or epoch ms
    #[param(inline)]
    pub from: Option<Timestamp>,
    /// End (exclusive)
    #[param(inline)]
    pub to: Option<Timestamp>,
    /// 1-1000 (30)
    #[serde(default)]
    #[param(inline)]
    pub limit: Limit<30, 1000>,
}

/// The latest Fear & Greed reading and the history, newest first.
#[utoipa::path(get, path = "/api/v1/fear-greed", tag = "news",
    params(FearGreedQuery),
    responses((status = 200, body = FearGreed), (status = 400, body = ErrorBody)))]
pub async fn fear_greed(
    State(state): State<AppState>,
    WithRejection(Query(q), _): Params<FearGreedQuery>,
) -> ApiResult<Json<FearGreed>> {
    let between = Between::of(q.from, q.to)?;
    let data = state.sentiment().fear_greed(between, q.limit.get()).await?;
    Ok(Json(FearGreed {
        latest: data.first().cloned(),
        count: data.len(),
        data,
    }))
}
