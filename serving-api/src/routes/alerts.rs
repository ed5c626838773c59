//! `/api/v1/alerts`: alert rules (writes need the API key) and fired alerts.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum_extra::extract::WithRejection;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::alerts::{Fired, NewRule, Rule, webhook};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::model::List;
use crate::params::{Limit, NoParams, Params};
use crate::state::AppState;

/// Every alert rule, oldest first; webhook URLs are masked (scheme and host only).
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", operation_id = "list_alerts",
    responses((status = 200, body = List<Rule>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    WithRejection(Query(NoParams {}), _): Params<NoParams>,
) -> ApiResult<Json<List<Rule>>> {
    Ok(Json(List::new(
        state.alerts.rules().iter().map(Rule::masked).collect(),
    )))
}

/// Creates a rule (API key required). A webhook must be an `http://` or `https://` URL whose
/// host is not internal (loopback, private, link-local, ...) unless the server allows it; the
/// answer shows it masked.
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
    let allow = &state.settings.webhook_allowed_networks;
    let rule = rule.validate(allow)?;
    if let Some(url) = &rule.webhook_url {
        webhook::vet(url, allow)
            .await
            .map_err(|m| ApiError::bad("webhook_url", m))?;
    }
    let rule = state.alerts.add(rule)?;
    Ok((StatusCode::CREATED, Json(rule.masked())))
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

/// Parameters of `/alerts/fired`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FiredQuery {
    /// 1-500 (50)
    #[serde(default)]
    #[param(inline)]
    pub limit: Limit<50, 500>,
}

/// Alerts fired since the server started, newest first.
#[utoipa::path(get, path = "/api/v1/alerts/fired", tag = "alerts",
    params(FiredQuery),
    responses((status = 200, body = List<Fired>), (status = 400, body = ErrorBody)))]
pub async fn fired(
    State(state): State<AppState>,
    WithRejection(Query(q), _): Params<FiredQuery>,
) -> ApiResult<Json<List<Fired>>> {
    Ok(Json(List::new(state.alerts.fired(q.limit.get()))))
}
