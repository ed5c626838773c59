//! The consumer of the low-rate topics: `crypto-news` → `crypto_news` and
//! `crypto-market-sentiment` → `fear_greed`, and the hourly `crypto_sentiment` of the hours the
//! articles fall in.
//!
//! These records are not windowed, so delivery is simpler than the price pipeline's: poll,
//! decode (undecodable bytes become dead letters), write the points, and only after the store
//! acknowledged them commit the next offsets — all within the step that polled them. A crash
//! replays from the last commit and the idempotent point identities (see
//! [`crate::sinks::news`]) make the rewrite harmless.
//!
//! Articles are scored and tagged with coins on the way ([`crate::sentiment`]) unless their
//! producer already did; the score is a pure function of the text, so a replay writes the
//! same values.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use cryptoviz_log::{Committed, ConsumedRecord, Log, TopicPartition};
use cryptoviz_schemas::{CryptoNews, DlqRecord, MarketSentiment, topics};
use cryptoviz_store::Store;
use tokio_util::sync::CancellationToken;

use super::Context;
use super::commit::PendingCommit;
use super::delivery::{self, write_with_retry};
use super::driver::{Driver, Flush, Operator};
use crate::Result;
use crate::decode::decode;
use crate::replay::ReplayBounds;
use crate::sentiment;
use crate::sinks::news::{fear_greed_batch, news_batch};
use crate::sinks::sentiment::{hour_of, recompute};
use crate::stats::ConsumerStats;

/// The topics this consumer reads.
pub const TOPICS: [&str; 2] = [topics::NEWS, topics::SENTIMENT];

/// Consumer of news and market-sentiment records.
pub struct RecordsPipeline {
    driver: Driver<Records>,
}

impl RecordsPipeline {
    /// Joins consumer group `group` for the news and sentiment topics.
    pub async fn new(
        log: Arc<dyn Log>,
        store: Arc<dyn Store>,
        group: &str,
        poll_max: usize,
        stats: Arc<ConsumerStats>,
    ) -> Result<Self> {
        let cx = Context::new(log, store, stats, group, None);
        Self::start(cx, &TOPICS, poll_max).await
    }

    /// A replay of `topics` (some of [`TOPICS`]) over `bounds` in group `group`, which should
    /// not be the live consumers' group.
    pub async fn replay(
        log: Arc<dyn Log>,
        store: Arc<dyn Store>,
        group: &str,
        topics: &[&str],
        poll_max: usize,
        stats: Arc<ConsumerStats>,
        bounds: ReplayBounds,
    ) -> Result<Self> {
        let cx = Context::new(log, store, stats, group, Some(bounds));
        Self::start(cx, topics, poll_max).await
    }

    /// The replay's bounds and progress, for a replay.
    pub fn replay_bounds(&self) -> Option<&ReplayBounds> {
        self.driver.cx.replay.as_ref()
    }

    async fn start(cx: Context, topics: &[&str], poll_max: usize) -> Result<Self> {
        for topic in topics {
            cx.log.ensure_topic(topic, 3).await?;
        }
        let driver = Driver::start(cx, topics, poll_max, Records::default()).await?;
        Ok(Self { driver })
    }

    /// Runs until `shutdown` fires; everything read has been written and committed when it
    /// returns (a poll is written before the next one starts).
    ///
    /// Retryable errors are retried with back-off, each time resuming from the last commit;
    /// a permanent one ends the run (see [`crate::supervise`]).
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        self.driver.run(shutdown).await
    }

    /// One poll, written and committed; returns how many records were read.
    pub async fn step(&mut self) -> Result<usize> {
        self.driver.step().await
    }
}

/// The records operator: what one poll decoded, until its write.
#[derive(Default)]
pub(crate) struct Records {
    news: Vec<CryptoNews>,
    sentiment: Vec<MarketSentiment>,
    /// Next offset per partition read by the poll.
    next: BTreeMap<TopicPartition, u64>,
    /// A poll delivered records (perhaps none a replay keeps): it writes and commits.
    dirty: bool,
}

impl Operator for Records {
    const POLL_TIMEOUT: Duration = Duration::from_millis(200);
    const OVERLAP_WRITES: bool = false;

    fn process_batch(&mut self, cx: &Context, batch: &[ConsumedRecord], dead: &mut Vec<DlqRecord>) {
        let now_ms = cryptoviz_schemas::now_ms();
        for record in batch {
            self.next.insert(
                TopicPartition::new(&*record.topic, record.partition),
                record.offset + 1,
            );
            let decoded = if &*record.topic == topics::NEWS {
                decode::<CryptoNews>(record, &cx.name, now_ms).map(|n| self.news.push(enrich(n)))
            } else {
                decode::<MarketSentiment>(record, &cx.name, now_ms).map(|s| self.sentiment.push(s))
            };
            if let Err(letter) = decoded {
                tracing::warn!(reason = %letter.reason, "dead-lettering a record");
                dead.push(letter);
            }
        }
        self.dirty = true;
    }

    fn flush_due(&self, _since_flush: Duration) -> bool {
        self.dirty
    }

    /// The points, then the hours their articles fall in, recomputed from the store once the
    /// points are in it; the next offsets follow.
    async fn handle_checkpoint(&mut self, cx: &Context) -> Result<Option<Flush>> {
        if !self.dirty {
            return Ok(None);
        }
        let news = std::mem::take(&mut self.news);
        let sentiment = std::mem::take(&mut self.sentiment);
        let next = std::mem::take(&mut self.next);
        self.dirty = false;
        let batches: Vec<_> = [news_batch(&news)?, fear_greed_batch(&sentiment)?]
            .into_iter()
            .flatten()
            .collect();
        let hours: BTreeSet<i64> = news.iter().map(|n| hour_of(n.published_at_ms)).collect();
        let points = delivery::write(cx.store.clone(), cx.stats.clone(), batches);
        let (store, stats) = (cx.store.clone(), cx.stats.clone());
        let write = Box::pin(async move {
            points.await?;
            if let Some(hourly) = recompute(store.as_ref(), &hours).await? {
                write_with_retry(store.as_ref(), &stats, vec![hourly]).await?;
            }
            Result::<()>::Ok(())
        });
        let records = (news.len() + sentiment.len()) as u64;
        Ok(Some(Flush {
            write,
            commit: PendingCommit::Offsets(next.into_iter().collect()),
            on_ack: Box::new(move |stats: &ConsumerStats| stats.add_records(records)),
        }))
    }

    /// Nothing to rebuild: the driver has positioned the partitions.
    async fn restore(
        &mut self,
        _: &Context,
        _: &[(TopicPartition, Option<Committed>)],
    ) -> Result<()> {
        Ok(())
    }

    fn reset(&mut self) {
        *self = Self::default();
    }

    /// A step cut short by the shutdown may leave a poll decoded but not written: it is
    /// dropped, uncommitted, to be read again at the next start.
    fn drain(&mut self, _: &Context) {
        self.reset();
    }
}

/// Scores an article and tags its coins, unless its producer already did.
pub fn enrich(mut article: CryptoNews) -> CryptoNews {
    let text = match &article.summary {
        Some(summary) => format!("{}. {summary}", article.title),
        None => article.title.clone(),
    };
    if article.sentiment_score.is_none() {
        let s = sentiment::score(&text);
        article.sentiment_score = Some(s.score);
        article.sentiment_label = Some(s.label.as_str().to_string());
    }
    if article.coins.is_empty() {
        article.coins = sentiment::tag_coins(&text);
    }
    article
}
