//! Opening the two seams — the log and the store — from the configuration.

use std::sync::Arc;

use anyhow::{Context, bail};
use cryptoviz_log::{EmbeddedLog, EmbeddedLogConfig, KafkaLog, Log};
use cryptoviz_schemas::topics;
use cryptoviz_store::{EmbeddedStore, EmbeddedStoreConfig, InfluxStore, Store};

use crate::config::{Config, LogBackend, StoreBackend};

/// Opens the configured log (the embedded one under the data directory, or Kafka) and creates
/// the project's topics if they are missing.
pub(crate) async fn open_log(config: &Config) -> anyhow::Result<Arc<dyn Log>> {
    let (log, partitions): (Arc<dyn Log>, u32) = match config.log.backend {
        LogBackend::Embedded => {
            let mut log_config = EmbeddedLogConfig::new(config.log_dir());
            log_config.default_partitions = config.log.partitions;
            log_config.segment_bytes = config.log.segment_bytes;
            log_config.retention = config.log.retention;
            log_config.retention_bytes = config.log.retention_bytes;
            log_config.fsync = config.log.fsync;
            let log = EmbeddedLog::open(log_config).with_context(|| {
                format!("cannot open the log in {}", config.log_dir().display())
            })?;
            (log, config.log.partitions)
        }
        LogBackend::Kafka => {
            let kafka = &config.log.kafka;
            let log = KafkaLog::connect(kafka.clone()).await.with_context(|| {
                format!(
                    "log.kafka.bootstrap_servers: cannot reach Kafka at {}",
                    kafka.bootstrap_servers
                )
            })?;
            (log, kafka.partitions)
        }
    };
    for topic in topics::ALL {
        log.ensure_topic(topic, partitions).await?;
    }
    Ok(log)
}

/// Opens the configured store (the embedded one under the data directory, or InfluxDB).
pub(crate) async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    match config.store.backend {
        StoreBackend::Embedded => Ok(open_embedded_store(config).await?),
        StoreBackend::Influxdb => {
            let influx = &config.store.influxdb;
            let store = InfluxStore::new(influx.clone()).with_context(|| {
                format!("store.influxdb: cannot set up {}", influx.redacted_url())
            })?;
            store.ping().await.with_context(|| {
                format!(
                    "store.influxdb.url: InfluxDB at {} does not answer",
                    influx.redacted_url()
                )
            })?;
            Ok(Arc::new(store))
        }
    }
}

/// Opens the embedded store under the data directory (the bench needs it: it verifies the
/// windows with DataFusion SQL over the stored files).
pub(crate) async fn open_embedded_store(config: &Config) -> anyhow::Result<Arc<EmbeddedStore>> {
    if config.store.backend != StoreBackend::Embedded {
        bail!("store.backend: this command needs the embedded store");
    }
    let mut store_config = EmbeddedStoreConfig::new(config.store_dir());
    store_config.compaction_trigger_files = config.store.compaction_trigger_files;
    let store = EmbeddedStore::open(store_config)
        .with_context(|| format!("cannot open the store in {}", config.store_dir().display()))?;
    Ok(Arc::new(store))
}
