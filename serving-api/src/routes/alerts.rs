//! `/api/v1/alerts`: alert rules (writes need the API key) and fired alerts.

use axum::Json;
use axum::extract::{Path, Query as QueryParams, State};
use axum::http::StatusCode;

use crate::AppState;
use crate::alerts::{Fired, NewRule, Rule};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::model::List;
use crate::params::{self, Params};

/// Every alert rule, oldest first.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts",
    responses((status = 200, body = List<Rule>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Json<List<Rule>>> {
    params::only(&q, &[])?;
    Ok(Json(List::new(state.alerts.rules().to_vec())))
}

/// Creates a rule (API key required).
#[utoipa::path(post, path = "/api/v1/alerts", tag = "alerts",
    request_body = NewRule,
    security(("api_key" = [])),
    responses(
        (status = 201, body = Rule),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    JsonBody(rule): JsonBody<NewRule>,
) -> ApiResult<(StatusCode, Json<Rule>)> {
    let rule = state.alerts.add(rule.validate()?)?;
    Ok((StatusCode::CREATED, Json(rule)))
}

/// Deletes a rule (API key required).
#[utoipa::path(delete, path = "/api/v1/alerts/{id}", tag = "alerts",
    params(("id" = String, Path, description = "Rule id")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if state.alerts.delete(&id)? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no alert rule `{id}`")))
    }
}

/// Alerts fired since the server started, newest first.
#[utoipa::path(get, path = "/api/v1/alerts/fired", tag = "alerts",
    params(("limit" = Option<usize>, Query, description = "1-500 (50)")),
    responses((status = 200, body = List<Fired>), (status = 400, body = ErrorBody)))]
pub async fn fired(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Json<List<Fired>>> {
    params::only(&q, &["limit"])?;
    let limit = params::limit(&q, "limit", 50, 500)?;
    Ok(Json(List::new(state.alerts.fired(limit))))
}
