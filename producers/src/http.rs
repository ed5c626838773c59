//! HTTP resilience shared by the real agents: timeout, response size cap, retries with
//! exponential back-off and jitter (retryable failures only), `Retry-After` on 429 and 418, a
//! per-agent circuit breaker, and skipping a body byte-identical to the previous one.
//!
//! Errors never carry the request URL or headers: URLs may hold keys, and these messages end
//! up in logs and in the status API.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use bytes::{Bytes, BytesMut};
use failsafe::failure_policy::ConsecutiveFailures;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::config::HttpConfig;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No response in time.
    #[error("request timed out")]
    Timeout,
    /// Could not connect or the connection broke.
    #[error("connection failed: {0}")]
    Connect(String),
    /// Non-success HTTP status.
    #[error("upstream answered HTTP {status}")]
    Status {
        /// The status code.
        status: u16,
        /// `Retry-After` in seconds, if sent.
        retry_after: Option<Duration>,
    },
    /// The body passed the configured cap; `prefix` is its beginning (for the DLQ).
    #[error("response larger than {limit} bytes")]
    TooLarge {
        /// The cap.
        limit: usize,
        /// The first bytes received (at most 4 KiB).
        prefix: Bytes,
    },
    /// The circuit breaker is open: no request was sent.
    #[error("circuit breaker open")]
    BreakerOpen,
    /// Shutdown was requested while waiting.
    #[error("cancelled by shutdown")]
    Cancelled,
    /// Any other client error (bad URL, TLS set-up…).
    #[error("http client: {0}")]
    Other(String),
}

impl FetchError {
    /// The `Retry-After` the server sent with this error, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Timeouts, connection errors, 5xx and 429 may succeed on retry, and 418 when it says
    /// when (Binance's ban for ignoring 429s comes with `Retry-After`); the rest will not.
    pub fn is_retryable(&self) -> bool {
        match self {
            FetchError::Timeout | FetchError::Connect(_) => true,
            FetchError::Status {
                status,
                retry_after,
            } => *status == 429 || *status >= 500 || (*status == 418 && retry_after.is_some()),
            _ => false,
        }
    }

    fn from_reqwest(e: reqwest::Error) -> Self {
        // `without_url`: the URL may carry a key.
        let e = e.without_url();
        if e.is_timeout() {
            FetchError::Timeout
        } else if e.is_connect() || e.is_request() || e.is_body() {
            FetchError::Connect(e.to_string())
        } else {
            FetchError::Other(e.to_string())
        }
    }
}

/// State of a circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum BreakerState {
    /// Requests flow.
    #[default]
    Closed,
    /// Requests are refused until the cool-down ends.
    Open,
    /// One trial request decides: success closes, failure re-opens.
    HalfOpen,
}

impl BreakerState {
    /// `closed`, `open` or `half-open`.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }
}

/// closed → open after `threshold` consecutive failures → half-open once `cooldown` has passed
/// and a request is attempted → closed on one success (or open again on failure): `failsafe`'s
/// state machine with its consecutive-failures policy and a constant back-off, the pybreaker
/// model. Its transitions are recorded as they happen so each source reports its breaker
/// (`/api/v1/sources`, the `cryptoviz_source_breaker_state` metric).
///
/// Time comes from `failsafe`'s clock (the monotonic clock; tests freeze and advance it with
/// `failsafe::clock::freeze`).
#[derive(Debug)]
pub struct CircuitBreaker {
    machine: failsafe::StateMachine<ConsecutiveFailures<failsafe::backoff::Constant>, Transitions>,
    transitions: Transitions,
}

/// The breaker's state, kept up to date by the state machine's instrument callbacks.
#[derive(Debug, Clone, Default)]
struct Transitions(Arc<AtomicU8>);

impl Transitions {
    fn set(&self, state: BreakerState) {
        self.0.store(state as u8, Ordering::Relaxed);
    }

    fn get(&self) -> BreakerState {
        match self.0.load(Ordering::Relaxed) {
            s if s == BreakerState::Open as u8 => BreakerState::Open,
            s if s == BreakerState::HalfOpen as u8 => BreakerState::HalfOpen,
            _ => BreakerState::Closed,
        }
    }
}

impl failsafe::Instrument for Transitions {
    fn on_call_rejected(&self) {}

    fn on_open(&self) {
        self.set(BreakerState::Open);
    }

    fn on_half_open(&self) {
        self.set(BreakerState::HalfOpen);
    }

    fn on_closed(&self) {
        self.set(BreakerState::Closed);
    }
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        let transitions = Transitions::default();
        let policy = failsafe::failure_policy::consecutive_failures(
            threshold.max(1),
            failsafe::backoff::constant(cooldown),
        );
        Self {
            machine: failsafe::StateMachine::new(policy, transitions.clone()),
            transitions,
        }
    }

    /// The current state. An open breaker stays `open` until a request is attempted after
    /// the cool-down, which turns it `half-open`.
    pub fn state(&self) -> BreakerState {
        self.transitions.get()
    }

    /// Whether a request may be sent now (after the cool-down, the trial request).
    pub fn allow(&self) -> bool {
        self.machine.is_call_permitted()
    }

    /// Records a successful call: closes the breaker.
    pub fn on_success(&mut self) {
        self.machine.on_success();
    }

    /// Records a failed call: opens the breaker at the threshold, or re-opens a half-open one.
    pub fn on_failure(&mut self) {
        self.machine.on_error();
    }
}

/// What a successful fetch returned.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// A body different from the previous one of this URL.
    New(Bytes),
    /// Byte-identical to the previous body of this URL: nothing to do.
    Unchanged,
}

/// One agent's HTTP client: its own breaker, its own memory of previous bodies.
pub struct HttpClient {
    client: reqwest::Client,
    config: HttpConfig,
    breaker: CircuitBreaker,
    last_body: HashMap<String, Bytes>,
}

impl HttpClient {
    /// A client with `config`'s timeout and limits.
    pub fn new(config: &HttpConfig) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("cryptoviz/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Other(e.without_url().to_string()))?;
        Ok(Self {
            client,
            config: config.clone(),
            breaker: CircuitBreaker::new(config.breaker_failures, config.breaker_cooldown),
            last_body: HashMap::new(),
        })
    }

    /// The breaker's current state.
    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// Forgets the previous body of `url`, so the next identical body counts as new (called
    /// when a body could not be handled, e.g. the log refused it).
    pub fn forget(&mut self, url: &str) {
        self.last_body.remove(url);
    }

    /// GETs `url` with `headers`, retrying retryable failures with back-off; one call counts
    /// once for the breaker. Returns [`Fetched::Unchanged`] when the body equals the previous
    /// body of the same URL.
    pub async fn get(
        &mut self,
        url: &str,
        headers: &[(&str, &str)],
        shutdown: &CancellationToken,
    ) -> Result<Fetched, FetchError> {
        if !self.breaker.allow() {
            return Err(FetchError::BreakerOpen);
        }
        let max_retry_after = self.config.max_retry_after;
        let attempts = (|| self.get_once(url, headers))
            .retry(self.retry_policy())
            // A `Retry-After` longer than configured is the server's "not now": give up.
            .when(|e| e.is_retryable() && e.retry_after().is_none_or(|a| a <= max_retry_after))
            .adjust(|e, backoff| backoff.map(|b| e.retry_after().unwrap_or(b)))
            .notify(|e, wait| {
                tracing::debug!(error = %e, wait_ms = wait.as_millis() as u64, "retrying");
            });
        let result = tokio::select! {
            _ = shutdown.cancelled() => return Err(FetchError::Cancelled),
            r = attempts => r,
        };
        match result {
            Ok(body) => {
                self.breaker.on_success();
                if self.last_body.get(url) == Some(&body) {
                    return Ok(Fetched::Unchanged);
                }
                self.last_body.insert(url.to_string(), body.clone());
                Ok(Fetched::New(body))
            }
            // An oversized body is an answer, not an outage.
            Err(e @ FetchError::TooLarge { .. }) => Err(e),
            Err(e) => {
                self.breaker.on_failure();
                Err(e)
            }
        }
    }

    /// `backoff` doubling per retry (capped at 60 s) plus up to 100 % jitter, at most
    /// `retries` retries.
    fn retry_policy(&self) -> ExponentialBuilder {
        ExponentialBuilder::new()
            .with_min_delay(self.config.backoff)
            .with_max_delay(Duration::from_secs(60))
            .with_jitter()
            .with_max_times(self.config.retries as usize)
    }

    async fn get_once(&self, url: &str, headers: &[(&str, &str)]) -> Result<Bytes, FetchError> {
        let mut request = self.client.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request.send().await.map_err(FetchError::from_reqwest)?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after,
            });
        }
        let limit = self.config.max_response_bytes;
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(FetchError::TooLarge {
                limit,
                prefix: Bytes::new(),
            });
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(FetchError::from_reqwest)? {
            if body.len() + chunk.len() > limit {
                body.extend_from_slice(&chunk);
                body.truncate(4096);
                return Err(FetchError::TooLarge {
                    limit,
                    prefix: body.freeze(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }
}
