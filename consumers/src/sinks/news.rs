//! Articles as points of `crypto_news`, Fear & Greed readings as points of `fear_greed`.
//!
//! Only the publisher (`source`) is a tag: a guid or a title as a tag would make one series per
//! article (unbounded cardinality in InfluxDB). Two articles of one publisher may share a
//! publication millisecond, so the point's time is the publication time plus a sub-millisecond
//! offset derived from the guid (`crc32(guid) mod 1 ms`, in nanoseconds): distinct articles get
//! distinct points, and the same article always gets the same point, so a replay overwrites it.

use std::sync::{Arc, LazyLock};

use cryptoviz_schemas::{CryptoNews, MarketSentiment};
use cryptoviz_store::WriteBatch;
use datafusion::arrow::array::{
    ArrayRef, Float64Builder, Int64Builder, StringBuilder, TimestampNanosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

use super::{ms_to_ns, time_field};
use crate::Result;
use crate::measurements::{FEAR_GREED, NEWS, SOURCE_TAG};

static NEWS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        time_field(),
        Field::new(SOURCE_TAG, DataType::Utf8, false),
        Field::new("guid", DataType::Utf8, true),
        Field::new("title", DataType::Utf8, true),
        Field::new("summary", DataType::Utf8, true),
        Field::new("link", DataType::Utf8, true),
        Field::new("published_at", DataType::Int64, true),
        Field::new("fetched_at", DataType::Int64, true),
        Field::new("sentiment_score", DataType::Float64, true),
        Field::new("sentiment_label", DataType::Utf8, true),
        Field::new("coins", DataType::Utf8, true),
    ]))
});

static FEAR_GREED_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        time_field(),
        Field::new(SOURCE_TAG, DataType::Utf8, false),
        Field::new("value", DataType::Int64, true),
        Field::new("classification", DataType::Utf8, true),
    ]))
});

/// The point time of an article: publication time plus a stable per-guid offset below 1 ms.
pub fn article_time_ns(article: &CryptoNews) -> i64 {
    let jitter = i64::from(crc32fast::hash(article.guid.as_bytes()) % 1_000_000);
    ms_to_ns(article.published_at_ms).saturating_add(jitter)
}

/// A `crypto_news` batch (`None` when there is nothing to write). `coins` is stored as a
/// comma-separated list of coin ids.
pub fn news_batch(articles: &[CryptoNews]) -> Result<Option<WriteBatch>> {
    if articles.is_empty() {
        return Ok(None);
    }
    let mut time = TimestampNanosecondBuilder::new().with_timezone("UTC");
    let mut source = StringBuilder::new();
    let mut text: [StringBuilder; 4] = std::array::from_fn(|_| StringBuilder::new());
    let mut published = Int64Builder::new();
    let mut fetched = Int64Builder::new();
    let mut score = Float64Builder::new();
    let mut label = StringBuilder::new();
    let mut coins = StringBuilder::new();
    for a in articles {
        time.append_value(article_time_ns(a));
        source.append_value(&a.source);
        text[0].append_value(&a.guid);
        text[1].append_value(&a.title);
        text[2].append_option(a.summary.as_deref());
        text[3].append_value(&a.link);
        published.append_value(a.published_at_ms);
        fetched.append_value(a.fetched_at_ms);
        score.append_option(a.sentiment_score);
        label.append_option(a.sentiment_label.as_deref());
        coins.append_value(a.coins.join(","));
    }
    let mut columns: Vec<ArrayRef> = vec![Arc::new(time.finish()), Arc::new(source.finish())];
    columns.extend(text.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.push(Arc::new(published.finish()));
    columns.push(Arc::new(fetched.finish()));
    columns.push(Arc::new(score.finish()));
    columns.push(Arc::new(label.finish()));
    columns.push(Arc::new(coins.finish()));
    let batch = RecordBatch::try_new(NEWS_SCHEMA.clone(), columns)?;
    Ok(Some(WriteBatch::new(NEWS, vec![SOURCE_TAG.into()], batch)?))
}

/// A `fear_greed` batch (`None` when there is nothing to write).
pub fn fear_greed_batch(readings: &[MarketSentiment]) -> Result<Option<WriteBatch>> {
    if readings.is_empty() {
        return Ok(None);
    }
    let mut time = TimestampNanosecondBuilder::new().with_timezone("UTC");
    let mut source = StringBuilder::new();
    let mut value = Int64Builder::new();
    let mut class = StringBuilder::new();
    for r in readings {
        time.append_value(ms_to_ns(r.timestamp_ms));
        source.append_value(&r.source);
        value.append_value(i64::from(r.value));
        class.append_value(&r.classification);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(time.finish()),
        Arc::new(source.finish()),
        Arc::new(value.finish()),
        Arc::new(class.finish()),
    ];
    let batch = RecordBatch::try_new(FEAR_GREED_SCHEMA.clone(), columns)?;
    Ok(Some(WriteBatch::new(
        FEAR_GREED,
        vec![SOURCE_TAG.into()],
        batch,
    )?))
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
