//! Dead letters: list, show, and a replay that republishes what now passes, exactly once.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use cryptoviz_log::{
    Committed, ConsumedRecord, Log, LogConsumer, Produced, Record, Result, TopicPartition,
};
use cryptoviz_producers::dlq;
use cryptoviz_schemas::{CryptoPrice, topics};
use support::TestLog;

/// A log that counts the consumer groups joined through it.
struct Joins {
    inner: std::sync::Arc<dyn Log>,
    subscribes: AtomicUsize,
}

#[async_trait::async_trait]
impl Log for Joins {
    async fn ensure_topic(&self, topic: &str, partitions: u32) -> Result<()> {
        self.inner.ensure_topic(topic, partitions).await
    }
    async fn partition_count(&self, topic: &str) -> Result<u32> {
        self.inner.partition_count(topic).await
    }
    async fn append(&self, topic: &str, records: Vec<Record>) -> Result<Vec<Produced>> {
        self.inner.append(topic, records).await
    }
    async fn subscribe(&self, group: &str, topics: &[&str]) -> Result<Box<dyn LogConsumer>> {
        self.subscribes.fetch_add(1, Ordering::SeqCst);
        self.inner.subscribe(group, topics).await
    }
    async fn offsets(&self, topic: &str) -> Result<Vec<(u64, u64)>> {
        self.inner.offsets(topic).await
    }
    async fn group_offsets(&self, group: &str, topic: &str) -> Result<Vec<Option<Committed>>> {
        self.inner.group_offsets(group, topic).await
    }
    async fn read(
        &self,
        tp: &TopicPartition,
        from: u64,
        max: usize,
    ) -> Result<Vec<ConsumedRecord>> {
        self.inner.read(tp, from, max).await
    }
    async fn flush(&self) -> Result<()> {
        self.inner.flush().await
    }
}

fn price(id: &str, ts: i64) -> CryptoPrice {
    CryptoPrice {
        crypto_id: id.into(),
        symbol: "BTC".into(),
        name: "Bitcoin".into(),
        source: "coingecko".into(),
        price_usd: 97_000.0,
        timestamp_ms: ts,
        ..CryptoPrice::default()
    }
}

#[tokio::test]
async fn list_show_and_replay_once() {
    let log = TestLog::new();
    let (ctx, _) = log.ctx("coingecko");
    let now = cryptoviz_schemas::now_ms();
    // Judged against a clock two days behind, a current record looks like it is from the
    // future: dead-lettered now, valid when replayed against the real clock.
    let skewed = now - 2 * 86_400_000;
    let report = ctx
        .publisher
        .publish(&[price("bitcoin", now), price("", now)], skewed)
        .await
        .unwrap();
    assert_eq!(report.rejected, 2);
    ctx.publisher
        .reject(
            topics::PRICES,
            "coingecko: truncated JSON",
            b"[{".to_vec(),
            now,
        )
        .await
        .unwrap();

    let listed = dlq::list(log.log.as_ref(), 10).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(dlq::list(log.log.as_ref(), 1).await.unwrap().len(), 1);
    let (p, o, first) = &listed[0];
    let shown = dlq::show(log.log.as_ref(), &format!("{p}:{o}"))
        .await
        .unwrap();
    assert_eq!(shown.as_ref(), Some(first));
    assert_eq!(dlq::show(log.log.as_ref(), "99:0").await.unwrap(), None);
    assert_eq!(dlq::show(log.log.as_ref(), "nonsense").await.unwrap(), None);

    let report = dlq::replay(log.log.as_ref(), &ctx.publisher).await.unwrap();
    assert_eq!(
        (
            report.scanned,
            report.replayed,
            report.still_invalid,
            report.not_replayable
        ),
        (3, 1, 1, 1)
    );
    let prices = log.read::<CryptoPrice>().await;
    assert_eq!(prices.len(), 1);
    assert_eq!(prices[0].crypto_id, "bitcoin");

    // The group's committed offsets: a second replay republishes nothing.
    let again = dlq::replay(log.log.as_ref(), &ctx.publisher).await.unwrap();
    assert_eq!((again.scanned, again.replayed), (0, 0));
    assert_eq!(log.read::<CryptoPrice>().await.len(), 1);
}

/// Listing and showing are reads: they join no consumer group (a group per call used to be
/// kept by the embedded log for as long as it ran), and a list reads only the newest letters.
#[tokio::test]
async fn list_and_show_join_no_group() {
    let log = TestLog::new();
    let (ctx, _) = log.ctx("coingecko");
    let now = cryptoviz_schemas::now_ms();
    for i in 0..30 {
        ctx.publisher
            .reject(topics::PRICES, &format!("bad {i}"), b"[{".to_vec(), now + i)
            .await
            .unwrap();
    }
    let joins = Joins {
        inner: log.log.clone(),
        subscribes: AtomicUsize::new(0),
    };
    let listed = dlq::list(&joins, 5).await.unwrap();
    let reasons: Vec<_> = listed.iter().map(|(_, _, d)| d.reason.clone()).collect();
    assert_eq!(reasons, ["bad 25", "bad 26", "bad 27", "bad 28", "bad 29"]);
    assert_eq!(dlq::list(&joins, 100).await.unwrap().len(), 30);
    let (p, o, last) = &listed[4];
    let shown = dlq::show(&joins, &format!("{p}:{o}")).await.unwrap();
    assert_eq!(shown.as_ref(), Some(last));
    assert_eq!(joins.subscribes.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_empty_log_has_no_dead_letters() {
    let log = TestLog::new();
    let (ctx, _) = log.ctx("x");
    assert!(dlq::list(log.log.as_ref(), 10).await.unwrap().is_empty());
    assert_eq!(dlq::show(log.log.as_ref(), "0:0").await.unwrap(), None);
    assert_eq!(
        dlq::replay(log.log.as_ref(), &ctx.publisher)
            .await
            .unwrap()
            .scanned,
        0
    );
}

#[test]
fn dlq_futures_can_be_spawned() {
    fn assert_send<T: Send>(_: &T) {}
    let log = TestLog::new();
    let (ctx, _) = log.ctx("x");
    let l: &dyn cryptoviz_log::Log = log.log.as_ref();
    assert_send(&dlq::list(l, 1));
    assert_send(&dlq::show(l, "0:0"));
    assert_send(&dlq::replay(l, &ctx.publisher));
}
