//! Delivery: what a consumer sends out, and how it insists until it is taken.
//!
//! Dead letters go to `crypto-dlq` before the outputs of their poll are written; outputs go to
//! the store with retries that never drop a batch, since the offsets that produced them are
//! committed only after the store acknowledged them ([`super::commit`]). A store outage
//! therefore stalls the consumer instead of losing data.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use cryptoviz_log::Log;
use cryptoviz_schemas::{DlqRecord, topics};
use cryptoviz_store::{Store, WriteBatch};

use crate::Result;
use crate::stats::ConsumerStats;

/// A flush's store write, run by the driver (at once, or in a task while it reads on).
pub(crate) type Write = Pin<Box<dyn Future<Output = Result<()>> + Send>>;

/// The retrying write of `batches` (nothing at all when there are none).
pub(crate) fn write(
    store: Arc<dyn Store>,
    stats: Arc<ConsumerStats>,
    batches: Vec<WriteBatch>,
) -> Write {
    Box::pin(async move {
        if batches.is_empty() {
            return Ok(());
        }
        write_with_retry(store.as_ref(), &stats, batches).await
    })
}

/// Appends `dead` to `crypto-dlq` and counts them.
pub(crate) async fn dead_letter(
    log: &dyn Log,
    stats: &ConsumerStats,
    dead: Vec<DlqRecord>,
) -> Result<()> {
    append_dead_letters(log, &dead).await?;
    stats.add_dead_letters(dead.len() as u64);
    Ok(())
}

/// Appends dead letters to `crypto-dlq`, keyed by their original topic.
async fn append_dead_letters(log: &dyn Log, dead: &[DlqRecord]) -> Result<()> {
    let records = dead
        .iter()
        .map(|d| cryptoviz_log::Record {
            key: Some(bytes::Bytes::copy_from_slice(d.original_topic.as_bytes())),
            value: bytes::Bytes::from(cryptoviz_schemas::to_bytes(d)),
            timestamp_ms: d.timestamp_ms,
        })
        .collect();
    log.append(topics::DLQ, records).await?;
    Ok(())
}

/// Writes `batches`, retrying retryable store errors with exponential back-off (100 ms
/// doubling to 10 s) and never dropping the batch: the caller commits offsets only after this
/// returns, so a store outage stalls the consumer instead of losing data.
pub(crate) async fn write_with_retry(
    store: &dyn Store,
    stats: &ConsumerStats,
    batches: Vec<WriteBatch>,
) -> Result<()> {
    let mut delay = Duration::from_millis(100);
    loop {
        match store.write(batches.clone()).await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_retryable() => {
                stats.add_store_retry();
                tracing::warn!(error = %e, ?delay, "store write failed, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            Err(e) => return Err(e.into()),
        }
    }
}
