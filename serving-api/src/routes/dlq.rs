//! `/api/v1/dlq`: the dead letters (records that failed validation or decoding, with the
//! reason), and their replay (API key required).

use axum::Json;
use axum::extract::{Path, Query as QueryParams, State};
use cryptoviz_producers::{Publisher, SourceStatus, dlq};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::params::{self, Params};

/// Dead letters, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetters {
    pub count: usize,
    /// `{id, time, original_topic, source, reason, payload_bytes}`.
    pub data: Vec<Value>,
}

/// What a replay did.
#[derive(Debug, Serialize, ToSchema)]
pub struct DlqReplay {
    /// Dead letters read (not replayed before).
    pub scanned: u64,
    /// Re-validated and published to their original topic.
    pub replayed: u64,
    /// Still failing validation.
    pub still_invalid: u64,
    /// Raw upstream payloads, which cannot be re-validated.
    pub not_replayable: u64,
}

fn log(state: &AppState) -> ApiResult<&std::sync::Arc<dyn cryptoviz_log::Log>> {
    state.log.as_ref().ok_or_else(|| {
        ApiError::Unsupported(
            "this process has no log (over the embedded log, `cryptoviz serve` leaves it to the process running the stages)".into(),
        )
    })
}

fn log_error(e: cryptoviz_producers::Error) -> ApiError {
    ApiError::Unavailable(format!("the log could not answer: {e}"))
}

/// The newest dead letters: id, time, original topic, source and reason.
#[utoipa::path(get, path = "/api/v1/dlq", tag = "operations",
    params(("limit" = Option<usize>, Query, description = "1-1000 (50)")),
    responses(
        (status = 200, body = DeadLetters),
        (status = 400, body = ErrorBody),
        (status = 501, body = ErrorBody, description = "No log in this process"),
        (status = 503, body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Json<DeadLetters>> {
    params::only(&q, &["limit"])?;
    let limit = params::limit(&q, "limit", 50, 1000)?;
    let letters = dlq::list(log(&state)?.as_ref(), limit)
        .await
        .map_err(log_error)?;
    let data: Vec<Value> = letters
        .iter()
        .map(|(partition, offset, letter)| {
            dlq::summary(&format!("{partition}:{offset}"), letter, false)
        })
        .collect();
    Ok(Json(DeadLetters {
        count: data.len(),
        data,
    }))
}

/// One dead letter with its payload.
#[utoipa::path(get, path = "/api/v1/dlq/{id}", tag = "operations",
    params(("id" = String, Path, description = "`partition:offset`, as the list gives it")),
    responses(
        (status = 200, body = serde_json::Value),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 501, body = ErrorBody),
    ))]
pub async fn show(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let valid = id
        .split_once(':')
        .is_some_and(|(p, o)| p.parse::<u32>().is_ok() && o.parse::<u64>().is_ok());
    if !valid {
        return Err(ApiError::bad(
            "id",
            format!("`id` must be `partition:offset`, got `{id}`"),
        ));
    }
    match dlq::show(log(&state)?.as_ref(), &id)
        .await
        .map_err(log_error)?
    {
        Some(letter) => Ok(Json(dlq::summary(&id, &letter, true))),
        None => Err(ApiError::NotFound(format!("no dead letter {id}"))),
    }
}

/// Re-validates the dead letters not replayed before and publishes those that now pass
/// (API key required).
#[utoipa::path(post, path = "/api/v1/dlq/replay", tag = "operations",
    security(("api_key" = [])),
    responses(
        (status = 200, body = DlqReplay),
        (status = 401, body = ErrorBody),
        (status = 501, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub async fn replay(State(state): State<AppState>) -> ApiResult<Json<DlqReplay>> {
    let log = log(&state)?.clone();
    let publisher = Publisher::new(log.clone(), "dlq-replay", SourceStatus::new("dlq-replay"));
    let report = dlq::replay(log.as_ref(), &publisher)
        .await
        .map_err(log_error)?;
    Ok(Json(DlqReplay {
        scanned: report.scanned as u64,
        replayed: report.replayed as u64,
        still_invalid: report.still_invalid as u64,
        not_replayable: report.not_replayable as u64,
    }))
}
