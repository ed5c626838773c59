//! Articles as points of `crypto_news`, Fear & Greed readings as points of `fear_greed`.
//!
//! Only the publisher (`source`) is a tag: a guid or a title as a tag would make one series per
//! article (unbounded cardinality in InfluxDB). Two articles of one publisher may share a
//! publication millisecond, so the point's time is the publication time plus a sub-millisecond
//! offset derived from the guid (`crc32(guid) mod 1 ms`, in nanoseconds): distinct articles get
//! distinct points, and the same article always gets the same point, so a replay overwrites it.

use cryptoviz_measurements::fear_greed::FearGreedRow;
use cryptoviz_measurements::news::{CoinList, NewsRow};
use cryptoviz_measurements::sentiment::Label;
use cryptoviz_measurements::{Measurement, Time};
use cryptoviz_schemas::{CryptoNews, MarketSentiment};
use cryptoviz_store::WriteBatch;

use super::ms_to_ns;
use crate::Result;

/// The point time of an article: publication time plus a stable per-guid offset below 1 ms.
pub fn article_time_ns(article: &CryptoNews) -> i64 {
    let jitter = i64::from(crc32fast::hash(article.guid.as_bytes()) % 1_000_000);
    ms_to_ns(article.published_at_ms).saturating_add(jitter)
}

/// The stored row of an article. `coins` is stored as a comma-separated list of coin ids; a
/// label outside the closed set (producers send none; the consumers' own are in it) is not
/// stored.
pub fn news_row(a: &CryptoNews) -> NewsRow {
    NewsRow {
        time: Time(article_time_ns(a)),
        source: a.source.clone(),
        guid: Some(a.guid.clone()),
        title: Some(a.title.clone()),
        summary: a.summary.clone(),
        link: Some(a.link.clone()),
        published_at: Some(a.published_at_ms),
        fetched_at: Some(a.fetched_at_ms),
        sentiment_score: a.sentiment_score,
        sentiment_label: a.sentiment_label.as_deref().and_then(Label::parse),
        coins: CoinList(a.coins.clone()),
    }
}

/// A `crypto_news` batch (`None` when there is nothing to write).
pub fn news_batch(articles: &[CryptoNews]) -> Result<Option<WriteBatch>> {
    let rows: Vec<NewsRow> = articles.iter().map(news_row).collect();
    Ok(NewsRow::to_batch(&rows)?)
}

/// A `fear_greed` batch (`None` when there is nothing to write).
pub fn fear_greed_batch(readings: &[MarketSentiment]) -> Result<Option<WriteBatch>> {
    let rows: Vec<FearGreedRow> = readings
        .iter()
        .map(|r| FearGreedRow {
            time: Time::from_ms(r.timestamp_ms),
            source: r.source.clone(),
            value: Some(i64::from(r.value)),
            classification: Some(r.classification.clone()),
        })
        .collect();
    Ok(FearGreedRow::to_batch(&rows)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article(guid: &str, ms: i64) -> CryptoNews {
        CryptoNews {
            guid: guid.into(),
            title: "t".into(),
            summary: None,
            link: "https://x.test/a".into(),
            source: "coindesk".into(),
            published_at_ms: ms,
            fetched_at_ms: ms,
            sentiment_score: None,
            sentiment_label: None,
            coins: vec!["bitcoin".into(), "ethereum".into()],
        }
    }

    #[test]
    fn same_guid_same_point_distinct_guids_distinct_points() {
        let a = article("guid-a", 1_700_000_000_000);
        let b = article("guid-b", 1_700_000_000_000);
        assert_eq!(article_time_ns(&a), article_time_ns(&a.clone()));
        assert_ne!(article_time_ns(&a), article_time_ns(&b));
        let offset = article_time_ns(&a) - 1_700_000_000_000_000_000;
        assert!((0..1_000_000).contains(&offset), "{offset}");
    }

    #[test]
    fn batches_have_one_row_per_record() {
        let wb = news_batch(&[article("a", 1), article("b", 2)])
            .unwrap()
            .unwrap();
        assert_eq!(wb.batch.num_rows(), 2);
        assert_eq!(wb.tags, vec!["source".to_string()]);
        assert!(news_batch(&[]).unwrap().is_none());
        let fg = fear_greed_batch(&[MarketSentiment {
            source: "alternative.me".into(),
            value: 40,
            classification: "Fear".into(),
            timestamp_ms: 1_700_000_000_000,
        }])
        .unwrap()
        .unwrap();
        assert_eq!(fg.batch.num_rows(), 1);
    }
}
