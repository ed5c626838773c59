//! Running a replay: both consumer groups over their bounds until every partition has been
//! read to its end, with progress others can watch and a cancellation that leaves the store
//! consistent.
//!
//! The replay reads in groups of its own (`<consumer.group>-replay` and
//! `<consumer.group>-records-replay`), so the live consumers' offsets and checkpoints are
//! untouched and both run at once. One replay at a time per deployment: two replays would
//! share these groups and split the partitions between them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cryptoviz_log::Log;
use cryptoviz_schemas::topics;
use cryptoviz_store::Store;
use tokio_util::sync::CancellationToken;

use super::ReplayBounds;
use crate::records::TOPICS as RECORD_TOPICS;
use crate::{ConsumerConfig, ConsumerStats, PricePipeline, RecordsPipeline, Result};

pub use cryptoviz_measurements::replay::{
    ProgressSnapshot, ReplayEnd, ReplaySpec, SpecError, TOPICS,
};

/// The record topics (news, sentiment) of a replay, in the records pipeline's order.
fn record_topics(spec: &ReplaySpec) -> Vec<&'static str> {
    RECORD_TOPICS
        .into_iter()
        .filter(|t| spec.topics().contains(t))
        .collect()
}

/// A running replay's progress, updated as it reads.
#[derive(Debug, Default)]
pub struct ReplayProgress {
    total: AtomicU64,
    kept: AtomicU64,
    skipped: AtomicU64,
    /// The price group's counters.
    pub prices: Arc<ConsumerStats>,
    /// The news and sentiment group's counters.
    pub records: Arc<ConsumerStats>,
}

impl ReplayProgress {
    /// A copy of every counter.
    pub fn snapshot(&self) -> ProgressSnapshot {
        let p = self.prices.snapshot();
        let r = self.records.snapshot();
        ProgressSnapshot {
            total: self.total.load(Ordering::Relaxed),
            kept: self.kept.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            ticks: p.ticks,
            windows: p.windows,
            anomalies: p.anomalies,
            late_rows: p.late_rows,
            records: r.records,
            dead_letters: p.dead_letters + r.dead_letters,
        }
    }

    fn set_read(&self, prices: Option<&PricePipeline>, records: Option<&RecordsPipeline>) {
        let (kept, skipped) =
            bounds(prices, records).fold((0, 0), |(k, s), b| (k + b.kept, s + b.skipped));
        self.kept.store(kept, Ordering::Relaxed);
        self.skipped.store(skipped, Ordering::Relaxed);
    }
}

/// The bounds of the pipelines a replay runs.
fn bounds<'a>(
    prices: Option<&'a PricePipeline>,
    records: Option<&'a RecordsPipeline>,
) -> impl Iterator<Item = &'a ReplayBounds> {
    [
        prices.and_then(PricePipeline::replay_bounds),
        records.and_then(RecordsPipeline::replay_bounds),
    ]
    .into_iter()
    .flatten()
}

/// [`run`] as an owned future (nothing happens until it is polled), with a view of its
/// progress: how the binary hands replays to the API's jobs. Errors become their message.
pub fn start(
    log: Arc<dyn Log>,
    store: Arc<dyn Store>,
    consumer: ConsumerConfig,
    spec: ReplaySpec,
    cancel: CancellationToken,
) -> (
    impl Fn() -> ProgressSnapshot + Send + Sync + 'static,
    impl Future<Output = Result<ReplayEnd, String>> + Send + 'static,
) {
    let progress = Arc::new(ReplayProgress::default());
    let view = progress.clone();
    let done = async move {
        run(log, store, &consumer, &spec, &progress, &cancel)
            .await
            .map_err(|e| e.to_string())
    };
    (move || view.snapshot(), done)
}

/// A partition whose start lies past its end (a time after its last record) never delivers:
/// a replay quiet this long is done.
const QUIET: Duration = Duration::from_secs(2);

/// Replays `spec` from `log` into `store` with the consumers configured by `consumer`,
/// updating `progress`, until done or `cancel` fires. The store is flushed either way.
pub async fn run(
    log: Arc<dyn Log>,
    store: Arc<dyn Store>,
    consumer: &ConsumerConfig,
    spec: &ReplaySpec,
    progress: &ReplayProgress,
    cancel: &CancellationToken,
) -> Result<ReplayEnd> {
    let lateness = consumer.allowed_lateness.as_millis() as i64;
    let mut prices = if spec.topics().contains(&topics::PRICES) {
        let bounds = ReplayBounds::new(
            log.as_ref(),
            &[topics::PRICES],
            spec.from,
            spec.to,
            lateness,
        )
        .await?;
        let mut config = consumer.clone();
        config.group = format!("{}-replay", consumer.group);
        Some(
            PricePipeline::replay(
                log.clone(),
                store.clone(),
                config,
                progress.prices.clone(),
                bounds,
            )
            .await?,
        )
    } else {
        None
    };
    let record_topics = record_topics(spec);
    let mut records = if record_topics.is_empty() {
        None
    } else {
        let bounds =
            ReplayBounds::new(log.as_ref(), &record_topics, spec.from, spec.to, lateness).await?;
        Some(
            RecordsPipeline::replay(
                log.clone(),
                store.clone(),
                &format!("{}-records-replay", consumer.group),
                &record_topics,
                consumer.poll_max,
                progress.records.clone(),
                bounds,
            )
            .await?,
        )
    };
    let total = bounds(prices.as_ref(), records.as_ref())
        .map(ReplayBounds::total)
        .sum();
    progress.total.store(total, Ordering::Relaxed);

    let mut quiet_since = Instant::now();
    let end = loop {
        if cancel.is_cancelled() {
            break ReplayEnd::Cancelled;
        }
        // A pipeline that has read its whole range is not polled again (a poll of an idle
        // low-rate topic waits for its timeout).
        let p_done = prices
            .as_ref()
            .is_none_or(|p| p.replay_bounds().is_some_and(ReplayBounds::complete));
        let r_done = records
            .as_ref()
            .is_none_or(|r| r.replay_bounds().is_some_and(ReplayBounds::complete));
        if p_done && r_done {
            break ReplayEnd::Completed;
        }
        let mut read = 0;
        if let Some(p) = prices.as_mut().filter(|_| !p_done) {
            read += p.step().await?;
        }
        if let Some(r) = records.as_mut().filter(|_| !r_done) {
            read += r.step().await?;
        }
        progress.set_read(prices.as_ref(), records.as_ref());
        if read > 0 {
            quiet_since = Instant::now();
        } else if quiet_since.elapsed() >= QUIET {
            break ReplayEnd::Completed;
        }
    };
    if let Some(p) = prices {
        match end {
            ReplayEnd::Completed => p.finish().await?,
            ReplayEnd::Cancelled => p.abandon().await?,
        }
    }
    drop(records);
    store.flush().await?;
    log.flush().await?;
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::{ReplayFrom, ReplayTo};

    #[test]
    fn a_spec_names_what_is_wrong() {
        let all = ReplaySpec::new::<&str>(&[], ReplayFrom::Beginning, None).unwrap();
        assert_eq!(all.topics(), TOPICS);
        let news =
            ReplaySpec::new(&["crypto-news", "crypto-news"], ReplayFrom::Offset(3), None).unwrap();
        assert_eq!(news.topics(), ["crypto-news"]);
        assert!(record_topics(&news) == ["crypto-news"]);
        let err = ReplaySpec::new(&["prices"], ReplayFrom::Beginning, None).unwrap_err();
        assert_eq!(err.param(), "topic");
        assert!(err.to_string().contains("`prices`"));
        let err =
            ReplaySpec::new::<&str>(&[], ReplayFrom::Time(2_000), Some(ReplayTo::Time(1_000)))
                .unwrap_err();
        assert_eq!(err, SpecError::EmptyRange);
        assert_eq!(err.param(), "to");
    }
}
