//! Opening the two seams — the log and the store — from the configuration.

use std::sync::Arc;

use anyhow::Context;
use cryptoviz_log::{EmbeddedLog, EmbeddedLogConfig, Log};
use cryptoviz_schemas::topics;
use cryptoviz_store::{EmbeddedStore, EmbeddedStoreConfig};

use crate::config::Config;

/// Opens the embedded log under the data directory and creates the project's topics.
pub async fn open_log(config: &Config) -> anyhow::Result<Arc<dyn Log>> {
    let mut log_config = EmbeddedLogConfig::new(config.log_dir());
    log_config.default_partitions = config.log.partitions;
    log_config.segment_bytes = config.log.segment_bytes;
    log_config.retention = config.log.retention;
    log_config.retention_bytes = config.log.retention_bytes;
    log_config.fsync = config.log.fsync;
    let log = EmbeddedLog::open(log_config)
        .with_context(|| format!("cannot open the log in {}", config.log_dir().display()))?;
    let log: Arc<dyn Log> = log;
    for topic in topics::ALL {
        log.ensure_topic(topic, config.log.partitions).await?;
    }
    Ok(log)
}

/// Opens the embedded store under the data directory.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<EmbeddedStore>> {
    let mut store_config = EmbeddedStoreConfig::new(config.store_dir());
    store_config.compaction_trigger_files = config.store.compaction_trigger_files;
    let store = EmbeddedStore::open(store_config)
        .with_context(|| format!("cannot open the store in {}", config.store_dir().display()))?;
    Ok(Arc::new(store))
}
