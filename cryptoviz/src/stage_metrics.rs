//! The stages' Prometheus metrics: a `prometheus-client` collector over the producers' and
//! consumers' typed counters, encoded on each scrape. The API process (`run`) and the
//! stage-only processes (`produce`, `consume` with `--metrics-listen`) register the same
//! collector, each with the stages it runs.

use std::fmt;
use std::sync::Arc;

use cryptoviz_api::metrics::{
    Collector, CumulativeHistogram, DescriptorEncoder, counters, gauges, histograms,
};
use cryptoviz_consumers::stats::{ConsumerState, EMIT_LATENCY_BUCKETS, StatsSnapshot};
use cryptoviz_producers::{SourceStatus, StatusSnapshot, StreamSnapshot};

use crate::stages::ConsumerHandles;

/// The counters of the stages one process runs.
#[derive(Debug, Clone, Default)]
pub(crate) struct StageCollector {
    /// The sources (producers) of this process.
    pub sources: Vec<Arc<SourceStatus>>,
    /// The consumer groups of this process.
    pub consumers: Option<ConsumerHandles>,
}

impl StageCollector {
    /// As the API's [`cryptoviz_api::StageMetrics`].
    pub(crate) fn shared(self) -> cryptoviz_api::StageMetrics {
        Arc::new(self)
    }
}

impl Collector for StageCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let sources: Vec<StatusSnapshot> = self.sources.iter().map(|s| s.snapshot()).collect();
        let by_name: Vec<(&str, &StatusSnapshot)> =
            sources.iter().map(|s| (s.name.as_str(), s)).collect();
        encode_sources(&mut encoder, &by_name)?;
        let streams: Vec<(&str, StreamSnapshot)> = sources
            .iter()
            .filter_map(|s| Some((s.name.as_str(), s.stream?)))
            .collect();
        encode_streams(&mut encoder, &streams)?;
        if let Some(handles) = &self.consumers {
            let groups: Vec<(&str, StatsSnapshot)> = handles
                .groups()
                .into_iter()
                .map(|(group, stats)| (group, stats.snapshot()))
                .collect();
            encode_consumers(&mut encoder, &groups)?;
        }
        Ok(())
    }
}

type Label<'a> = [(&'static str, &'a str); 1];

/// A family read from snapshots: name (after the prefix), help, value.
type FamilyOf<T, V> = (&'static str, &'static str, fn(&T) -> V);

/// One counter family per entry of `families`, a sample per labelled snapshot in `items`.
fn counter_families<T>(
    encoder: &mut DescriptorEncoder<'_>,
    prefix: &str,
    label: &'static str,
    items: &[(&str, T)],
    families: &[FamilyOf<T, u64>],
) -> fmt::Result {
    for (name, help, value) in families {
        let samples: Vec<(Label<'_>, u64)> = items
            .iter()
            .map(|(l, s)| ([(label, *l)], value(s)))
            .collect();
        counters(encoder, &format!("{prefix}_{name}"), help, &samples)?;
    }
    Ok(())
}

/// One gauge family per entry of `families`; a snapshot without a value is left out.
fn gauge_families<T>(
    encoder: &mut DescriptorEncoder<'_>,
    prefix: &str,
    label: &'static str,
    items: &[(&str, T)],
    families: &[FamilyOf<T, Option<f64>>],
) -> fmt::Result {
    for (name, help, value) in families {
        let samples: Vec<(Label<'_>, f64)> = items
            .iter()
            .filter_map(|(l, s)| Some(([(label, *l)], value(s)?)))
            .collect();
        gauges(encoder, &format!("{prefix}_{name}"), help, &samples)?;
    }
    Ok(())
}

fn seconds(ms: Option<i64>) -> Option<f64> {
    ms.map(|ms| ms as f64 / 1000.0)
}

fn flag(on: bool) -> f64 {
    f64::from(u8::from(on))
}

fn encode_sources(
    encoder: &mut DescriptorEncoder<'_>,
    sources: &[(&str, &StatusSnapshot)],
) -> fmt::Result {
    counter_families(
        encoder,
        "cryptoviz_source",
        "source",
        sources,
        &[
            (
                "published",
                "Records a producer appended to its topic.",
                |s| s.published,
            ),
            (
                "rejected",
                "Records a producer sent to the DLQ because they failed validation.",
                |s| s.rejected,
            ),
        ],
    )?;
    gauge_families(
        encoder,
        "cryptoviz_source",
        "source",
        sources,
        &[(
            "last_success_timestamp_seconds",
            "When a producer last published.",
            |s| seconds(s.last_success_ms),
        )],
    )?;
    let breakers: Vec<([(&str, &str); 2], f64)> = sources
        .iter()
        .filter_map(|(name, s)| Some((*name, s.breaker?.as_str())))
        .flat_map(|(name, current)| {
            ["closed", "open", "half-open"]
                .map(|state| ([("source", name), ("state", state)], flag(state == current)))
        })
        .collect();
    gauges(
        encoder,
        "cryptoviz_source_breaker_state",
        "1 for the current state of a producer's circuit breaker.",
        &breakers,
    )
}

fn encode_streams(
    encoder: &mut DescriptorEncoder<'_>,
    streams: &[(&str, StreamSnapshot)],
) -> fmt::Result {
    counter_families(
        encoder,
        "cryptoviz_exchange",
        "source",
        streams,
        &[
            (
                "reconnects",
                "Exchange WebSocket connections opened after the first.",
                |s| s.reconnects,
            ),
            (
                "gaps_filled",
                "Gaps in trade ids filled completely from the exchange's REST history.",
                |s| s.gaps_filled,
            ),
            (
                "gaps_unfillable",
                "Gaps in trade ids that could not be filled completely.",
                |s| s.gaps_unfillable,
            ),
            (
                "trades_filled",
                "Trades published from REST history to fill gaps.",
                |s| s.trades_filled,
            ),
            (
                "trades_missed",
                "Trades known to be missing (in unfillable gaps).",
                |s| s.trades_missed,
            ),
            (
                "duplicates_dropped",
                "Trades received again (by trade id) and dropped.",
                |s| s.duplicates_dropped,
            ),
            (
                "subscription_errors",
                "Subscriptions the exchange refused.",
                |s| s.subscription_errors,
            ),
        ],
    )?;
    gauge_families(
        encoder,
        "cryptoviz_exchange",
        "source",
        streams,
        &[
            (
                "connected",
                "1 while the exchange WebSocket is connected and subscribed.",
                |s| Some(flag(s.connected)),
            ),
            (
                "last_trade_timestamp_seconds",
                "Exchange time of the newest trade received.",
                |s| seconds(s.last_trade_ms),
            ),
        ],
    )
}

fn encode_consumers(
    encoder: &mut DescriptorEncoder<'_>,
    groups: &[(&str, StatsSnapshot)],
) -> fmt::Result {
    counter_families(
        encoder,
        "cryptoviz_consumer",
        "group",
        groups,
        &[
            ("ticks", "Price ticks decoded and stored.", |s| s.ticks),
            ("records", "News and sentiment records stored.", |s| {
                s.records
            }),
            (
                "dead_letters",
                "Records sent to the DLQ because they did not decode.",
                |s| s.dead_letters,
            ),
            ("windows", "Window emissions written.", |s| s.windows),
            ("anomalies", "Anomaly episode updates written.", |s| {
                s.anomalies
            }),
            (
                "late_rows",
                "Ticks that arrived after their window closed.",
                |s| s.late_rows,
            ),
            (
                "commits",
                "Offset commits, each after a store acknowledgement.",
                |s| s.commits,
            ),
            ("store_retries", "Store writes retried.", |s| {
                s.store_retries
            }),
            (
                "duplicates",
                "Records a source sent twice (same bytes, same coin and millisecond), counted once.",
                |s| s.duplicates,
            ),
            (
                "restarts",
                "Rebuilds from the last commit after a retryable error.",
                |s| s.restarts,
            ),
        ],
    )?;
    gauge_families(
        encoder,
        "cryptoviz_consumer",
        "group",
        groups,
        &[
            (
                "up",
                "0 once a consumer has failed for good (it consumes nothing until restarted), else 1.",
                |s| Some(flag(s.state != ConsumerState::Failed)),
            ),
            (
                "watermark_timestamp_seconds",
                "Event time up to which windows are closed.",
                |s| seconds(s.closed_until_ms),
            ),
            (
                "watermark_lag_seconds",
                "Wall time minus the event-time watermark: how late closed windows are emitted.",
                |s| {
                    let now_s = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
                    seconds(s.closed_until_ms).map(|t| (now_s - t).max(0.0))
                },
            ),
        ],
    )?;
    let emit: Vec<(Label<'_>, CumulativeHistogram<'_>)> = groups
        .iter()
        .filter(|(_, s)| !s.window_emit_latency.buckets.is_empty())
        .map(|(group, s)| {
            let h = &s.window_emit_latency;
            let histogram = CumulativeHistogram {
                bounds: &EMIT_LATENCY_BUCKETS,
                cumulative: &h.buckets,
                count: h.count,
                sum: h.sum_seconds,
            };
            ([("group", *group)], histogram)
        })
        .collect();
    histograms(
        encoder,
        "cryptoviz_window_emit_latency_seconds",
        "Wall time from a window's end to its closed row being stored.",
        &emit,
    )
}
