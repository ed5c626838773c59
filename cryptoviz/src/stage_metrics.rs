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
        encode_sources(&mut encoder, &sources)?;
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

/// A counter family read from a snapshot: name (after the prefix), help, value.
type CounterOf<T> = (&'static str, &'static str, fn(&T) -> u64);

fn encode_sources(encoder: &mut DescriptorEncoder<'_>, sources: &[StatusSnapshot]) -> fmt::Result {
    let by_source = |value: fn(&StatusSnapshot) -> u64| -> Vec<(Label<'_>, u64)> {
        sources
            .iter()
            .map(|s| ([("source", s.name.as_str())], value(s)))
            .collect()
    };
    counters(
        encoder,
        "cryptoviz_source_published",
        "Records a producer appended to its topic.",
        &by_source(|s| s.published),
    )?;
    counters(
        encoder,
        "cryptoviz_source_rejected",
        "Records a producer sent to the DLQ because they failed validation.",
        &by_source(|s| s.rejected),
    )?;
    let last_success: Vec<(Label<'_>, f64)> = sources
        .iter()
        .filter_map(|s| {
            Some((
                [("source", s.name.as_str())],
                s.last_success_ms? as f64 / 1000.0,
            ))
        })
        .collect();
    gauges(
        encoder,
        "cryptoviz_source_last_success_timestamp_seconds",
        "When a producer last published.",
        &last_success,
    )?;
    let breakers: Vec<([(&str, &str); 2], f64)> = sources
        .iter()
        .filter_map(|s| Some((s.name.as_str(), s.breaker?.as_str())))
        .flat_map(|(name, current)| {
            ["closed", "open", "half-open"].map(|state| {
                (
                    [("source", name), ("state", state)],
                    f64::from(u8::from(state == current)),
                )
            })
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
    let by_exchange = |value: fn(&StreamSnapshot) -> u64| -> Vec<(Label<'_>, u64)> {
        streams
            .iter()
            .map(|(name, s)| ([("source", *name)], value(s)))
            .collect()
    };
    let families: [CounterOf<StreamSnapshot>; 7] = [
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
    ];
    for (name, help, value) in families {
        counters(
            encoder,
            &format!("cryptoviz_exchange_{name}"),
            help,
            &by_exchange(value),
        )?;
    }
    let connected: Vec<(Label<'_>, f64)> = streams
        .iter()
        .map(|(name, s)| ([("source", *name)], f64::from(u8::from(s.connected))))
        .collect();
    gauges(
        encoder,
        "cryptoviz_exchange_connected",
        "1 while the exchange WebSocket is connected and subscribed.",
        &connected,
    )?;
    let last_trade: Vec<(Label<'_>, f64)> = streams
        .iter()
        .filter_map(|(name, s)| Some(([("source", *name)], s.last_trade_ms? as f64 / 1000.0)))
        .collect();
    gauges(
        encoder,
        "cryptoviz_exchange_last_trade_timestamp_seconds",
        "Exchange time of the newest trade received.",
        &last_trade,
    )
}

fn encode_consumers(
    encoder: &mut DescriptorEncoder<'_>,
    groups: &[(&str, StatsSnapshot)],
) -> fmt::Result {
    let by_group = |value: fn(&StatsSnapshot) -> u64| -> Vec<(Label<'_>, u64)> {
        groups
            .iter()
            .map(|(group, s)| ([("group", *group)], value(s)))
            .collect()
    };
    let families: [CounterOf<StatsSnapshot>; 10] = [
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
    ];
    for (name, help, value) in families {
        counters(
            encoder,
            &format!("cryptoviz_consumer_{name}"),
            help,
            &by_group(value),
        )?;
    }
    let up: Vec<(Label<'_>, f64)> = groups
        .iter()
        .map(|(group, s)| {
            (
                [("group", *group)],
                f64::from(u8::from(s.state != ConsumerState::Failed)),
            )
        })
        .collect();
    gauges(
        encoder,
        "cryptoviz_consumer_up",
        "0 once a consumer has failed for good (it consumes nothing until restarted), else 1.",
        &up,
    )?;
    let watermark: Vec<(Label<'_>, f64)> = groups
        .iter()
        .filter_map(|(group, s)| Some(([("group", *group)], s.closed_until_ms? as f64 / 1000.0)))
        .collect();
    gauges(
        encoder,
        "cryptoviz_consumer_watermark_timestamp_seconds",
        "Event time up to which windows are closed.",
        &watermark,
    )?;
    let now_s = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    let behind: Vec<(Label<'_>, f64)> = watermark
        .iter()
        .map(|(labels, t)| (*labels, (now_s - t).max(0.0)))
        .collect();
    gauges(
        encoder,
        "cryptoviz_consumer_watermark_lag_seconds",
        "Wall time minus the event-time watermark: how late closed windows are emitted.",
        &behind,
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
