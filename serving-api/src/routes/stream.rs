//! `GET /api/v1/stream`: the live events as Server-Sent Events.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query as QueryParams, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::broadcast;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::live::{Event, EventKind, Resume};
use crate::params::{self, Params};
use crate::protect::{ClientIp, SlotRefusal};

/// Heartbeat comment period.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// Live events as Server-Sent Events: `price`, `analytics`, `anomaly`, `news`, `sentiment`,
/// `alert`; `lagged` when this client fell behind (it continues from the newest), `reset`
/// when its `Last-Event-ID` is no longer known (reload, then follow). A `: heartbeat` comment
/// comes every 15 s.
#[utoipa::path(get, path = "/api/v1/stream", tag = "live",
    params(
        ("topics" = Option<String>, Query, description = "Comma-separated: prices, analytics, anomalies, news, sentiment, alerts (default: all)"),
        ("last_event_id" = Option<String>, Query, description = "Resume after this event id (the Last-Event-ID header does the same)"),
    ),
    responses(
        (status = 200, content_type = "text/event-stream", description = "The event stream"),
        (status = 400, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many stream clients from this client address (`api.stream_max_clients_per_ip`)"),
        (status = 503, body = ErrorBody, description = "Too many stream clients (`api.stream_max_clients`)"),
    ))]
pub async fn stream(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    QueryParams(q): QueryParams<Params>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    params::only(&q, &["topics", "last_event_id"])?;
    let kinds: Vec<EventKind> = match q.get("topics") {
        None => EventKind::ALL.to_vec(),
        Some(raw) => raw
            .split(',')
            .map(|t| {
                EventKind::from_topic(t.trim()).ok_or_else(|| {
                    ApiError::bad(
                        "topics",
                        format!("unknown topic `{t}`; topics are prices, analytics, anomalies, news, sentiment, alerts"),
                    )
                })
            })
            .collect::<ApiResult<_>>()?,
    };
    let last_id = q.get("last_event_id").cloned().or_else(|| {
        headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    let slot = match state.stream_slots.take(client) {
        Ok(slot) => slot,
        Err(SlotRefusal::Full) => {
            return Err(ApiError::Unavailable(
                "too many live stream clients; retry later".into(),
            ));
        }
        Err(SlotRefusal::PerClient) => {
            return Err(ApiError::TooMany(format!(
                "at most {} live streams per client address; close one first",
                state.settings.stream_max_clients_per_ip
            )));
        }
    };
    let sub = state.hub.subscribe(last_id.as_deref());
    let mut first: VecDeque<SseEvent> = VecDeque::new();
    match sub.resume {
        Resume::Fresh => {}
        Resume::Reset => {
            first.push_back(SseEvent::default().event("reset").data(
                r#"{"reason":"the events after your last id are no longer available; reload"}"#,
            ))
        }
        Resume::Replay(events) => {
            first.extend(events.iter().filter(|e| kinds.contains(&e.kind)).map(sse))
        }
    }
    // The slot travels with the stream and is given back when the client goes away.
    let stream = futures::stream::unfold(
        (first, sub.receiver, kinds, slot),
        |(mut first, mut receiver, kinds, slot)| async move {
            if let Some(event) = first.pop_front() {
                return Some((Ok(event), (first, receiver, kinds, slot)));
            }
            loop {
                match receiver.recv().await {
                    Ok(event) if kinds.contains(&event.kind) => {
                        return Some((Ok(sse(&event)), (first, receiver, kinds, slot)));
                    }
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        let notice = SseEvent::default()
                            .event("lagged")
                            .data(format!(r#"{{"missed":{missed}}}"#));
                        return Some((Ok(notice), (first, receiver, kinds, slot)));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat")))
}

fn sse(event: &Arc<Event>) -> SseEvent {
    SseEvent::default()
        .id(event.id.as_str())
        .event(event.kind.as_str())
        .data(event.data.as_str())
}
