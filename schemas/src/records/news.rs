//! `CryptoNews`: one news article (topic `crypto-news`).

use std::sync::LazyLock;

use apache_avro::{Schema, types::Value};
use serde::{Deserialize, Serialize};

use crate::codec::{Reader, put_long, put_opt_double, put_opt_str, put_str, put_str_array};
use crate::validate::{in_range, non_empty, tag_value, timestamp};
use crate::value::Fields;
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
    const SCHEMA_ID: u32 = 2;
    const FULL_NAME: &'static str = "io.cryptoviz.CryptoNews";
    const TOPIC: &'static str = topics::NEWS;

    fn schema() -> &'static Schema {
        &SCHEMA
    }

    fn encode_datum(&self, out: &mut Vec<u8>) {
        put_str(out, &self.guid);
        put_str(out, &self.title);
        put_opt_str(out, self.summary.as_deref());
        put_str(out, &self.link);
        put_str(out, &self.source);
        put_long(out, self.published_at_ms);
        put_long(out, self.fetched_at_ms);
        put_opt_double(out, self.sentiment_score);
        put_opt_str(out, self.sentiment_label.as_deref());
        put_str_array(out, &self.coins);
    }

    fn decode_datum(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let msg = Self {
            guid: r.string("guid")?,
            title: r.string("title")?,
            summary: r.opt_string("summary")?,
            link: r.string("link")?,
            source: r.string("source")?,
            published_at_ms: r.long("published_at")?,
            fetched_at_ms: r.long("fetched_at")?,
            sentiment_score: r.opt_double("sentiment_score")?,
            sentiment_label: r.opt_string("sentiment_label")?,
            coins: r.str_array("coins")?,
        };
        r.finish()?;
        Ok(msg)
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

    fn from_avro_value(v: Value) -> Result<Self> {
        let mut f = Fields::new(v, "CryptoNews")?;
        Ok(Self {
            guid: f.string("guid")?,
            title: f.string("title")?,
            summary: f.opt_string("summary")?,
            link: f.string("link")?,
            source: f.string("source")?,
            published_at_ms: f.timestamp_ms("published_at")?,
            fetched_at_ms: f.timestamp_ms("fetched_at")?,
            sentiment_score: f.opt_double("sentiment_score")?,
            sentiment_label: f.opt_string("sentiment_label")?,
            coins: f.string_array("coins")?,
        })
    }
}
