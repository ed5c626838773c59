//! The API's guards, as axum middleware: API keys on protected routes, the per-client rate
//! limit and a time limit per request, and the client address as an extractor. Each refuses
//! with the API's one error shape; the mechanisms they apply are in [`crate::limits`].
//!
//! A client is its IP address: the socket's peer, or, when the peer is a trusted proxy
//! (`api.trusted_proxies`), the address `X-Forwarded-For` names ([`client_ip`]).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::ApiError;
use crate::limits::client_ip;

/// Header carrying the API key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// Refuses a request without a configured key in `x-api-key` (401). With no key configured,
/// protected endpoints are closed rather than open.
pub async fn require_key(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let given = request.headers().get(API_KEY_HEADER).map(|v| v.as_bytes());
    let verdict = match given {
        _ if state.settings.keys.is_empty() => {
            Err("this endpoint needs an API key and none is configured (set api.keys)")
        }
        None => Err("missing x-api-key header"),
        Some(key) if state.settings.keys.iter().any(|k| k.matches(key)) => Ok(()),
        Some(_) => Err("invalid API key"),
    };
    match verdict {
        Ok(()) => next.run(request).await,
        Err(message) => ApiError::Unauthorized(message.into()).into_response(),
    }
}

/// The client of a request (see [`client_ip`]); `0.0.0.0` without connection info (tests
/// calling the router directly).
fn client_of(
    state: &AppState,
    extensions: &axum::http::Extensions,
    headers: &axum::http::HeaderMap,
) -> IpAddr {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    client_ip(peer, headers, &state.settings.trusted_proxies)
}

/// The client of a request, as an extractor.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

impl axum::extract::FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_of(
            state,
            &parts.extensions,
            &parts.headers,
        )))
    }
}

/// Applies the per-client rate limit (429 with `Retry-After`).
pub async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let client = client_of(&state, request.extensions(), request.headers());
    match state.limiter.check(client) {
        Ok(()) => next.run(request).await,
        Err(retry_after_secs) => ApiError::RateLimited { retry_after_secs }.into_response(),
    }
}

/// Answers 408 when the handler takes longer than `api.request_timeout`.
pub async fn time_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.settings.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout(format!(
            "the request took longer than {} s",
            limit.as_secs_f64()
        ))
        .into_response(),
    }
}
