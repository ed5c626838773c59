//! HTTP side of the InfluxDB store: writes with gzip and retries, InfluxQL queries, ping.

use std::io::Write as _;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use flate2::Compression;
use flate2::write::GzEncoder;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use serde::Deserialize;
use tracing::warn;

use super::config::{InfluxApi, InfluxConfig, redact_url};
use crate::error::{Error, Result};

/// One series of an InfluxQL result.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Series {
    /// Measurement (or `measurements` for `SHOW MEASUREMENTS`).
    #[serde(default)]
    #[allow(dead_code)]
    pub name: String,
    /// Tag set of the series when grouped by tags.
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
    /// Column names; `time` first for selects.
    #[serde(default)]
    pub columns: Vec<String>,
    /// Rows.
    #[serde(default)]
    pub values: Vec<Vec<serde_json::Value>>,
}

#[derive(Debug, Deserialize)]
struct StatementResult {
    #[serde(default)]
    series: Vec<Series>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct QueryResponse {
    #[serde(default)]
    results: Vec<StatementResult>,
    #[serde(default)]
    error: Option<String>,
}

/// Outcome of one write attempt that did not succeed.
enum Failure {
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    Permanent(Error),
}

/// Thin client over InfluxDB's HTTP API.
pub(crate) struct Client {
    http: reqwest::Client,
    cfg: InfluxConfig,
    base: String,
    /// Whether write bodies are gzipped ([`InfluxConfig::gzip_bodies`]).
    gzip: bool,
}

impl Client {
    pub(crate) fn new(cfg: InfluxConfig) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .build()
            .map_err(|e| Error::Config {
                key: "store.influxdb",
                reason: format!("cannot build the HTTP client: {e}"),
            })?;
        let base = cfg.url.trim().trim_end_matches('/').to_owned();
        let gzip = cfg.gzip_bodies();
        Ok(Client {
            http,
            cfg,
            base,
            gzip,
        })
    }

    fn auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if let Some(token) = &self.cfg.token {
            rb.header(AUTHORIZATION, format!("Token {token}"))
        } else if let Some(user) = &self.cfg.username {
            rb.basic_auth(user, self.cfg.password.as_deref())
        } else {
            rb
        }
    }

    /// Sends a line-protocol body of `points` lines and waits for the 204, retrying 429, 5xx
    /// and connection errors with exponential back-off. Exhausting the retry budget yields
    /// [`Error::Unavailable`] (retryable); a rejected body yields a permanent error carrying
    /// InfluxDB's message.
    pub(crate) async fn write_body(&self, body: String, points: usize, what: &str) -> Result<()> {
        let body = body.into_bytes();
        let body = if self.gzip {
            let mut enc = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::fast());
            enc.write_all(&body)
                .and_then(|()| enc.finish())
                .map_err(|e| Error::Task(format!("gzip of a write body failed: {e}")))?
        } else {
            body
        };
        let body = bytes::Bytes::from(body);
        let retry = &self.cfg.retry;
        let started = Instant::now();
        let mut attempt = 0u32;
        let policy = ExponentialBuilder::new()
            .with_min_delay(retry.initial_backoff)
            .with_max_delay(retry.max_backoff)
            .without_max_times();
        let result = (|| {
            attempt += 1;
            self.write_once(body.clone(), what)
        })
        .retry(policy)
        .when(|f| matches!(f, Failure::Retry { .. }))
        // The server's `Retry-After` wins over the back-off (both capped at `max_backoff`);
        // a wait that would end past `max_elapsed` ends the retries instead.
        .adjust(|f, backoff| {
            let after = match f {
                Failure::Retry { retry_after, .. } => *retry_after,
                Failure::Permanent(_) => None,
            };
            let wait = after.or(backoff)?.min(retry.max_backoff);
            (started.elapsed() + wait <= retry.max_elapsed).then_some(wait)
        })
        .notify(|f, wait| {
            if let Failure::Retry { reason, .. } = f {
                warn!(wait_ms = wait.as_millis() as u64, %reason, "influxdb write failed; retrying");
            }
        })
        .await;
        match result {
            Ok(()) => Ok(()),
            Err(Failure::Permanent(e)) => Err(e),
            Err(Failure::Retry { reason, .. }) => Err(Error::Unavailable(format!(
                "influxdb write of {points} points ({what}) failed {attempt} times in {:?}: {reason}",
                started.elapsed()
            ))),
        }
    }

    async fn write_once(&self, body: bytes::Bytes, what: &str) -> Result<(), Failure> {
        let (url, params): (String, Vec<(&str, &str)>) = match &self.cfg.api {
            InfluxApi::V1 => (
                format!("{}/write", self.base),
                vec![("db", self.cfg.database.as_str()), ("precision", "ns")],
            ),
            InfluxApi::V2 { org, bucket } => (
                format!("{}/api/v2/write", self.base),
                vec![
                    ("org", org.as_str()),
                    ("bucket", bucket.as_str()),
                    ("precision", "ns"),
                ],
            ),
        };
        let mut rb = self
            .http
            .post(url)
            .query(&params)
            .header(CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(body);
        if self.gzip {
            rb = rb.header(CONTENT_ENCODING, "gzip");
        }
        let resp = match self.auth(rb).send().await {
            Ok(r) => r,
            Err(e) => {
                return Err(Failure::Retry {
                    reason: format!("request to {} failed: {e}", redact_url(&self.base)),
                    retry_after: None,
                });
            }
        };
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let msg = error_message(resp).await;
        let reason = format!("HTTP {status}: {msg}");
        if status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
            || status.is_server_error()
        {
            return Err(Failure::Retry {
                reason,
                retry_after,
            });
        }
        Err(Failure::Permanent(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Error::Config {
                key: "store.influxdb.token",
                reason: format!("InfluxDB refused the credentials: {reason}"),
            },
            StatusCode::NOT_FOUND => Error::Config {
                key: "store.influxdb.database",
                reason: format!("InfluxDB has no such database/bucket: {reason}"),
            },
            _ => Error::InvalidBatch {
                measurement: what.to_owned(),
                reason: format!("InfluxDB rejected the write: {reason}"),
            },
        }))
    }

    /// Runs one InfluxQL statement (`POST /query`, `epoch=ns`) and returns its series. A
    /// statement InfluxDB rejects is [`Error::InvalidQuery`]; an unreachable server or a 5xx
    /// is [`Error::Unavailable`]. A missing database reads as no series.
    pub(crate) async fn query(&self, q: &str) -> Result<Vec<Series>> {
        let rb = self
            .http
            .post(format!("{}/query", self.base))
            .query(&[("db", self.cfg.database.as_str()), ("epoch", "ns")])
            .form(&[("q", q)]);
        let resp = self.auth(rb).send().await.map_err(|e| {
            Error::Unavailable(format!(
                "influxdb query to {} failed: {e}",
                redact_url(&self.base)
            ))
        })?;
        let status = resp.status();
        if !status.is_success() {
            let msg = error_message(resp).await;
            return Err(
                if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                    Error::Unavailable(format!("influxdb query: HTTP {status}: {msg}"))
                } else if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                    Error::Config {
                        key: "store.influxdb.token",
                        reason: format!("InfluxDB refused the credentials: {msg}"),
                    }
                } else {
                    Error::InvalidQuery(format!("InfluxDB rejected `{q}`: {msg}"))
                },
            );
        }
        let body: QueryResponse = resp
            .json()
            .await
            .map_err(|e| Error::Unavailable(format!("influxdb query: unreadable response: {e}")))?;
        if let Some(e) = body.error {
            return Err(Error::InvalidQuery(format!("InfluxDB rejected `{q}`: {e}")));
        }
        let mut series = Vec::new();
        for r in body.results {
            if let Some(e) = r.error {
                if e.starts_with("database not found") {
                    return Ok(Vec::new());
                }
                return Err(Error::InvalidQuery(format!("InfluxDB rejected `{q}`: {e}")));
            }
            series.extend(r.series);
        }
        Ok(series)
    }

    /// `GET /ping`, expecting 204.
    pub(crate) async fn ping(&self) -> Result<()> {
        let resp = self
            .auth(self.http.get(format!("{}/ping", self.base)))
            .send()
            .await
            .map_err(|e| {
                Error::Unavailable(format!(
                    "influxdb ping to {} failed: {e}",
                    redact_url(&self.base)
                ))
            })?;
        match resp.status() {
            StatusCode::NO_CONTENT | StatusCode::OK => Ok(()),
            s => Err(Error::Unavailable(format!("influxdb ping: HTTP {s}"))),
        }
    }
}

/// InfluxDB's error message: the `error` of its JSON body, else the raw body.
async fn error_message(resp: reqwest::Response) -> String {
    let header = resp
        .headers()
        .get("X-Influxdb-Error")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = resp.text().await.unwrap_or_default();
    #[derive(Deserialize)]
    struct E {
        error: Option<String>,
        message: Option<String>,
    }
    match serde_json::from_str::<E>(&text) {
        Ok(E { error: Some(e), .. })
        | Ok(E {
            message: Some(e), ..
        }) => e,
        _ if !text.trim().is_empty() => text.trim().chars().take(500).collect(),
        _ => header.unwrap_or_else(|| "(no message)".into()),
    }
}
