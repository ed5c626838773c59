//! `GET /api/v1/stream`: the live events as Server-Sent Events.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum_extra::extract::WithRejection;
use futures::Stream;
use serde::{Deserialize, Deserializer};
use tokio::sync::broadcast;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::limits::SlotRefusal;
use crate::live::{Event, EventKind, Resume};
use crate::params::Params;
use crate::protect::ClientIp;
use crate::state::AppState;

/// Heartbeat comment period.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// Parameters of `/stream`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Comma-separated: prices, analytics, anomalies, news, sentiment, alerts, trades (default:
    /// all but trades)
    #[param(value_type = Option<String>)]
    pub topics: Option<Topics>,
    /// Resume after this event id (the Last-Event-ID header does the same)
    pub last_event_id: Option<String>,
}

/// The event kinds a client follows.
#[derive(Debug)]
pub struct Topics(pub Vec<EventKind>);

impl<'de> Deserialize<'de> for Topics {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        raw.split(',')
            .map(|t| {
                EventKind::from_topic(t.trim()).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "has an unknown topic `{t}`; topics are prices, analytics, anomalies, news, sentiment, alerts, trades"
                    ))
                })
            })
            .collect::<Result<_, _>>()
            .map(Topics)
    }
}

/// Live events as Server-Sent Events: `price`, `analytics`, `anomaly`, `news`, `sentiment`,
/// `alert`, `trade` (each exchange trade, only with `topics=trades`); `lagged` when this client fell behind (it continues from the newest), `reset`
/// when its `Last-Event-ID` is no longer known (reload, then follow). A `: heartbeat` comment
/// comes every 15 s.
#[utoipa::path(get, path = "/api/v1/stream", tag = "live",
    params(StreamQuery),
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
    WithRejection(Query(q), _): Params<StreamQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let kinds = q
        .topics
        .map_or_else(|| EventKind::DEFAULT.to_vec(), |t| t.0);
    let last_id = q.last_event_id.or_else(|| {
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
