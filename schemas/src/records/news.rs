//! `CryptoNews`: one news article (topic `crypto-news`).

use std::sync::LazyLock;

use apache_avro::Schema;
use serde::{Deserialize, Serialize};

use super::fields::message_codec;
use crate::validate::{in_range, non_empty, tag_value, timestamp};
use crate::{Message, Result, ValidationError, topics};

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    super::parse_embedded(
        include_str!("../../avro/crypto_news.avsc"),
        "crypto_news.avsc",
    )
});

/// One news article, optionally scored for sentiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CryptoNews {
    /// Feed-unique article id, used for de-duplication.
    pub guid: String,
    /// Headline.
    pub title: String,
    /// Short summary, if the feed has one.
    pub summary: Option<String>,
    /// Article URL.
    pub link: String,
    /// Feed the article came from.
    pub source: String,
    /// Publication time, ms since the Unix epoch (event time; Avro field `published_at`).
    pub published_at_ms: i64,
    /// When the pipeline fetched it, ms since the Unix epoch (Avro field `fetched_at`).
    pub fetched_at_ms: i64,
    /// Sentiment in [-1, 1], if scored.
    pub sentiment_score: Option<f64>,
    /// Sentiment label, e.g. `positive`, if scored.
    pub sentiment_label: Option<String>,
    /// Ids of the coins the article mentions.
    pub coins: Vec<String>,
}

impl Message for CryptoNews {
    message_codec! {
        id: 2, name: "io.cryptoviz.CryptoNews", topic: topics::NEWS, schema: SCHEMA,
        record "CryptoNews" {
            guid: "guid",
            title: "title",
            summary: "summary",
            link: "link",
            source: "source",
            published_at_ms: "published_at" as timestamp,
            fetched_at_ms: "fetched_at" as timestamp,
            sentiment_score: "sentiment_score",
            sentiment_label: "sentiment_label",
            coins: "coins",
        }
    }

    fn validate_at(&self, now_ms: i64) -> Result<(), ValidationError> {
        non_empty("guid", &self.guid)?;
        non_empty("title", &self.title)?;
        non_empty("link", &self.link)?;
        tag_value("source", &self.source)?;
        for coin in &self.coins {
            tag_value("coins", coin)?;
        }
        timestamp("published_at", self.published_at_ms, now_ms)?;
        timestamp("fetched_at", self.fetched_at_ms, now_ms)?;
        if let Some(score) = self.sentiment_score {
            in_range("sentiment_score", score, -1.0, 1.0)?;
        }
        Ok(())
    }
}
