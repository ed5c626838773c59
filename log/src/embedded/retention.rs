//! Retention: deletes whole closed segments that are too old (by their newest record's
//! timestamp) or that push a partition past `retention_bytes`. The active segment is never
//! deleted. Consumers positioned before the new earliest offset continue from it (Kafka's
//! `auto.offset.reset=earliest`).

use std::sync::Weak;
use std::time::Duration;

use tracing::{error, info};

use super::Inner;
use crate::TopicPartition;
use crate::error::Result;

/// What one retention pass deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Segments deleted across all partitions.
    pub segments_deleted: usize,
    /// Bytes of log deleted.
    pub bytes_deleted: u64,
    /// New earliest retained offset of every partition that lost segments.
    pub new_start_offsets: Vec<(TopicPartition, u64)>,
}

/// One pass over every partition, judging age against `now_ms`. Blocking.
pub(crate) fn enforce(inner: &Inner, now_ms: i64) -> Result<RetentionReport> {
    let max_age_ms = inner
        .cfg
        .retention
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let max_bytes = inner.cfg.retention_bytes;
    let mut report = RetentionReport::default();
    if max_age_ms.is_none() && max_bytes.is_none() {
        return Ok(report);
    }
    for topic in inner.all_topics() {
        for p in &topic.partitions {
            let (n, bytes) = p.truncate_front(|seg, total| {
                let too_old = max_age_ms.is_some_and(|age| seg.max_ts < now_ms.saturating_sub(age));
                let too_big = max_bytes.is_some_and(|max| total - seg.size >= max && total > max);
                too_old || too_big
            })?;
            if n > 0 {
                let start = p.offsets().0;
                info!(topic = %p.topic, partition = p.id, segments = n, bytes, start, "retention deleted segments");
                report.segments_deleted += n;
                report.bytes_deleted += bytes;
                report
                    .new_start_offsets
                    .push((TopicPartition::new(&*p.topic, p.id), start));
            }
        }
    }
    Ok(report)
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Background pass every `every` until the log is dropped.
pub(crate) async fn run(log: Weak<Inner>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(inner) = log.upgrade() else { break };
        let res = tokio::task::spawn_blocking(move || enforce(&inner, now_ms())).await;
        match res {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => error!(error = %e, "retention pass failed; disk usage may grow"),
            Err(e) => error!(error = %e, "retention task panicked"),
        }
    }
}

/// Background fsync for `FsyncPolicy::Interval`.
pub(crate) async fn run_flusher(log: Weak<Inner>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = log.upgrade() else { break };
        let res = tokio::task::spawn_blocking(move || -> Result<()> {
            for t in inner.all_topics() {
                for p in &t.partitions {
                    p.sync_if_dirty()?;
                }
            }
            Ok(())
        })
        .await;
        match res {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                error!(error = %e, "interval fsync failed; acknowledged data is not yet durable")
            }
            Err(e) => error!(error = %e, "interval fsync task panicked"),
        }
    }
}
