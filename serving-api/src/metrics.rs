//! Prometheus metrics with `prometheus-client`, in the text exposition format (0.0.4).
//!
//! - Request latency: a histogram family per (method, route, status), recorded by the
//!   [`record`] middleware ([`HttpMetrics`]). Routes are the matched templates
//!   (`/api/v1/coins/{id}`), never raw paths, so labels stay low-cardinality.
//! - The pipeline stages' counters: a [`Collector`] the binary that wires the stages provides
//!   ([`StageMetrics`]), encoded at scrape time from the stages' typed counters with the
//!   helpers here ([`counters`], [`gauges`], [`histograms`]); the API knows neither the
//!   producers nor the consumers.
//! - Consumer lag, read from the log at scrape time ([`consumer_lag`], [`ConsumerLag`]).
//!
//! The API process and the stage-only processes (`cryptoviz produce|consume
//! --metrics-listen`, [`exporter`]) encode with the same code.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cryptoviz_log::Log;
use prometheus_client::encoding::{EncodeLabelSet, NoLabelSet, prometheus_text};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serde_json::Value;

pub use prometheus_client::collector::Collector;
pub use prometheus_client::encoding::DescriptorEncoder;

use crate::model::Health;

/// A function returning a JSON view of the pipeline's live status (sources and consumers),
/// for `/api/v1/status`; the binary that wires the stages provides it.
pub type StatusFn = Arc<dyn Fn() -> Value + Send + Sync>;

/// The pipeline stages' metrics, encoded on each scrape from their counters; the binary
/// that wires the stages provides it.
pub type StageMetrics = Arc<dyn Collector>;

/// [`StageMetrics`] of a process that runs no stage.
pub fn no_stages() -> StageMetrics {
    Arc::new(NoStages)
}

#[derive(Debug)]
struct NoStages;

impl Collector for NoStages {
    fn encode(&self, _: DescriptorEncoder<'_>) -> std::fmt::Result {
        Ok(())
    }
}

/// A shared [`StageMetrics`], registered in a scrape's registry.
#[derive(Debug)]
struct Stages(StageMetrics);

impl Collector for Stages {
    fn encode(&self, encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        self.0.encode(encoder)
    }
}

/// Upper bounds (seconds) of the latency buckets.
const BUCKETS: [f64; 14] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Labels of one request-latency series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// Request latency per (method, route, status).
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Histogram, fn() -> Histogram>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics {
            requests: Family::new_with_constructor(latency_histogram),
        }
    }
}

impl HttpMetrics {
    /// Records one request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let labels = RequestLabels {
            method: method.to_owned(),
            route: route.to_owned(),
            status,
        };
        self.requests.get_or_create(&labels).observe(seconds);
    }

    /// Adds the latency histograms to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "cryptoviz_http_request_duration_seconds",
            "Time to answer an API request",
            self.requests.clone(),
        );
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

/// Writes a family of counters (`name` without `_total`, which the encoder appends); an
/// empty family is left out.
pub fn counters<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    samples: &[(L, u64)],
) -> std::fmt::Result {
    if samples.is_empty() {
        return Ok(());
    }
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in samples {
        family
            .encode_family(labels)?
            .encode_counter::<NoLabelSet, _, f64>(value, None)?;
    }
    Ok(())
}

/// Writes a family of gauges; an empty family is left out.
pub fn gauges<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    samples: &[(L, f64)],
) -> std::fmt::Result {
    if samples.is_empty() {
        return Ok(());
    }
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in samples {
        family.encode_family(labels)?.encode_gauge(value)?;
    }
    Ok(())
}

/// A histogram kept elsewhere as cumulative counts per upper bound (Prometheus style).
#[derive(Debug, Clone, Copy)]
pub struct CumulativeHistogram<'a> {
    /// Upper bounds of the buckets.
    pub bounds: &'a [f64],
    /// Observations ≤ each bound.
    pub cumulative: &'a [u64],
    /// Observations in all.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
}

/// Writes a family of histograms; an empty family is left out.
pub fn histograms<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    samples: &[(L, CumulativeHistogram<'_>)],
) -> std::fmt::Result {
    if samples.is_empty() {
        return Ok(());
    }
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Histogram)?;
    for (labels, h) in samples {
        // The encoder takes per-bucket counts and accumulates them itself.
        let mut below = 0;
        let buckets: Vec<(f64, u64)> = h
            .bounds
            .iter()
            .zip(h.cumulative)
            .map(|(bound, &n)| {
                let bucket = (*bound, n.saturating_sub(below));
                below = below.max(n);
                bucket
            })
            .collect();
        family
            .encode_family(labels)?
            .encode_histogram::<NoLabelSet>(h.sum, h.count, &buckets, None)?;
    }
    Ok(())
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

/// Consumer lag read at scrape time, as a collector.
#[derive(Debug, Default)]
pub struct ConsumerLag(pub Lag);

impl Collector for ConsumerLag {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let samples: Vec<_> = self
            .0
            .iter()
            .map(|(group, topic, n)| {
                (
                    [("group", group.as_str()), ("topic", topic.as_str())],
                    *n as f64,
                )
            })
            .collect();
        gauges(
            &mut encoder,
            "cryptoviz_consumer_lag_records",
            "Records appended to a topic and not yet committed by the group.",
            &samples,
        )
    }
}

/// A scrape's registry: the stages' metrics and consumer lag (the API adds its own).
pub fn scrape_registry(stages: &StageMetrics, lag: Lag) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Stages(stages.clone())));
    registry.register_collector(Box::new(ConsumerLag(lag)));
    registry
}

/// `registry` in the text exposition format.
pub fn exposition(registry: &Registry) -> Response {
    let mut body = String::new();
    if let Err(e) = prometheus_text::encode(&mut body, registry) {
        tracing::error!(error = %e, "encoding the metrics failed");
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
        body,
    )
        .into_response()
}

/// Consumer groups (with their topics) whose lag a process reports, and the log to ask.
pub type LagSource = (Arc<dyn Log>, Vec<(String, Vec<String>)>);

/// `/metrics` and `/health` of a process that runs pipeline stages without the API
/// (`cryptoviz produce` and `cryptoviz consume` with `--metrics-listen`): in the distributed
/// mode Prometheus scrapes each process for what it runs, as it scrapes the API for the rest.
pub fn exporter(stages: StageMetrics, lag: Option<LagSource>) -> Router {
    let started = Instant::now();
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let stages = stages.clone();
                let lag = lag.clone();
                async move {
                    let lag = match &lag {
                        Some((log, groups)) => consumer_lag(log.as_ref(), groups).await,
                        None => Vec::new(),
                    };
                    exposition(&scrape_registry(&stages, lag))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A collector writing one family of each kind, as the binary's stage collector does.
    #[derive(Debug)]
    struct Sample;

    impl Collector for Sample {
        fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
            counters(
                &mut encoder,
                "t_published",
                "Published.",
                &[([("source", "a\"b")], 3)],
            )?;
            gauges(&mut encoder, "t_up", "Up.", &[([("group", "prices")], 1.0)])?;
            gauges::<[(&str, &str); 1]>(&mut encoder, "t_empty", "Never written.", &[])?;
            let h = CumulativeHistogram {
                bounds: &[0.1, 1.0],
                cumulative: &[2, 5],
                count: 6,
                sum: 4.5,
            };
            histograms(
                &mut encoder,
                "t_latency_seconds",
                "Latency.",
                &[([("group", "g")], h)],
            )
        }
    }

    fn text(registry: &Registry) -> String {
        let mut out = String::new();
        prometheus_text::encode(&mut out, registry).unwrap();
        out
    }

    #[test]
    fn collector_families_encode_as_prometheus_text() {
        let stages: StageMetrics = Arc::new(Sample);
        let out = text(&scrape_registry(&stages, vec![("g".into(), "t".into(), 7)]));
        assert!(out.contains("# TYPE t_published_total counter\n"), "{out}");
        assert!(
            out.contains("t_published_total{source=\"a\\\"b\"} 3\n"),
            "{out}"
        );
        assert!(out.contains("t_up{group=\"prices\"} 1.0\n"), "{out}");
        assert!(
            !out.contains("t_empty"),
            "an empty family is left out: {out}"
        );
        // Cumulative counts in, cumulative counts out (the encoder accumulates per-bucket
        // counts, so they are handed over as differences).
        for line in [
            "t_latency_seconds_bucket{group=\"g\",le=\"0.1\"} 2\n",
            "t_latency_seconds_bucket{group=\"g\",le=\"1\"} 5\n",
            "t_latency_seconds_bucket{group=\"g\",le=\"+Inf\"} 6\n",
            "t_latency_seconds_sum{group=\"g\"} 4.5\n",
            "t_latency_seconds_count{group=\"g\"} 6\n",
            "cryptoviz_consumer_lag_records{group=\"g\",topic=\"t\"} 7.0\n",
        ] {
            assert!(out.contains(line), "missing {line:?} in:\n{out}");
        }
    }

    #[test]
    fn request_latency_is_one_histogram_per_route_method_and_status() {
        let http = HttpMetrics::default();
        http.observe("GET", "/api/v1/coins/{id}", 200, 0.003);
        http.observe("GET", "/api/v1/coins/{id}", 200, 2.0);
        http.observe("GET", "/api/v1/coins/{id}", 404, 0.001);
        let mut registry = Registry::default();
        http.register(&mut registry);
        let out = text(&registry);
        let ok = "{method=\"GET\",route=\"/api/v1/coins/{id}\",status=\"200\"";
        assert!(
            out.contains(&format!(
                "cryptoviz_http_request_duration_seconds_count{ok}}} 2\n"
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "cryptoviz_http_request_duration_seconds_bucket{ok},le=\"0.005\"}} 1\n"
            )),
            "{out}"
        );
        assert!(out.contains("status=\"404\"} 1\n"), "{out}");
    }
}
