//! `/api/v1/replays`: re-running the consumers over the log's history into the store
//! (starting and cancelling need the API key). See [`crate::replays`].

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::WithRejection;
use cryptoviz_log::Log;
use cryptoviz_measurements::replay::{ReplayFrom, ReplaySpec, ReplayTo};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::model::List;
use crate::params::{NoParams, Params};
use crate::replays::{Job, ReplayJob, Replays};
use crate::state::AppState;

/// A replay's start or end: an offset (on every partition) or text (`beginning` for a
/// start, an offset, or an RFC 3339 time).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Bound {
    Offset(u64),
    Text(String),
}

impl Bound {
    fn text(&self) -> String {
        match self {
            Bound::Offset(o) => o.to_string(),
            Bound::Text(t) => t.clone(),
        }
    }
}

/// What to replay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReplay {
    /// Some of `crypto-prices`, `crypto-news`, `crypto-market-sentiment`; default all three.
    #[serde(default)]
    pub topics: Vec<String>,
    /// `beginning`, an offset or an RFC 3339 time (aligned down to the hour).
    pub from: Bound,
    /// Exclusive end: an offset or an RFC 3339 time (aligned up to the hour); default the
    /// log's end when the replay starts.
    #[serde(default)]
    pub to: Option<Bound>,
}

/// The jobs, and the log they replay; 501 when this process offers no replays.
fn replays(state: &AppState) -> ApiResult<(&Arc<Replays>, &Arc<dyn Log>)> {
    state.replays.as_ref().zip(state.log.as_ref()).ok_or_else(|| {
        ApiError::Unsupported(
            "replays are not offered by this process: it has no log (over the embedded log, they run in the process running the stages, or with `cryptoviz replay`)".into(),
        )
    })
}

fn job_id(id: &str) -> ApiResult<u64> {
    id.parse()
        .map_err(|_| ApiError::bad("id", format!("`id` must be a job number, got `{id}`")))
}

/// Starts a replay of the log's history into the store (API key required). It runs in the
/// background: the answer is the job, to follow at `Location`.
#[utoipa::path(post, path = "/api/v1/replays", tag = "operations",
    request_body = NewReplay,
    security(("api_key" = [])),
    responses(
        (status = 202, body = ReplayJob, description = "Started"),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Another replay is running"),
        (status = 413, body = ErrorBody),
        (status = 501, body = ErrorBody, description = "No log in this process"),
    ))]
pub async fn start(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<NewReplay>,
) -> ApiResult<Response> {
    let (replays, log) = replays(&state)?;
    let from: ReplayFrom = request
        .from
        .text()
        .parse()
        .map_err(|e: String| ApiError::bad("from", format!("`from`: {e}")))?;
    let to: Option<ReplayTo> = request
        .to
        .as_ref()
        .map(|t| t.text().parse())
        .transpose()
        .map_err(|e: String| ApiError::bad("to", format!("`to`: {e}")))?;
    let spec = ReplaySpec::new(&request.topics, from, to).map_err(|e| {
        let param = match e.param() {
            "topic" => "topics",
            _ => "to",
        };
        ApiError::bad(param, format!("`{param}`: {e}"))
    })?;
    let job = replays.start(
        log.clone(),
        state.store.clone(),
        spec,
        request.from.text(),
        request.to.as_ref().map(Bound::text),
    )?;
    let view = job.view();
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/api/v1/replays/{}", view.id))],
        Json(view),
    )
        .into_response())
}

/// The replay jobs of this process, newest first (the running one and the last finished).
#[utoipa::path(get, path = "/api/v1/replays", tag = "operations", operation_id = "list_replays",
    responses(
        (status = 200, body = List<ReplayJob>),
        (status = 400, body = ErrorBody),
        (status = 501, body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    WithRejection(Query(NoParams {}), _): Params<NoParams>,
) -> ApiResult<Json<List<ReplayJob>>> {
    let jobs = replays(&state)?.0.list();
    Ok(Json(List::new(jobs.iter().map(|j| j.view()).collect())))
}

/// One replay job with its progress.
#[utoipa::path(get, path = "/api/v1/replays/{id}", tag = "operations", operation_id = "show_replay",
    params(("id" = u64, Path, description = "Job number")),
    responses(
        (status = 200, body = ReplayJob),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 501, body = ErrorBody),
    ))]
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<ReplayJob>> {
    let id = job_id(&id)?;
    found(replays(&state)?.0.get(id), id)
}

/// Cancels a running replay (API key required): what it read and closed is stored, its open
/// windows are dropped. A finished job is answered as it is.
#[utoipa::path(delete, path = "/api/v1/replays/{id}", tag = "operations",
    params(("id" = u64, Path, description = "Job number")),
    security(("api_key" = [])),
    responses(
        (status = 200, body = ReplayJob),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 501, body = ErrorBody),
    ))]
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<ReplayJob>> {
    let id = job_id(&id)?;
    found(replays(&state)?.0.cancel(id), id)
}

fn found(job: Option<Arc<Job>>, id: u64) -> ApiResult<Json<ReplayJob>> {
    job.map(|j| Json(j.view()))
        .ok_or_else(|| ApiError::NotFound(format!("no replay job {id}")))
}
