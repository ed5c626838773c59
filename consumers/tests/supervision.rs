//! A consumer that meets errors: retryable ones are retried (rebuilding from the last commit)
//! until they pass, with nothing lost or counted twice; a permanent one stops it visibly.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cryptoviz_consumers::pipeline::WINDOW_1M;
use cryptoviz_consumers::stats::ConsumerState;
use cryptoviz_consumers::{ConsumerConfig, ConsumerStats, PricePipeline, verify};
use cryptoviz_log::{
    AssignmentChange, Committed, ConsumedRecord, EmbeddedLog, EmbeddedLogConfig, Log, LogConsumer,
    Produced, Record, SeekTo, TopicPartition,
};
use cryptoviz_producers::sources::simulated::{Market, SimConfig, generate};
use cryptoviz_producers::{Publisher, SourceStatus};
use cryptoviz_schemas::{CryptoPrice, topics};
use cryptoviz_store::{EmbeddedStore, EmbeddedStoreConfig, Query, RecordBatch, Store, WriteBatch};
use tokio_util::sync::CancellationToken;

const START: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/// Faults to inject: each counter is how many of the next calls fail.
#[derive(Default)]
struct Faults {
    polls: AtomicU32,
    commits: AtomicU32,
    dlq_appends: AtomicU32,
}

fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn transient(what: &str) -> cryptoviz_log::Error {
    cryptoviz_log::Error::Backend {
        message: format!("injected: {what} unavailable"),
        retryable: true,
    }
}

/// The embedded log with injected retryable failures.
struct FlakyLog {
    inner: Arc<EmbeddedLog>,
    faults: Arc<Faults>,
}

#[async_trait::async_trait]
impl Log for FlakyLog {
    async fn ensure_topic(&self, topic: &str, partitions: u32) -> cryptoviz_log::Result<()> {
        self.inner.ensure_topic(topic, partitions).await
    }
    async fn partition_count(&self, topic: &str) -> cryptoviz_log::Result<u32> {
        self.inner.partition_count(topic).await
    }
    async fn append(
        &self,
        topic: &str,
        records: Vec<Record>,
    ) -> cryptoviz_log::Result<Vec<Produced>> {
        if topic == topics::DLQ && take(&self.faults.dlq_appends) {
            return Err(transient("dlq append"));
        }
        self.inner.append(topic, records).await
    }
    async fn subscribe(
        &self,
        group: &str,
        topics: &[&str],
    ) -> cryptoviz_log::Result<Box<dyn LogConsumer>> {
        Ok(Box::new(FlakyConsumer {
            inner: self.inner.subscribe(group, topics).await?,
            faults: self.faults.clone(),
        }))
    }
    async fn offsets(&self, topic: &str) -> cryptoviz_log::Result<Vec<(u64, u64)>> {
        self.inner.offsets(topic).await
    }
    async fn group_offsets(
        &self,
        group: &str,
        topic: &str,
    ) -> cryptoviz_log::Result<Vec<Option<Committed>>> {
        self.inner.group_offsets(group, topic).await
    }
    async fn read(
        &self,
        tp: &TopicPartition,
        from: u64,
        max: usize,
    ) -> cryptoviz_log::Result<Vec<ConsumedRecord>> {
        self.inner.read(tp, from, max).await
    }
    async fn flush(&self) -> cryptoviz_log::Result<()> {
        self.inner.flush().await
    }
}

struct FlakyConsumer {
    inner: Box<dyn LogConsumer>,
    faults: Arc<Faults>,
}

#[async_trait::async_trait]
impl LogConsumer for FlakyConsumer {
    async fn poll(
        &mut self,
        max: usize,
        timeout: Duration,
    ) -> cryptoviz_log::Result<Vec<ConsumedRecord>> {
        if take(&self.faults.polls) {
            return Err(transient("poll"));
        }
        self.inner.poll(max, timeout).await
    }
    fn assignment(&self) -> Vec<TopicPartition> {
        self.inner.assignment()
    }
    fn take_assignment_change(&mut self) -> Option<AssignmentChange> {
        self.inner.take_assignment_change()
    }
    async fn committed(&self, tp: &TopicPartition) -> cryptoviz_log::Result<Option<Committed>> {
        self.inner.committed(tp).await
    }
    async fn commit(
        &mut self,
        offsets: &[(TopicPartition, Committed)],
    ) -> cryptoviz_log::Result<()> {
        if take(&self.faults.commits) {
            return Err(transient("commit"));
        }
        self.inner.commit(offsets).await
    }
    async fn seek(&mut self, tp: &TopicPartition, to: SeekTo) -> cryptoviz_log::Result<()> {
        self.inner.seek(tp, to).await
    }
}

/// The embedded store, refusing every write with a permanent error once `broken`.
struct BrokenStore {
    inner: Arc<EmbeddedStore>,
}

#[async_trait::async_trait]
impl Store for BrokenStore {
    async fn write(&self, batches: Vec<WriteBatch>) -> cryptoviz_store::Result<()> {
        let measurement = batches
            .first()
            .map_or_else(String::new, |b| b.measurement.to_string());
        Err(cryptoviz_store::Error::InvalidBatch {
            measurement,
            reason: "injected: a permanent rejection".into(),
        })
    }
    async fn query(&self, q: &Query) -> cryptoviz_store::Result<Vec<RecordBatch>> {
        self.inner.query(q).await
    }
    async fn last(
        &self,
        measurement: &str,
        tags: &[(String, String)],
    ) -> cryptoviz_store::Result<Vec<RecordBatch>> {
        self.inner.last(measurement, tags).await
    }
    async fn measurements(&self) -> cryptoviz_store::Result<Vec<String>> {
        self.inner.measurements().await
    }
    async fn tag_values(
        &self,
        measurement: &str,
        tag: &str,
    ) -> cryptoviz_store::Result<Vec<String>> {
        self.inner.tag_values(measurement, tag).await
    }
    async fn flush(&self) -> cryptoviz_store::Result<()> {
        self.inner.flush().await
    }
    async fn ping(&self) -> cryptoviz_store::Result<()> {
        self.inner.ping().await
    }
}

fn simulated(minutes: u64) -> Vec<CryptoPrice> {
    let mut market = Market::new(&SimConfig::default(), START);
    let mut all = Vec::new();
    generate(&mut market, minutes * 60 * 20, |_, p| all.append(p));
    all
}

async fn publish(log: Arc<dyn Log>, ticks: &[CryptoPrice]) {
    let publisher = Publisher::new(log, "test", SourceStatus::new("test"));
    for chunk in ticks.chunks(5_000) {
        let report = publisher.publish(chunk, START + 86_400_000).await.unwrap();
        assert_eq!(report.rejected, 0);
    }
}

fn config() -> ConsumerConfig {
    ConsumerConfig {
        flush_rows: 2_000,
        poll_max: 1_000,
        flush_interval: Duration::from_millis(20),
        ..ConsumerConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retryable_log_errors_are_retried_from_the_last_commit_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let inner = EmbeddedLog::open(EmbeddedLogConfig::new(dir.path().join("log"))).unwrap();
    let store =
        Arc::new(EmbeddedStore::open(EmbeddedStoreConfig::new(dir.path().join("store"))).unwrap());
    let faults = Arc::new(Faults::default());
    let log: Arc<dyn Log> = Arc::new(FlakyLog {
        inner: inner.clone(),
        faults: faults.clone(),
    });
    let ticks = simulated(30);
    publish(inner.clone(), &ticks).await;
    // An undecodable record, so a dead letter has to be appended (and fails once).
    inner
        .append(
            topics::PRICES,
            vec![Record {
                key: Some(bytes::Bytes::from_static(b"bitcoin")),
                value: bytes::Bytes::from_static(b"not avro"),
                timestamp_ms: START,
            }],
        )
        .await
        .unwrap();
    faults.polls.store(2, Ordering::SeqCst);
    faults.commits.store(3, Ordering::SeqCst);
    faults.dlq_appends.store(1, Ordering::SeqCst);

    let stats = Arc::new(ConsumerStats::default());
    let pipeline = PricePipeline::new(log.clone(), store.clone(), config(), stats.clone())
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(pipeline.run(shutdown.clone()));
    // Every injected fault fires and the consumer gets through them all.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let s = stats.snapshot();
        let faults_left = faults.polls.load(Ordering::SeqCst)
            + faults.commits.load(Ordering::SeqCst)
            + faults.dlq_appends.load(Ordering::SeqCst);
        if faults_left == 0
            && s.state == ConsumerState::Running
            && s.dead_letters >= 1
            && s.ticks >= ticks.len() as u64
            && inner
                .group_offsets("cryptoviz-analytics", topics::PRICES)
                .await
                .unwrap()
                .iter()
                .flatten()
                .count()
                > 0
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the consumer did not get through its faults: {s:?}"
        );
        assert!(!run.is_finished(), "the consumer stopped: {s:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let it finish what it read, then drain.
    tokio::time::sleep(Duration::from_millis(300)).await;
    shutdown.cancel();
    run.await.unwrap().unwrap();
    let s = stats.snapshot();
    assert_eq!(s.state, ConsumerState::Stopped);
    assert!(s.restarts >= 6, "each fault makes one recovery: {s:?}");
    assert!(
        s.last_error
            .as_ref()
            .is_some_and(|e| e.retryable && e.message.contains("injected"))
    );
    assert_eq!(s.late_rows, 0);
    // Dead letters are appended at least once (a recovery past an append re-reads its record).
    assert!(s.dead_letters >= 1, "{s:?}");
    let report = verify::compare_windows(&store, WINDOW_1M.0, WINDOW_1M.1)
        .await
        .unwrap();
    assert!(report.matches(), "{report:?}");
    // Every tick once in the raw measurement.
    let n = store
        .sql("SELECT COUNT(*) AS n FROM crypto_market")
        .await
        .unwrap();
    let n = n[0]
        .column(0)
        .as_any()
        .downcast_ref::<datafusion::arrow::array::Int64Array>()
        .unwrap()
        .value(0);
    assert_eq!(n, ticks.len() as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_store_error_fails_the_consumer_visibly() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(EmbeddedLogConfig::new(dir.path().join("log"))).unwrap();
    let inner =
        Arc::new(EmbeddedStore::open(EmbeddedStoreConfig::new(dir.path().join("store"))).unwrap());
    publish(log.clone(), &simulated(2)).await;
    let stats = Arc::new(ConsumerStats::default());
    let pipeline = PricePipeline::new(
        log.clone(),
        Arc::new(BrokenStore { inner }),
        config(),
        stats.clone(),
    )
    .await
    .unwrap();
    let result = tokio::time::timeout(
        Duration::from_secs(30),
        pipeline.run(CancellationToken::new()),
    )
    .await
    .expect("a permanent error ends the run");
    let err = result.expect_err("the run reports the error");
    assert!(err.to_string().contains("permanent rejection"), "{err}");
    assert_eq!(stats.state(), ConsumerState::Failed);
    let why = stats
        .check_alive()
        .expect_err("a failed consumer is not alive");
    assert!(why.contains("permanent rejection"), "{why}");
    // Nothing was committed: a restart reads it all again.
    let committed = log
        .group_offsets("cryptoviz-analytics", topics::PRICES)
        .await
        .unwrap();
    assert!(committed.iter().all(Option::is_none), "{committed:?}");
}
