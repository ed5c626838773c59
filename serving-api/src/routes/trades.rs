//! `/api/v1/coins/{id}/trades`: the latest exchange trades of a coin, newest first.
//!
//! They are read from the store (`crypto_trades`), where the trade consumer writes every
//! trade; the live stream carries each new one (`topics=trades`).

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::Response;
use axum_extra::extract::WithRejection;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::model::TradeList;
use crate::params::{self, Limit, Params, SourceName, Timestamp};
use crate::read::Trades;
use crate::state::AppState;

/// How long an answer is reused (the live stream carries what is newer).
const TRADES_TTL: Duration = Duration::from_secs(1);

/// Parameters of `/coins/{id}/trades`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TradesQuery {
    /// Only this exchange's trades (`binance`, `coinbase`, `kraken`); default: every exchange
    #[param(inline)]
    pub source: Option<SourceName>,
    /// Trades before this time (exclusive): RFC 3339 or epoch ms; default: the newest
    #[param(inline)]
    pub before: Option<Timestamp>,
    /// Most trades, 1-1000 (100)
    #[serde(default)]
    #[param(inline)]
    pub limit: Limit<100, 1000>,
}

/// The latest trades of a coin on the exchanges, newest first.
#[utoipa::path(get, path = "/api/v1/coins/{id}/trades", tag = "market", operation_id = "list_trades",
    params(("id" = String, Path, description = "Coin id"), TradesQuery),
    responses(
        (status = 200, body = TradeList),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Unknown coin"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    WithRejection(Query(q), _): Params<TradesQuery>,
) -> ApiResult<Response> {
    let id = params::coin_id(&id, "id")?;
    let answer = answer(state.clone(), id, q);
    state
        .cache
        .responses
        .json(uri.to_string(), TRADES_TTL, answer)
        .await
}

async fn answer(state: AppState, id: String, q: TradesQuery) -> ApiResult<TradeList> {
    let exchange = q.source.map(|s| s.0);
    let data = Trades::new(state.store.clone())
        .latest(
            &id,
            exchange.as_deref(),
            q.before.map(|t| t.0),
            q.limit.get(),
        )
        .await?;
    if data.is_empty() && state.market().newest(&id, None).await?.is_none() {
        return Err(ApiError::NotFound(format!("unknown coin `{id}`")));
    }
    Ok(TradeList {
        id,
        count: data.len(),
        data,
    })
}
