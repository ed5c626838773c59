//! A consumer-group member on a librdkafka `BaseConsumer`, polled on blocking threads.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::{KafkaConfig, REQUEST_TIMEOUT, blocking, kafka_error};
use crate::error::{Error, Result};
use crate::{AssignmentChange, Committed, ConsumedRecord, LogConsumer, SeekTo, TopicPartition};

/// Records the rebalances librdkafka runs inside `poll`.
#[derive(Default)]
struct GroupContext {
    state: Mutex<GroupState>,
    /// Set with `state.change`, so the poll loop checks for a rebalance per message without
    /// taking the lock.
    changed: AtomicBool,
}

#[derive(Default)]
struct GroupState {
    assignment: BTreeSet<TopicPartition>,
    change: Option<AssignmentChange>,
}

impl ClientContext for GroupContext {}

impl ConsumerContext for GroupContext {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let mut st = self.state.lock();
        let st = &mut *st;
        let change = st.change.get_or_insert_with(AssignmentChange::default);
        match rebalance {
            Rebalance::Assign(tpl) => {
                for e in tpl.elements() {
                    let tp = TopicPartition::new(e.topic(), e.partition() as u32);
                    st.assignment.insert(tp.clone());
                    change.assigned.push(tp);
                }
                tracing::info!(assigned = ?change.assigned, "Kafka partitions assigned");
            }
            Rebalance::Revoke(tpl) => {
                for e in tpl.elements() {
                    let tp = TopicPartition::new(e.topic(), e.partition() as u32);
                    st.assignment.remove(&tp);
                    change.revoked.push(tp);
                }
                tracing::info!(revoked = ?change.revoked, "Kafka partitions revoked");
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "Kafka rebalance error"),
        }
        self.changed.store(true, Ordering::Release);
    }
}

type Inner = BaseConsumer<GroupContext>;

/// A member of a Kafka consumer group. See the [module docs](super) for the commit and
/// rebalance semantics.
pub(crate) struct KafkaConsumer {
    consumer: Option<Arc<Inner>>,
    /// Seeks librdkafka refused because the partition's fetcher was not started yet; retried
    /// before every poll, and the partition's records are held back until they succeed.
    pending_seeks: HashMap<TopicPartition, Offset>,
}

impl KafkaConsumer {
    pub(crate) async fn subscribe(
        config: &KafkaConfig,
        group: &str,
        topics: &[&str],
    ) -> Result<Self> {
        let client = config.consumer(group);
        let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
        let consumer = blocking(move || {
            let c: Inner = client
                .create_with_context(GroupContext::default())
                .map_err(kafka_error)?;
            let names: Vec<&str> = topics.iter().map(String::as_str).collect();
            c.subscribe(&names).map_err(kafka_error)?;
            Ok(c)
        })
        .await?;
        Ok(Self {
            consumer: Some(Arc::new(consumer)),
            pending_seeks: HashMap::new(),
        })
    }

    fn inner(&self) -> Arc<Inner> {
        self.consumer
            .clone()
            .expect("consumer is only taken on drop")
    }

    fn check_assigned<'a>(&self, tps: impl Iterator<Item = &'a TopicPartition>) -> Result<()> {
        let inner = self.inner();
        let st = inner.context().state.lock();
        let missing: Vec<_> = tps
            .filter(|tp| !st.assignment.contains(tp))
            .cloned()
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::NotAssigned(missing))
        }
    }

    /// Retries seeks that could not be applied yet.
    async fn apply_pending_seeks(&mut self) -> Result<()> {
        if self.pending_seeks.is_empty() {
            return Ok(());
        }
        let inner = self.inner();
        let seeks: Vec<_> = self
            .pending_seeks
            .iter()
            .map(|(tp, o)| (tp.clone(), *o))
            .collect();
        let done = blocking(move || {
            let mut done = Vec::new();
            for (tp, offset) in seeks {
                match inner.seek(&tp.topic, tp.partition as i32, offset, REQUEST_TIMEOUT) {
                    Ok(()) => done.push(tp),
                    Err(e) if is_not_ready(&e) => {
                        tracing::debug!(%tp, error = %e, "seek deferred");
                    }
                    Err(e) => return Err(kafka_error(e)),
                }
            }
            Ok(done)
        })
        .await?;
        for tp in done {
            self.pending_seeks.remove(&tp);
        }
        Ok(())
    }

    /// Offset of the first record at or after `ts`, or the end.
    async fn offset_for_time(&self, tp: &TopicPartition, ts: i64) -> Result<Offset> {
        let inner = self.inner();
        let tp = tp.clone();
        blocking(move || {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(&tp.topic, tp.partition as i32, Offset::Offset(ts))
                .map_err(kafka_error)?;
            let found = inner
                .offsets_for_times(tpl, REQUEST_TIMEOUT)
                .map_err(kafka_error)?;
            let offset = found
                .find_partition(&tp.topic, tp.partition as i32)
                .map(|e| e.offset());
            Ok(match offset {
                Some(Offset::Offset(o)) if o >= 0 => Offset::Offset(o),
                _ => Offset::End,
            })
        })
        .await
    }
}

/// Whether `r`'s partition is one of `tps` (compared in place: no allocation per record).
fn holds<'a>(mut tps: impl Iterator<Item = &'a TopicPartition>, r: &ConsumedRecord) -> bool {
    tps.any(|tp| tp.partition == r.partition && *tp.topic == *r.topic)
}

/// librdkafka refuses a seek with "erroneous state" until the partition's fetcher runs.
fn is_not_ready(e: &KafkaError) -> bool {
    e.rdkafka_error_code() == Some(RDKafkaErrorCode::State)
}

#[async_trait::async_trait]
impl LogConsumer for KafkaConsumer {
    async fn poll(&mut self, max: usize, timeout: Duration) -> Result<Vec<ConsumedRecord>> {
        self.apply_pending_seeks().await?;
        let inner = self.inner();
        let records = blocking(move || {
            let deadline = Instant::now() + timeout;
            // The hot path allocates nothing per message but the record's own bytes: the
            // topic name is shared, the rebalance flag is an atomic, and the assignment
            // filter below compares in place.
            let mut topic: Option<Arc<str>> = None;
            let mut out = Vec::new();
            let context = inner.context();
            while out.len() < max {
                let wait = if out.is_empty() {
                    deadline.saturating_duration_since(Instant::now())
                } else {
                    Duration::ZERO
                };
                let drained = match inner.poll(wait) {
                    Some(Ok(m)) => {
                        let topic = match &topic {
                            Some(t) if **t == *m.topic() => t.clone(),
                            _ => topic.insert(Arc::from(m.topic())).clone(),
                        };
                        out.push(ConsumedRecord {
                            topic,
                            partition: m.partition() as u32,
                            offset: m.offset() as u64,
                            timestamp_ms: m.timestamp().to_millis().unwrap_or(0),
                            key: m.key().map(bytes::Bytes::copy_from_slice),
                            value: bytes::Bytes::copy_from_slice(m.payload().unwrap_or_default()),
                        });
                        false
                    }
                    Some(Err(e)) => {
                        let err = kafka_error(e);
                        if !err.is_retryable() {
                            return Err(err);
                        }
                        tracing::warn!(error = %err, "transient Kafka consumer error");
                        false
                    }
                    None => true,
                };
                // A rebalance ends the poll early: the caller must react to it first.
                let rebalanced = context.changed.load(Ordering::Acquire);
                let done = if out.is_empty() {
                    Instant::now() >= deadline
                } else {
                    drained
                };
                if rebalanced || done {
                    break;
                }
            }
            let st = context.state.lock();
            out.retain(|r| holds(st.assignment.iter(), r));
            Ok(out)
        })
        .await?;
        if self.pending_seeks.is_empty() {
            return Ok(records);
        }
        Ok(records
            .into_iter()
            .filter(|r| !holds(self.pending_seeks.keys(), r))
            .collect())
    }

    fn assignment(&self) -> Vec<TopicPartition> {
        let inner = self.inner();
        let st = inner.context().state.lock();
        st.assignment.iter().cloned().collect()
    }

    fn take_assignment_change(&mut self) -> Option<AssignmentChange> {
        let inner = self.inner();
        let context = inner.context();
        let change = {
            let mut st = context.state.lock();
            context.changed.store(false, Ordering::Release);
            st.change.take()
        };
        if let Some(c) = &change {
            // Seeks on partitions that moved are void: the new assignment starts from the
            // committed offsets.
            for tp in c.revoked.iter().chain(&c.assigned) {
                self.pending_seeks.remove(tp);
            }
        }
        change
    }

    async fn committed(&self, tp: &TopicPartition) -> Result<Option<Committed>> {
        let inner = self.inner();
        let tp = tp.clone();
        blocking(move || {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition(&tp.topic, tp.partition as i32);
            let tpl = inner
                .committed_offsets(tpl, REQUEST_TIMEOUT)
                .map_err(kafka_error)?;
            let Some(e) = tpl.find_partition(&tp.topic, tp.partition as i32) else {
                return Ok(None);
            };
            Ok(match e.offset() {
                Offset::Offset(o) if o >= 0 => Some(Committed {
                    offset: o as u64,
                    metadata: e.metadata().to_owned(),
                }),
                _ => None,
            })
        })
        .await
    }

    async fn commit(&mut self, offsets: &[(TopicPartition, Committed)]) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        self.check_assigned(offsets.iter().map(|(tp, _)| tp))?;
        let mut tpl = TopicPartitionList::with_capacity(offsets.len());
        for (tp, c) in offsets {
            let mut e = tpl.add_partition(&tp.topic, tp.partition as i32);
            e.set_offset(Offset::Offset(c.offset as i64))
                .map_err(kafka_error)?;
            e.set_metadata(&c.metadata);
        }
        let inner = self.inner();
        let tps: Vec<TopicPartition> = offsets.iter().map(|(tp, _)| tp.clone()).collect();
        blocking(move || match inner.commit(&tpl, CommitMode::Sync) {
            Ok(()) => Ok(()),
            Err(e)
                if matches!(
                    e.rdkafka_error_code(),
                    Some(RDKafkaErrorCode::IllegalGeneration | RDKafkaErrorCode::UnknownMemberId)
                ) =>
            {
                // The group moved on without us: these partitions belong to someone else.
                Err(Error::NotAssigned(tps))
            }
            Err(e) => Err(kafka_error(e)),
        })
        .await
    }

    async fn seek(&mut self, tp: &TopicPartition, to: SeekTo) -> Result<()> {
        self.check_assigned(std::iter::once(tp))?;
        let offset = match to {
            SeekTo::Beginning => Offset::Beginning,
            SeekTo::End => Offset::End,
            SeekTo::Offset(o) => Offset::Offset(o as i64),
            SeekTo::Timestamp(ts) => self.offset_for_time(tp, ts).await?,
        };
        self.pending_seeks.insert(tp.clone(), offset);
        self.apply_pending_seeks().await
    }
}

impl Drop for KafkaConsumer {
    fn drop(&mut self) {
        // Closing leaves the group and may block (rust-rdkafka #509): never on this thread.
        if let Some(consumer) = self.consumer.take() {
            let spawned = std::thread::Builder::new()
                .name("kafka-consumer-close".into())
                .spawn(move || drop(consumer));
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "could not spawn a thread to close a Kafka consumer");
            }
        }
    }
}

/// How long [`read_partition`] waits for the records it knows are there.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Up to `max` records of `tp` from `from`, read by a throw-away client that is assigned the
/// partition directly: no `group.id`, so no group is joined and nothing is committed.
pub(crate) async fn read_partition(
    config: &KafkaConfig,
    tp: &TopicPartition,
    from: u64,
    max: usize,
) -> Result<Vec<ConsumedRecord>> {
    if max == 0 {
        return Ok(Vec::new());
    }
    let mut client = config.client();
    client
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest");
    let tp = tp.clone();
    blocking(move || {
        let reader: BaseConsumer = client.create().map_err(kafka_error)?;
        let (low, high) = reader
            .fetch_watermarks(&tp.topic, tp.partition as i32, REQUEST_TIMEOUT)
            .map_err(kafka_error)?;
        let from = from.max(low.max(0) as u64);
        let high = high.max(0) as u64;
        if from >= high {
            return Ok(Vec::new());
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&tp.topic, tp.partition as i32, Offset::Offset(from as i64))
            .map_err(kafka_error)?;
        reader.assign(&tpl).map_err(kafka_error)?;
        let want = max.min((high - from) as usize);
        let topic: Arc<str> = Arc::from(tp.topic.as_str());
        let deadline = Instant::now() + READ_TIMEOUT;
        let mut out = Vec::with_capacity(want);
        while out.len() < want && Instant::now() < deadline {
            match reader.poll(deadline.saturating_duration_since(Instant::now())) {
                Some(Ok(m)) if (m.offset() as u64) < high => out.push(ConsumedRecord {
                    topic: topic.clone(),
                    partition: tp.partition,
                    offset: m.offset() as u64,
                    timestamp_ms: m.timestamp().to_millis().unwrap_or(0),
                    key: m.key().map(bytes::Bytes::copy_from_slice),
                    value: bytes::Bytes::copy_from_slice(m.payload().unwrap_or_default()),
                }),
                Some(Ok(_)) => break,
                Some(Err(e)) => {
                    let err = kafka_error(e);
                    if !err.is_retryable() {
                        return Err(err);
                    }
                }
                None => {}
            }
        }
        Ok(out)
    })
    .await
}
