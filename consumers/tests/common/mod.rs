//! What the consumer tests share: a log and a store in a temporary directory, and simulated
//! ticks published through the real publisher.

#![allow(dead_code)]

use std::sync::Arc;

use cryptoviz_log::{EmbeddedLog, EmbeddedLogConfig, Log};
use cryptoviz_producers::sources::simulated::{Market, SimConfig, generate};
use cryptoviz_producers::{Publisher, SourceStatus};
use cryptoviz_schemas::CryptoPrice;
use cryptoviz_store::{EmbeddedStore, EmbeddedStoreConfig};

pub(crate) const START: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/// An embedded log and store under `dir`.
pub(crate) fn open(dir: &std::path::Path) -> (Arc<EmbeddedLog>, Arc<EmbeddedStore>) {
    let log = EmbeddedLog::open(EmbeddedLogConfig::new(dir.join("log"))).unwrap();
    let store = Arc::new(EmbeddedStore::open(EmbeddedStoreConfig::new(dir.join("store"))).unwrap());
    (log, store)
}

/// `minutes` of the simulated market from [`START`].
pub(crate) fn simulated(minutes: u64) -> Vec<CryptoPrice> {
    let mut market = Market::new(&SimConfig::default(), START);
    let mut all = Vec::new();
    generate(&mut market, minutes * 60 * 20, |_, p| all.append(p));
    all
}

/// Publishes `ticks`, asserting none is rejected.
pub(crate) async fn publish(log: Arc<dyn Log>, ticks: &[CryptoPrice]) {
    let publisher = Publisher::new(log, "test", SourceStatus::new("test"));
    for chunk in ticks.chunks(5_000) {
        let report = publisher.publish(chunk, START + 86_400_000).await.unwrap();
        assert_eq!(report.rejected, 0);
    }
}
