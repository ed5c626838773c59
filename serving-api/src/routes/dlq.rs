//! `/api/v1/dlq`: the dead letters (records that failed validation or decoding, with the
//! reason), and their replay (API key required).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum_extra::extract::WithRejection;
use cryptoviz_log::TopicPartition;
use cryptoviz_producers::{Publisher, SourceStatus, dlq};
use cryptoviz_schemas::{DlqRecord, topics};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::params::{Limit, Params};
use crate::state::AppState;

/// A page of dead letters: the newest ones before the cursor, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetters {
    pub count: usize,
    /// `{id, time, original_topic, source, reason, payload_bytes}`.
    pub data: Vec<Value>,
    /// Pass as `before` for the next (older) page; `null` when there is none.
    pub next: Option<String>,
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

/// Dead letters read per call to the log: bounds what one request holds at a time beside
/// the page's summaries.
const READ_CHUNK: usize = 100;

/// Parameters of `/dlq`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeadLettersQuery {
    /// 1-1000 (50)
    #[serde(default)]
    #[param(inline)]
    pub limit: Limit<50, 1000>,
    /// The `next` of the previous page
    pub before: Option<String>,
}

/// The newest dead letters before `before` (API key required): id, time, original topic,
/// source and reason, oldest first, and the cursor of the next older page. Each page reads at
/// most `limit` letters per partition of the DLQ, with no consumer group.
#[utoipa::path(get, path = "/api/v1/dlq", tag = "operations", operation_id = "list_dead_letters",
    params(DeadLettersQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, body = DeadLetters),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 501, body = ErrorBody, description = "No log in this process"),
        (status = 503, body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    WithRejection(Query(q), _): Params<DeadLettersQuery>,
) -> ApiResult<Json<DeadLetters>> {
    let limit = q.limit.get();
    let log = log(&state)?.as_ref();
    let empty = || {
        Json(DeadLetters {
            count: 0,
            data: Vec::new(),
            next: None,
        })
    };
    // No DLQ topic yet: nothing was ever dead-lettered.
    if log.partition_count(topics::DLQ).await.is_err() {
        return Ok(empty());
    }
    let offsets = log.offsets(topics::DLQ).await.map_err(unavailable)?;
    let upper = match &q.before {
        None => offsets.iter().map(|(_, end)| *end).collect(),
        Some(raw) => parse_cursor(raw, &offsets)?,
    };
    // Per partition, the last `limit` letters below the cursor, oldest first.
    let mut lanes: Vec<Vec<Letter>> = Vec::with_capacity(offsets.len());
    let mut lows = Vec::with_capacity(offsets.len());
    for (p, ((start, _), top)) in offsets.iter().zip(&upper).enumerate() {
        let low = top.saturating_sub(limit as u64).max(*start);
        lows.push(low);
        lanes.push(read_letters(log, p as u32, low, *top).await?);
    }
    // Merge the lanes from their newest ends, newest first, keeping each lane's order.
    let mut next = upper.clone();
    let mut page: Vec<Letter> = Vec::with_capacity(limit);
    while page.len() < limit {
        let newest = lanes
            .iter()
            .enumerate()
            .filter_map(|(p, lane)| lane.last().map(|l| ((l.time_ms, p), p)))
            .max()
            .map(|(_, p)| p);
        let Some(p) = newest else { break };
        let letter = lanes[p].pop().expect("the lane has a last letter");
        next[p] = letter.offset;
        page.push(letter);
    }
    if page.len() < limit {
        // Every letter read was taken (or could not be decoded): the pages go on below the
        // ranges read.
        next.clone_from(&lows);
    }
    page.reverse();
    let more = next.iter().zip(&offsets).any(|(n, (start, _))| n > start);
    let data: Vec<Value> = page.into_iter().map(|l| l.summary).collect();
    Ok(Json(DeadLetters {
        count: data.len(),
        data,
        next: more.then(|| format_cursor(&next)),
    }))
}

/// A dead letter's summary with what the merge needs.
struct Letter {
    offset: u64,
    time_ms: i64,
    summary: Value,
}

/// The decodable dead letters of `partition` in `[from, to)`, summarised as they are read.
async fn read_letters(
    log: &dyn cryptoviz_log::Log,
    partition: u32,
    mut from: u64,
    to: u64,
) -> ApiResult<Vec<Letter>> {
    let tp = TopicPartition::new(topics::DLQ, partition);
    let mut out = Vec::new();
    while from < to {
        let want = ((to - from) as usize).min(READ_CHUNK);
        let records = log.read(&tp, from, want).await.map_err(unavailable)?;
        let Some(last) = records.last() else { break };
        from = last.offset + 1;
        for r in records.iter().filter(|r| r.offset < to) {
            if let Ok(letter) = cryptoviz_schemas::decode::<DlqRecord>(&r.value) {
                out.push(Letter {
                    offset: r.offset,
                    time_ms: letter.timestamp_ms,
                    summary: dlq::summary(&format!("{partition}:{}", r.offset), &letter, false),
                });
            }
        }
    }
    Ok(out)
}

/// A cursor: `partition:offset` per partition, comma-separated (the next page's letters are
/// below these offsets).
fn format_cursor(next: &[u64]) -> String {
    next.iter()
        .enumerate()
        .map(|(p, o)| format!("{p}:{o}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_cursor(raw: &str, offsets: &[(u64, u64)]) -> ApiResult<Vec<u64>> {
    let bad = || {
        ApiError::bad(
            "before",
            "`before` must be the `next` of a previous page (`partition:offset,...`)",
        )
    };
    let mut upper: Vec<u64> = offsets.iter().map(|(_, end)| *end).collect();
    for pair in raw.split(',') {
        let (p, o) = pair.split_once(':').ok_or_else(bad)?;
        let (p, o) = (p.parse::<usize>(), o.parse::<u64>());
        match (p, o) {
            (Ok(p), Ok(o)) if p < upper.len() => upper[p] = upper[p].min(o),
            _ => return Err(bad()),
        }
    }
    Ok(upper)
}

/// One dead letter with its payload (API key required: payloads are what upstreams sent,
/// including what failed validation).
#[utoipa::path(get, path = "/api/v1/dlq/{id}", tag = "operations", operation_id = "show_dead_letter",
    params(("id" = String, Path, description = "`partition:offset`, as the list gives it")),
    security(("api_key" = [])),
    responses(
        (status = 200, body = serde_json::Value),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 501, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub async fn show(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let parsed = id
        .split_once(':')
        .and_then(|(p, o)| Some((p.parse::<u32>().ok()?, o.parse::<u64>().ok()?)));
    let Some((partition, offset)) = parsed else {
        return Err(ApiError::bad(
            "id",
            format!("`id` must be `partition:offset`, got `{id}`"),
        ));
    };
    let log = log(&state)?.as_ref();
    let missing = || ApiError::NotFound(format!("no dead letter {id}"));
    let Ok(offsets) = log.offsets(topics::DLQ).await else {
        return Err(missing());
    };
    match offsets.get(partition as usize) {
        Some((start, end)) if (*start..*end).contains(&offset) => {}
        _ => return Err(missing()),
    }
    let tp = TopicPartition::new(topics::DLQ, partition);
    let records = log.read(&tp, offset, 1).await.map_err(unavailable)?;
    match records.first() {
        Some(r) if r.offset == offset => match cryptoviz_schemas::decode::<DlqRecord>(&r.value) {
            Ok(letter) => Ok(Json(dlq::summary(&id, &letter, true))),
            Err(_) => Err(missing()),
        },
        _ => Err(missing()),
    }
}

fn unavailable(e: cryptoviz_log::Error) -> ApiError {
    ApiError::Unavailable(format!("the log could not answer: {e}"))
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
