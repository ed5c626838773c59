//! Topic creation and metadata / offset look-ups.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::Producer;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{Offset, TopicPartitionList};

use super::{KafkaLog, REQUEST_TIMEOUT, blocking, kafka_error};
use crate::Committed;
use crate::error::{Error, Result};

impl KafkaLog {
    /// Creates `topic` (TopicAlreadyExists is success) and waits until its metadata shows
    /// the partitions, so a following `append` or `subscribe` sees them.
    pub(super) async fn create_topic(&self, topic: &str, partitions: u32) -> Result<()> {
        let partitions = i32::try_from(partitions)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "topic {topic:?}: {partitions} partitions (want 1..=2^31-1)"
                ))
            })?;
        let new = NewTopic::new(
            topic,
            partitions,
            TopicReplication::Fixed(i32::from(self.config.replication_factor)),
        );
        let opts = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT));
        let results = self
            .admin
            .create_topics(&[new], &opts)
            .await
            .map_err(kafka_error)?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    return Err(Error::Backend {
                        message: format!("creating topic {name:?}: {code}"),
                        retryable: super::is_retryable_code(code),
                    });
                }
            }
        }
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        loop {
            match self.fetch_partition_count(topic).await {
                Ok(_) => return Ok(()),
                Err(Error::UnknownTopic(_)) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Partition count from a metadata request; [`Error::UnknownTopic`] if it has none.
    pub(super) async fn fetch_partition_count(&self, topic: &str) -> Result<u32> {
        let producer = self.producer.clone();
        let name = topic.to_owned();
        blocking(move || {
            let md = producer
                .client()
                .fetch_metadata(Some(&name), REQUEST_TIMEOUT)
                .map_err(kafka_error)?;
            let Some(t) = md.topics().iter().find(|t| t.name() == name) else {
                return Err(Error::UnknownTopic(name));
            };
            match t.error() {
                None if !t.partitions().is_empty() => Ok(t.partitions().len() as u32),
                None | Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) => {
                    Err(Error::UnknownTopic(name))
                }
                Some(e) => {
                    let code = RDKafkaErrorCode::from(e);
                    Err(Error::Backend {
                        message: format!("metadata of topic {name:?}: {code}"),
                        retryable: super::is_retryable_code(code),
                    })
                }
            }
        })
        .await
    }

    /// Low and high watermark of every partition.
    pub(super) async fn watermarks(&self, topic: &str) -> Result<Vec<(u64, u64)>> {
        let n = self.fetch_partition_count(topic).await?;
        let producer = self.producer.clone();
        let name = topic.to_owned();
        blocking(move || {
            (0..n as i32)
                .map(|p| {
                    let (low, high) = producer
                        .client()
                        .fetch_watermarks(&name, p, REQUEST_TIMEOUT)
                        .map_err(kafka_error)?;
                    Ok((low.max(0) as u64, high.max(0) as u64))
                })
                .collect()
        })
        .await
    }

    /// The group's committed offsets, read by a throw-away client that carries the group id
    /// but never joins the group (no rebalance for the members).
    pub(super) async fn committed_of_group(
        &self,
        group: &str,
        topic: &str,
    ) -> Result<Vec<Option<Committed>>> {
        let n = self.fetch_partition_count(topic).await?;
        let config = self.config.consumer(group);
        let name = topic.to_owned();
        blocking(move || {
            let probe: BaseConsumer = config.create().map_err(kafka_error)?;
            let mut tpl = TopicPartitionList::with_capacity(n as usize);
            tpl.add_partition_range(&name, 0, n as i32 - 1);
            let tpl = probe
                .committed_offsets(tpl, REQUEST_TIMEOUT)
                .map_err(kafka_error)?;
            let mut out = vec![None; n as usize];
            for e in tpl.elements() {
                if let (Offset::Offset(o), Some(slot)) =
                    (e.offset(), out.get_mut(e.partition() as usize))
                {
                    *slot = Some(Committed {
                        offset: o.max(0) as u64,
                        metadata: e.metadata().to_owned(),
                    });
                }
            }
            Ok(out)
        })
        .await
    }
}
