//! Prometheus metrics in the text exposition format: request latency histograms recorded by a
//! middleware, and the pipeline's counters read from the stages' status at scrape time.
//! Labels are low-cardinality by construction: routes are the matched templates
//! (`/api/v1/coins/{id}`), never raw paths.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cryptoviz_log::Log;
use parking_lot::Mutex;
use serde_json::Value;

use crate::model::Health;

/// A function returning a JSON view of the pipeline's live status (sources and consumers);
/// the binary that wires the stages provides it.
pub type StatusFn = Arc<dyn Fn() -> Value + Send + Sync>;

/// Upper bounds (seconds) of the latency buckets.
const BUCKETS: [f64; 14] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Request latency per route, then per (method, status). Looking a series up allocates
/// nothing once it exists (this runs on every request).
#[derive(Default)]
pub struct HttpMetrics {
    series: Mutex<HashMap<String, Vec<MethodStatus>>>,
}

/// One (method, status) series of a route.
type MethodStatus = (String, u16, Histogram);

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpMetrics")
    }
}

impl HttpMetrics {
    /// Records one request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut series = self.series.lock();
        if !series.contains_key(route) {
            series.insert(route.to_string(), Vec::new());
        }
        let by_route = series.get_mut(route).expect("inserted above");
        let i = match by_route
            .iter()
            .position(|(m, s, _)| m == method && *s == status)
        {
            Some(i) => i,
            None => {
                by_route.push((method.to_string(), status, Histogram::default()));
                by_route.len() - 1
            }
        };
        let h = &mut by_route[i].2;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// Writes the latency histograms.
    pub fn render(&self, out: &mut String) {
        let series: BTreeMap<(String, String, u16), Histogram> = self
            .series
            .lock()
            .iter()
            .flat_map(|(route, v)| {
                v.iter()
                    .map(move |(m, s, h)| ((m.clone(), route.clone(), *s), h.clone()))
            })
            .collect();
        out.push_str(
            "# HELP cryptoviz_http_request_duration_seconds Time to answer an API request.\n",
        );
        out.push_str("# TYPE cryptoviz_http_request_duration_seconds histogram\n");
        for ((method, route, status), h) in series {
            let labels = format!(
                "method=\"{method}\",route=\"{}\",status=\"{status}\"",
                escape(&route)
            );
            for (bound, count) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "cryptoviz_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "cryptoviz_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "cryptoviz_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "cryptoviz_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
    }
}

/// Middleware recording each request's latency under its route template.
pub async fn record(
    State(metrics): State<Arc<HttpMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    metrics.observe(
        method.as_str(),
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes one metric family.
pub fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, f64)]) {
    if samples.is_empty() {
        return;
    }
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

/// Consumer lag: per group and topic, records appended but not yet committed.
pub type Lag = Vec<(String, String, u64)>;

/// Records appended but not committed, per consumer group and topic (a group or topic the
/// log does not answer for within a second is left out).
pub async fn consumer_lag(log: &dyn Log, groups: &[(String, Vec<String>)]) -> Lag {
    let mut lag = Vec::new();
    for (group, group_topics) in groups {
        for topic in group_topics {
            let (Ok(Ok(ends)), Ok(Ok(committed))) = (
                tokio::time::timeout(Duration::from_secs(1), log.offsets(topic)).await,
                tokio::time::timeout(Duration::from_secs(1), log.group_offsets(group, topic)).await,
            ) else {
                continue;
            };
            let behind: u64 = ends
                .iter()
                .zip(committed.iter().chain(std::iter::repeat(&None)))
                .map(|((start, end), c)| end - c.as_ref().map_or(*start, |c| c.offset).min(*end))
                .sum();
            lag.push((group.clone(), topic.clone(), behind));
        }
    }
    lag
}

/// The pipeline's families: the producers' and consumers' counters in `status`
/// (`{sources: [...], consumers: {group: stats}}`, either may be absent) and consumer lag.
pub fn render_pipeline(out: &mut String, status: &Value, lag: &Lag) {
    let now_s = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;

    let sources = status["sources"].as_array().cloned().unwrap_or_default();
    let by_source = |key: &str| -> Vec<(String, f64)> {
        sources
            .iter()
            .filter_map(|s| {
                let name = s["name"].as_str()?;
                Some((format!("source=\"{}\"", escape(name)), s[key].as_f64()?))
            })
            .collect()
    };
    family(
        out,
        "cryptoviz_source_published_total",
        "counter",
        "Records a producer appended to its topic.",
        &by_source("published"),
    );
    family(
        out,
        "cryptoviz_source_rejected_total",
        "counter",
        "Records a producer sent to the DLQ because they failed validation.",
        &by_source("rejected"),
    );
    let last_success: Vec<(String, f64)> = by_source("last_success_ms")
        .into_iter()
        .map(|(l, ms)| (l, ms / 1000.0))
        .collect();
    family(
        out,
        "cryptoviz_source_last_success_timestamp_seconds",
        "gauge",
        "When a producer last published.",
        &last_success,
    );
    let breakers: Vec<(String, f64)> = sources
        .iter()
        .filter_map(|s| {
            let name = s["name"].as_str()?;
            let current = s["breaker"].as_str()?;
            Some(["closed", "open", "half-open"].map(|state| {
                (
                    format!("source=\"{}\",state=\"{state}\"", escape(name)),
                    f64::from(u8::from(state == current)),
                )
            }))
        })
        .flatten()
        .collect();
    family(
        out,
        "cryptoviz_source_breaker_state",
        "gauge",
        "1 for the current state of a producer's circuit breaker.",
        &breakers,
    );

    let consumers = status["consumers"].as_object().cloned().unwrap_or_default();
    let by_group = |key: &str, scale: f64| -> Vec<(String, f64)> {
        consumers
            .iter()
            .filter_map(|(group, c)| {
                Some((
                    format!("group=\"{}\"", escape(group)),
                    c[key].as_f64()? * scale,
                ))
            })
            .collect()
    };
    for (key, help) in [
        ("ticks", "Price ticks decoded and stored."),
        ("records", "News and sentiment records stored."),
        (
            "dead_letters",
            "Records sent to the DLQ because they did not decode.",
        ),
        ("windows", "Window emissions written."),
        ("anomalies", "Anomaly episode updates written."),
        ("late_rows", "Ticks that arrived after their window closed."),
        (
            "commits",
            "Offset commits, each after a store acknowledgement.",
        ),
        ("store_retries", "Store writes retried."),
        (
            "duplicates",
            "Records a source sent twice (same bytes, same coin and millisecond), counted once.",
        ),
        (
            "restarts",
            "Rebuilds from the last commit after a retryable error.",
        ),
    ] {
        family(
            out,
            &format!("cryptoviz_consumer_{key}_total"),
            "counter",
            help,
            &by_group(key, 1.0),
        );
    }
    let up: Vec<(String, f64)> = consumers
        .iter()
        .filter_map(|(group, c)| {
            let state = c["state"].as_str()?;
            let up = if state == "failed" { 0.0 } else { 1.0 };
            Some((format!("group=\"{}\"", escape(group)), up))
        })
        .collect();
    family(
        out,
        "cryptoviz_consumer_up",
        "gauge",
        "0 once a consumer has failed for good (it consumes nothing until restarted), else 1.",
        &up,
    );
    family(
        out,
        "cryptoviz_consumer_watermark_timestamp_seconds",
        "gauge",
        "Event time up to which windows are closed.",
        &by_group("closed_until_ms", 0.001),
    );
    let behind: Vec<(String, f64)> = by_group("closed_until_ms", 0.001)
        .into_iter()
        .map(|(l, t)| (l, (now_s - t).max(0.0)))
        .collect();
    family(
        out,
        "cryptoviz_consumer_watermark_lag_seconds",
        "gauge",
        "Wall time minus the event-time watermark: how late closed windows are emitted.",
        &behind,
    );
    let mut emit = String::new();
    for (group, c) in &consumers {
        let h = &c["window_emit_latency"];
        let (Some(buckets), Some(count), Some(sum)) = (
            h["buckets"].as_array(),
            h["count"].as_u64(),
            h["sum_seconds"].as_f64(),
        ) else {
            continue;
        };
        let g = escape(group);
        for (bound, n) in cryptoviz_measurements::status::EMIT_LATENCY_BUCKETS
            .iter()
            .zip(buckets)
        {
            let _ = writeln!(
                emit,
                "cryptoviz_window_emit_latency_seconds_bucket{{group=\"{g}\",le=\"{bound}\"}} {}",
                n.as_u64().unwrap_or(0)
            );
        }
        let _ = writeln!(
            emit,
            "cryptoviz_window_emit_latency_seconds_bucket{{group=\"{g}\",le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            emit,
            "cryptoviz_window_emit_latency_seconds_sum{{group=\"{g}\"}} {sum}"
        );
        let _ = writeln!(
            emit,
            "cryptoviz_window_emit_latency_seconds_count{{group=\"{g}\"}} {count}"
        );
    }
    if !emit.is_empty() {
        out.push_str("# HELP cryptoviz_window_emit_latency_seconds Wall time from a window's end to its closed row being stored.\n# TYPE cryptoviz_window_emit_latency_seconds histogram\n");
        out.push_str(&emit);
    }
    let lag: Vec<(String, f64)> = lag
        .iter()
        .map(|(g, t, n)| {
            (
                format!("group=\"{}\",topic=\"{}\"", escape(g), escape(t)),
                *n as f64,
            )
        })
        .collect();
    family(
        out,
        "cryptoviz_consumer_lag_records",
        "gauge",
        "Records appended to a topic and not yet committed by the group.",
        &lag,
    );
}

/// A body in the text exposition format.
pub fn exposition(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// Consumer groups (with their topics) whose lag a process reports, and the log to ask.
pub type LagSource = (Arc<dyn Log>, Vec<(String, Vec<String>)>);

/// `/metrics` and `/health` of a process that runs pipeline stages without the API
/// (`cryptoviz produce` and `cryptoviz consume` with `--metrics-listen`): in the distributed
/// mode Prometheus scrapes each process for what it runs, as it scrapes the API for the rest.
pub fn exporter(status: StatusFn, lag: Option<LagSource>) -> Router {
    let started = Instant::now();
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let status = status.clone();
                let lag = lag.clone();
                async move {
                    let lag = match &lag {
                        Some((log, groups)) => consumer_lag(log.as_ref(), groups).await,
                        None => Vec::new(),
                    };
                    let mut out = String::new();
                    render_pipeline(&mut out, &status(), &lag);
                    exposition(out)
                }
            }),
        )
        .route(
            "/health",
            get(move || async move {
                axum::Json(Health {
                    status: "ok".into(),
                    uptime_seconds: started.elapsed().as_secs_f64(),
                })
            }),
        )
}
