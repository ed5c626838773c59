//! The API's guards, as axum middleware: API keys on protected routes, a per-client rate
//! limit, and a time limit per request. Each refuses with the API's one error shape.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;

use crate::AppState;
use crate::error::ApiError;

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

/// Token buckets per client IP.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("per_second", &self.per_second)
            .field("burst", &self.burst)
            .finish()
    }
}

/// Buckets kept before idle ones are dropped.
const MAX_CLIENTS: usize = 100_000;

impl RateLimiter {
    /// `per_second` sustained with bursts of `burst`; `per_second <= 0` lets everything in.
    pub fn new(per_second: f64, burst: u32) -> Self {
        RateLimiter {
            per_second,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `client`, or says how many seconds until one is free.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), u64> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock();
        if buckets.len() >= MAX_CLIENTS {
            // Full buckets are the same as no bucket: drop them.
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets.entry(client).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.per_second).ceil().max(1.0) as u64)
        }
    }
}

/// Applies the per-IP rate limit (429 with `Retry-After`).
pub async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    match state.limiter.check(client, Instant::now()) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_past_the_limit_waits_for_tokens() {
        let limiter = RateLimiter::new(2.0, 3);
        let ip = IpAddr::from([10, 0, 0, 1]);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(ip, t0).is_ok());
        }
        assert_eq!(limiter.check(ip, t0), Err(1));
        // Another client has its own bucket.
        assert!(limiter.check(IpAddr::from([10, 0, 0, 2]), t0).is_ok());
        // Half a second later one token is back.
        assert!(limiter.check(ip, t0 + Duration::from_millis(500)).is_ok());
        assert!(limiter.check(ip, t0 + Duration::from_millis(500)).is_err());
        assert!(RateLimiter::new(0.0, 1).check(ip, t0).is_ok());
    }
}
