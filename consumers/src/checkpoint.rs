//! The window state that goes with a committed offset, and where it is kept.
//!
//! The price consumer commits a partition's offset at the first tick of its oldest open
//! window, so a restart re-reads those ticks; the [`Checkpoint`] tells it which windows had
//! already closed (their ticks after the offset must not re-emit them as partial windows) and
//! how far it had read. Each commit carries it twice:
//!
//! - in the commit's metadata, exactly as of the committed offset (the embedded log and
//!   Kafka keep it);
//! - as a point of [`CHECKPOINTS`] in the store (tags group, topic, partition; fields offset
//!   and the state), written after the outputs it covers were acknowledged and before the
//!   commit. This copy is for brokers that drop commit metadata (tansu does): the pipeline
//!   reads its first commit back and stops writing copies if the metadata was kept.
//!
//! [`restore`] prefers the metadata. Without it, the store's copy is used if it is not older
//! than the committed offset: written after its outputs, it can only be newer than the commit
//! (a crash between the two), and then the windows it marks as closed are stored complete, so
//! skipping them again is right. An older copy (a different store) is ignored with a warning.

use std::sync::{Arc, LazyLock};

use cryptoviz_log::Committed;
use cryptoviz_store::{Store, WriteBatch};
use datafusion::arrow::array::{
    Array, AsArray, Int64Builder, StringBuilder, TimestampNanosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

use crate::sinks::{ms_to_ns, time_field};
use crate::{Error, Result};

/// The measurement holding the store's copy of each checkpoint.
pub const CHECKPOINTS: &str = "cryptoviz_checkpoints";

/// Tag columns of [`CHECKPOINTS`].
const TAGS: [&str; 3] = ["group", "topic", "partition"];

/// State stored with each committed offset.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub(crate) struct Checkpoint {
    /// Largest event time read from the partition (for diagnostics; a restart rebuilds the
    /// watermark from the ticks it re-reads).
    pub max_ts: Option<i64>,
    /// Windows ending at or before this event time were closed.
    pub closed_until: Option<i64>,
    /// Next offset that had been read when the checkpoint was taken.
    pub read_to: u64,
}

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut fields = vec![time_field()];
    fields.extend(TAGS.iter().map(|t| Field::new(*t, DataType::Utf8, false)));
    fields.push(Field::new("offset", DataType::Int64, false));
    fields.push(Field::new("read_to", DataType::Int64, false));
    fields.push(Field::new("closed_until", DataType::Int64, true));
    fields.push(Field::new("max_ts", DataType::Int64, true));
    Arc::new(Schema::new(fields))
});

/// The store's copy of one commit: a point per partition, stamped `now_ms` (the newest point
/// of a series is the current checkpoint).
pub(crate) fn batch(
    group: &str,
    topic: &str,
    entries: &[(u32, u64, Checkpoint)],
    now_ms: i64,
) -> Result<Option<WriteBatch>> {
    if entries.is_empty() {
        return Ok(None);
    }
    let mut time = TimestampNanosecondBuilder::new().with_timezone("UTC");
    let mut tags: [StringBuilder; 3] = std::array::from_fn(|_| StringBuilder::new());
    let mut ints: [Int64Builder; 4] = std::array::from_fn(|_| Int64Builder::new());
    for (partition, offset, c) in entries {
        time.append_value(ms_to_ns(now_ms));
        tags[0].append_value(group);
        tags[1].append_value(topic);
        tags[2].append_value(partition.to_string());
        ints[0].append_value(*offset as i64);
        ints[1].append_value(c.read_to as i64);
        ints[2].append_option(c.closed_until);
        ints[3].append_option(c.max_ts);
    }
    let mut columns: Vec<Arc<dyn Array>> = vec![Arc::new(time.finish())];
    columns.extend(
        tags.iter_mut()
            .map(|b| Arc::new(b.finish()) as Arc<dyn Array>),
    );
    columns.extend(
        ints.iter_mut()
            .map(|b| Arc::new(b.finish()) as Arc<dyn Array>),
    );
    let batch = RecordBatch::try_new(SCHEMA.clone(), columns)?;
    Ok(Some(WriteBatch::new(
        CHECKPOINTS,
        TAGS.iter().map(|t| t.to_string()).collect(),
        batch,
    )?))
}

/// The store's newest copy for a partition: (offset, checkpoint).
async fn stored(
    store: &dyn Store,
    group: &str,
    topic: &str,
    partition: u32,
) -> Result<Option<(u64, Checkpoint)>> {
    let tags = [
        ("group".to_string(), group.to_string()),
        ("topic".to_string(), topic.to_string()),
        ("partition".to_string(), partition.to_string()),
    ];
    for batch in store.last(CHECKPOINTS, &tags).await? {
        if batch.num_rows() == 0 {
            continue;
        }
        let int = |name: &str| -> Option<i64> {
            let col = batch.column_by_name(name)?;
            let col = col.as_primitive_opt::<Int64Type>()?;
            col.is_valid(0).then(|| col.value(0))
        };
        let (Some(offset), Some(read_to)) = (int("offset"), int("read_to")) else {
            continue;
        };
        return Ok(Some((
            offset as u64,
            Checkpoint {
                max_ts: int("max_ts"),
                closed_until: int("closed_until"),
                read_to: read_to as u64,
            },
        )));
    }
    Ok(None)
}

/// The checkpoint to restart a partition from, given its committed offset (see the module
/// documentation for the choice between the two copies).
pub(crate) async fn restore(
    store: &dyn Store,
    group: &str,
    topic: &str,
    partition: u32,
    committed: Option<&Committed>,
) -> Result<Option<Checkpoint>> {
    let Some(committed) = committed else {
        return Ok(None);
    };
    if !committed.metadata.is_empty() {
        return serde_json::from_str(&committed.metadata)
            .map(Some)
            .map_err(|e| Error::Checkpoint {
                topic: topic.to_string(),
                partition,
                reason: e.to_string(),
            });
    }
    match stored(store, group, topic, partition).await? {
        Some((offset, checkpoint)) if offset >= committed.offset => {
            tracing::info!(
                topic,
                partition,
                committed = committed.offset,
                checkpoint_offset = offset,
                "the log kept no commit metadata: window state restored from the store"
            );
            Ok(Some(checkpoint))
        }
        Some((offset, _)) => {
            tracing::warn!(
                topic,
                partition,
                committed = committed.offset,
                checkpoint_offset = offset,
                "the store's checkpoint is older than the committed offset; ignored"
            );
            Ok(None)
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptoviz_store::{EmbeddedStore, EmbeddedStoreConfig};

    fn committed(offset: u64, metadata: &str) -> Committed {
        Committed {
            offset,
            metadata: metadata.to_string(),
        }
    }

    const C1: Checkpoint = Checkpoint {
        max_ts: Some(1_000),
        closed_until: Some(600),
        read_to: 40,
    };

    #[tokio::test]
    async fn metadata_first_then_the_stores_copy_if_not_older_than_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(EmbeddedStoreConfig::new(dir.path())).unwrap();
        let restore_at = |c: Option<Committed>| {
            let store = store.clone();
            async move { restore(&store, "g", "t", 1, c.as_ref()).await.unwrap() }
        };
        // Nothing committed, nothing stored.
        assert_eq!(restore_at(None).await, None);
        assert_eq!(restore_at(Some(committed(10, ""))).await, None);

        // Stored for offset 30, then for offset 35 (newest wins); another partition too.
        let entries = [(1, 30, C1), (2, 99, C1)];
        store
            .write(vec![batch("g", "t", &entries, 1_000).unwrap().unwrap()])
            .await
            .unwrap();
        let c2 = Checkpoint {
            read_to: 50,
            closed_until: Some(900),
            ..C1
        };
        store
            .write(vec![
                batch("g", "t", &[(1, 35, c2)], 2_000).unwrap().unwrap(),
            ])
            .await
            .unwrap();

        // The metadata wins when there is some.
        let meta = serde_json::to_string(&C1).unwrap();
        assert_eq!(restore_at(Some(committed(35, &meta))).await, Some(C1));
        // No metadata: the store's copy, when it is at or past the committed offset.
        assert_eq!(restore_at(Some(committed(35, ""))).await, Some(c2));
        assert_eq!(restore_at(Some(committed(20, ""))).await, Some(c2));
        assert_eq!(restore_at(Some(committed(36, ""))).await, None);
        // Other groups and topics have none.
        assert_eq!(
            restore(&store, "other", "t", 1, Some(&committed(0, "")))
                .await
                .unwrap(),
            None
        );
        // Unreadable metadata is an error naming the partition.
        let err = restore(&store, "g", "t", 1, Some(&committed(35, "{")))
            .await
            .unwrap_err();
        assert!(err.to_string().contains('1'), "{err}");
    }
}
