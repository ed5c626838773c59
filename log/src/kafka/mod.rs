//! The Kafka backend of the [`Log`] seam, on librdkafka (the `rdkafka` crate).
//!
//! [`KafkaLog`] talks to any Kafka-protocol broker: `bootstrap_servers` plus any librdkafka
//! property from [`KafkaConfig::properties`] (SASL/SSL, client id, ...) for the producer, the
//! consumers and the admin client alike.
//!
//! ## Producing
//!
//! One idempotent producer per [`KafkaLog`] (`enable.idempotence=true`, `acks=all`): a retried
//! batch is never duplicated nor reordered within a partition. Keyed records are sent to
//! [`partition_for_key`](crate::partition_for_key) (Kafka's murmur2 partitioner, computed here
//! so both backends agree to the partition); unkeyed records round-robin. `append` returns once
//! every record of the batch has its delivery report, in input order. A missing topic is
//! created with [`KafkaConfig::partitions`] partitions (admin client, not broker
//! auto-creation, so the partition count is ours).
//!
//! ## Consuming, committing and rebalances: hand-over via committed checkpoints
//!
//! A consumer is a group member (`group.id`, eager range assignment by default) with
//! `enable.auto.commit=false` and `enable.auto.offset.store=false`: an offset is only ever
//! committed by an explicit [`LogConsumer::commit`], which the price consumer calls after the
//! store acknowledged the write, with its window checkpoint in the commit metadata. Commits are
//! synchronous.
//!
//! On a rebalance the librdkafka callback only records the revoked/assigned partitions (it runs
//! inside `poll` and cannot call back into the pipeline); [`LogConsumer::take_assignment_change`]
//! reports them after the poll and records of partitions no longer assigned are dropped from
//! that poll. State is **handed over via committed checkpoints, not flushed on revoke**: the new
//! owner of a partition rebuilds its windows from the last committed offset + metadata and
//! replays from there. Whatever the old owner wrote to the store after its last commit is
//! written again by the new owner; the store's writes are idempotent, so the effect is
//! exactly-once for the store and at-least-once on the wire. A commit of a partition this
//! consumer no longer owns fails with [`Error::NotAssigned`] (as on the embedded backend), so a
//! stale member can never move a new owner's offset.
//!
//! ## Dropping a consumer
//!
//! Closing a librdkafka consumer leaves the group and can block (rust-rdkafka #509), so a
//! dropped consumer is closed on a detached thread: it never blocks an async worker nor the
//! runtime's shutdown; a hung close leaks that one thread.
//!
//! ## Broker quirks (tansu, the test broker)
//!
//! tansu 0.6 reports a wrong high watermark ([`Log::offsets`] end values are not reliable
//! there; use committed offsets), and `offsets_for_times` past the last record answers 0
//! instead of the end, so [`SeekTo::Timestamp`](crate::SeekTo::Timestamp) past the end rewinds to the beginning on tansu.
//! Real Kafka answers both correctly. tansu 0.6 also drops offset-commit metadata (committed
//! offsets come back with an empty metadata string), so a price consumer on tansu restarts
//! without its window checkpoints; real Kafka stores it.
//!
//! ## Differences from the embedded backend
//!
//! * The initial assignment arrives during the first polls (the group join takes about half
//!   the session timeout), not in `subscribe`.
//! * [`SeekTo::Offset`](crate::SeekTo::Offset) outside the retained range is not clamped by us: the broker answers
//!   "offset out of range" and `auto.offset.reset` (earliest) applies.

mod admin;
mod config;
mod consumer;
mod producer;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use parking_lot::Mutex;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, Producer};

pub use config::KafkaConfig;

use crate::error::{Error, Result};
use crate::{
    Committed, ConsumedRecord, Log, LogConsumer, Produced, Record, TopicPartition, validate_name,
    validate_topic_name,
};

/// How long a metadata, offset or commit request may take before it fails (retryable).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The Kafka backend. Cheap to share: hold it as `Arc<dyn Log>`.
pub struct KafkaLog {
    config: KafkaConfig,
    producer: FutureProducer,
    admin: AdminClient<DefaultClientContext>,
    /// Partition counts by topic, so `append` partitions without a metadata round trip.
    partitions: Mutex<HashMap<String, u32>>,
    round_robin: AtomicU32,
}

impl std::fmt::Debug for KafkaLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaLog")
            .field("bootstrap_servers", &self.config.bootstrap_servers)
            .finish_non_exhaustive()
    }
}

impl KafkaLog {
    /// Validates `config`, creates the producer and admin client, and checks that the
    /// cluster answers a metadata request (a retryable error if it does not).
    pub async fn connect(config: KafkaConfig) -> Result<Arc<Self>> {
        config.validate()?;
        let producer: FutureProducer = config.producer().create().map_err(kafka_error)?;
        let admin: AdminClient<DefaultClientContext> =
            config.client().create().map_err(kafka_error)?;
        let probe = producer.clone();
        blocking(move || {
            probe
                .client()
                .fetch_metadata(None, REQUEST_TIMEOUT)
                .map(|_| ())
                .map_err(kafka_error)
        })
        .await?;
        tracing::info!(bootstrap_servers = %config.bootstrap_servers, "connected to Kafka");
        Ok(Arc::new(Self {
            config,
            producer,
            admin,
            partitions: Mutex::new(HashMap::new()),
            round_robin: AtomicU32::new(0),
        }))
    }

    /// The configuration this log was connected with.
    pub fn config(&self) -> &KafkaConfig {
        &self.config
    }
}

#[async_trait::async_trait]
impl Log for KafkaLog {
    async fn ensure_topic(&self, topic: &str, partitions: u32) -> Result<()> {
        validate_topic_name(topic)?;
        self.create_topic(topic, partitions).await
    }

    async fn partition_count(&self, topic: &str) -> Result<u32> {
        validate_topic_name(topic)?;
        self.fetch_partition_count(topic).await
    }

    async fn append(&self, topic: &str, records: Vec<Record>) -> Result<Vec<Produced>> {
        validate_topic_name(topic)?;
        self.produce(topic, records).await
    }

    async fn subscribe(&self, group: &str, topics: &[&str]) -> Result<Box<dyn LogConsumer>> {
        validate_name("group", group)?;
        if topics.is_empty() {
            return Err(Error::InvalidArgument(
                "subscribe needs at least one topic".into(),
            ));
        }
        for topic in topics {
            validate_topic_name(topic)?;
        }
        let consumer = consumer::KafkaConsumer::subscribe(&self.config, group, topics).await?;
        Ok(Box::new(consumer))
    }

    async fn offsets(&self, topic: &str) -> Result<Vec<(u64, u64)>> {
        validate_topic_name(topic)?;
        self.watermarks(topic).await
    }

    async fn group_offsets(&self, group: &str, topic: &str) -> Result<Vec<Option<Committed>>> {
        validate_name("group", group)?;
        validate_topic_name(topic)?;
        self.committed_of_group(group, topic).await
    }

    async fn read(
        &self,
        tp: &TopicPartition,
        from: u64,
        max: usize,
    ) -> Result<Vec<ConsumedRecord>> {
        validate_topic_name(&tp.topic)?;
        consumer::read_partition(&self.config, tp, from, max).await
    }

    async fn flush(&self) -> Result<()> {
        let producer = self.producer.clone();
        blocking(move || producer.flush(REQUEST_TIMEOUT).map_err(kafka_error)).await
    }
}

/// Runs blocking librdkafka calls off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Backend {
            message: format!("blocking Kafka task failed: {e}"),
            retryable: false,
        })?
}

/// Maps a librdkafka error to ours, classified by whether a retry can help.
pub(crate) fn kafka_error(e: KafkaError) -> Error {
    let e = config::redact_error(e);
    let retryable = match &e {
        KafkaError::Canceled => true,
        e => e.rdkafka_error_code().is_some_and(is_retryable_code),
    };
    Error::Backend {
        message: e.to_string(),
        retryable,
    }
}

pub(crate) fn is_retryable_code(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        C::BrokerTransportFailure
            | C::MessageTimedOut
            | C::AllBrokersDown
            | C::OperationTimedOut
            | C::QueueFull
            | C::LeaderNotAvailable
            | C::NotLeaderForPartition
            | C::RequestTimedOut
            | C::NetworkException
            | C::CoordinatorLoadInProgress
            | C::CoordinatorNotAvailable
            | C::NotCoordinator
            | C::NotEnoughReplicas
            | C::NotEnoughReplicasAfterAppend
            | C::RebalanceInProgress
    )
}
