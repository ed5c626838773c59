//! `append`: the idempotent producer side.

use std::sync::atomic::Ordering;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::FutureRecord;

use super::{KafkaLog, kafka_error};
use crate::error::{Error, Result};
use crate::{Produced, Record, partition_for_key};

impl KafkaLog {
    /// Partition count of `topic`, cached; a missing topic is created with the configured
    /// default partition count (what `append` promises).
    async fn partitions_for_append(&self, topic: &str) -> Result<u32> {
        if let Some(n) = self.partitions.lock().get(topic) {
            return Ok(*n);
        }
        let n = match self.fetch_partition_count(topic).await {
            Ok(n) => n,
            Err(Error::UnknownTopic(_)) => {
                self.create_topic(topic, self.config.partitions).await?;
                self.fetch_partition_count(topic).await?
            }
            Err(e) => return Err(e),
        };
        self.partitions.lock().insert(topic.to_owned(), n);
        Ok(n)
    }

    pub(super) async fn produce(&self, topic: &str, records: Vec<Record>) -> Result<Vec<Produced>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let n = self.partitions_for_append(topic).await?;
        let mut pending = Vec::with_capacity(records.len());
        for record in &records {
            let partition = match &record.key {
                Some(key) => partition_for_key(key, n),
                None => self.round_robin.fetch_add(1, Ordering::Relaxed) % n,
            };
            loop {
                let mut out = FutureRecord::<[u8], [u8]>::to(topic)
                    .payload(&record.value[..])
                    .partition(partition as i32)
                    .timestamp(record.timestamp_ms);
                if let Some(key) = &record.key {
                    out = out.key(&key[..]);
                }
                match self.producer.send_result(out) {
                    Ok(delivery) => {
                        pending.push(delivery);
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                        // The local queue drains as delivery reports come in.
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err((e, _)) => return Err(kafka_error(e)),
                }
            }
        }
        let mut produced = Vec::with_capacity(pending.len());
        for delivery in pending {
            match delivery.await {
                Ok(Ok(d)) => produced.push(Produced {
                    partition: d.partition as u32,
                    offset: d.offset as u64,
                }),
                Ok(Err((e, _))) => return Err(kafka_error(e)),
                Err(_) => {
                    return Err(Error::Backend {
                        message: "producer dropped a delivery report".into(),
                        retryable: true,
                    });
                }
            }
        }
        Ok(produced)
    }
}
