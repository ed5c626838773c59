//! The consumer of the low-rate topics: `crypto-news` → `crypto_news` and
//! `crypto-market-sentiment` → `fear_greed`, and the hourly `crypto_sentiment` of the hours the
//! articles fall in.
//!
//! These records are not windowed, so delivery is simpler than the price pipeline's: poll,
//! decode (undecodable bytes become dead letters), write the points, and only after the store
//! acknowledged them commit the next offsets. A crash replays from the last commit and the
//! idempotent point identities (see [`crate::sinks::news`]) make the rewrite harmless.
//!
//! Articles are scored and tagged with coins on the way ([`crate::sentiment`]) unless their
//! producer already did; the score is a pure function of the text, so a replay writes the
//! same values.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use cryptoviz_log::{Committed, Log, LogConsumer, SeekTo, TopicPartition};
use cryptoviz_schemas::{CryptoNews, DlqRecord, MarketSentiment, topics};
use cryptoviz_store::Store;
use tokio_util::sync::CancellationToken;

use crate::Result;
use crate::decode::decode;
use crate::pipeline::{append_dead_letters, write_with_retry};
use crate::replay::ReplayBounds;
use crate::sentiment;
use crate::sinks::news::{fear_greed_batch, news_batch};
use crate::sinks::sentiment::{hour_of, recompute};
use crate::stats::ConsumerStats;
use crate::supervise::{self, Ended, Supervised};

/// The topics this consumer reads.
pub const TOPICS: [&str; 2] = [topics::NEWS, topics::SENTIMENT];

/// Consumer of news and market-sentiment records.
pub struct RecordsPipeline {
    log: Arc<dyn Log>,
    store: Arc<dyn Store>,
    consumer: Box<dyn LogConsumer>,
    stats: Arc<ConsumerStats>,
    poll_max: usize,
    name: String,
    /// Set for a replay: read these bounds instead of resuming from the committed offsets.
    replay: Option<ReplayBounds>,
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
        Self::start(log, store, group, &TOPICS, poll_max, stats, None).await
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
        Self::start(log, store, group, topics, poll_max, stats, Some(bounds)).await
    }

    /// The replay's bounds and progress, for a replay.
    pub fn replay_bounds(&self) -> Option<&ReplayBounds> {
        self.replay.as_ref()
    }

    async fn start(
        log: Arc<dyn Log>,
        store: Arc<dyn Store>,
        group: &str,
        topics: &[&str],
        poll_max: usize,
        stats: Arc<ConsumerStats>,
        replay: Option<ReplayBounds>,
    ) -> Result<Self> {
        for topic in topics {
            log.ensure_topic(topic, 3).await?;
        }
        let consumer = log.subscribe(group, topics).await?;
        let mut pipeline = Self {
            log,
            store,
            consumer,
            stats,
            poll_max,
            name: format!("consumer:{group}"),
            replay,
        };
        pipeline.restore().await?;
        Ok(pipeline)
    }

    /// Runs until `shutdown` fires; everything read has been written and committed when it
    /// returns (a poll is written before the next one starts).
    ///
    /// Retryable errors are retried with back-off, each time resuming from the last commit;
    /// a permanent one ends the run (see [`crate::supervise`]).
    pub async fn run(mut self, shutdown: CancellationToken) -> Result<()> {
        let ended = supervise::run(&mut self, &shutdown).await?;
        if ended == Ended::Shutdown {
            tracing::info!(consumer = %self.name, "consumer drained");
        }
        supervise::drained(&self.stats, &self.name, &Ok(()));
        Ok(())
    }

    /// One poll, written and committed; returns how many records were read.
    pub async fn step(&mut self) -> Result<usize> {
        let records = self
            .consumer
            .poll(self.poll_max, Duration::from_millis(200))
            .await?;
        if self.consumer.take_assignment_change().is_some() {
            // Re-read from the committed offsets of the new assignment.
            self.restore().await?;
            return Ok(0);
        }
        if records.is_empty() {
            return Ok(0);
        }
        let now_ms = cryptoviz_schemas::now_ms();
        let mut news = Vec::new();
        let mut sentiment = Vec::new();
        let mut dead: Vec<DlqRecord> = Vec::new();
        let mut next: BTreeMap<TopicPartition, u64> = BTreeMap::new();
        for record in &records {
            if let Some(bounds) = self.replay.as_mut()
                && !bounds.keep(record)
            {
                continue;
            }
            next.insert(
                TopicPartition::new(&*record.topic, record.partition),
                record.offset + 1,
            );
            let decoded = if &*record.topic == topics::NEWS {
                decode::<CryptoNews>(record, &self.name, now_ms).map(|n| news.push(enrich(n)))
            } else {
                decode::<MarketSentiment>(record, &self.name, now_ms).map(|s| sentiment.push(s))
            };
            if let Err(letter) = decoded {
                tracing::warn!(reason = %letter.reason, "dead-lettering a record");
                dead.push(letter);
            }
        }
        if !dead.is_empty() {
            append_dead_letters(self.log.as_ref(), &dead).await?;
            self.stats.add_dead_letters(dead.len() as u64);
        }
        let batches: Vec<_> = [news_batch(&news)?, fear_greed_batch(&sentiment)?]
            .into_iter()
            .flatten()
            .collect();
        if !batches.is_empty() {
            write_with_retry(self.store.as_ref(), &self.stats, batches).await?;
        }
        // The hours these articles fall in, recomputed from the store now that they are in it.
        let hours: BTreeSet<i64> = news.iter().map(|n| hour_of(n.published_at_ms)).collect();
        if let Some(hourly) = recompute(self.store.as_ref(), &hours).await? {
            write_with_retry(self.store.as_ref(), &self.stats, vec![hourly]).await?;
        }
        self.stats
            .add_records((news.len() + sentiment.len()) as u64);
        let offsets: Vec<_> = next
            .into_iter()
            .map(|(tp, offset)| {
                (
                    tp,
                    Committed {
                        offset,
                        metadata: String::new(),
                    },
                )
            })
            .collect();
        self.consumer.commit(&offsets).await?;
        self.stats.add_commit();
        Ok(records.len())
    }

    async fn restore(&mut self) -> Result<()> {
        for tp in self.consumer.assignment() {
            let start = match (&self.replay, self.consumer.committed(&tp).await?) {
                (Some(bounds), _) => bounds.seek_to(),
                (None, Some(c)) => SeekTo::Offset(c.offset),
                (None, None) => SeekTo::Beginning,
            };
            self.consumer.seek(&tp, start).await?;
        }
        Ok(())
    }
}

impl Supervised for RecordsPipeline {
    fn name(&self) -> &str {
        &self.name
    }

    fn stats(&self) -> &ConsumerStats {
        &self.stats
    }

    async fn step(&mut self) -> Result<usize> {
        RecordsPipeline::step(self).await
    }

    async fn recover(&mut self) -> Result<()> {
        self.stats.add_restart();
        self.restore().await
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
