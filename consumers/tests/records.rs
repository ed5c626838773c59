//! The news and sentiment consumer in process: articles are scored and tagged, stored in
//! `crypto_news`, and the hourly `crypto_sentiment` per coin and market-wide is recomputed
//! from the stored articles, so a replay leaves it unchanged.

use std::sync::Arc;

use cryptoviz_consumers::sentiment;
use cryptoviz_consumers::{ConsumerStats, RecordsPipeline};
use cryptoviz_log::{EmbeddedLog, EmbeddedLogConfig};
use cryptoviz_producers::{Publisher, SourceStatus};
use cryptoviz_schemas::{CryptoNews, MarketSentiment};
use cryptoviz_store::{EmbeddedStore, EmbeddedStoreConfig};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};

const H: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn article(guid: &str, title: &str, ms: i64) -> CryptoNews {
    CryptoNews {
        guid: guid.into(),
        title: title.into(),
        summary: None,
        link: format!("https://news.test/{guid}"),
        source: "testfeed".into(),
        published_at_ms: ms,
        fetched_at_ms: ms,
        sentiment_score: None,
        sentiment_label: None,
        coins: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn articles_are_scored_and_hourly_sentiment_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(EmbeddedLogConfig::new(dir.path().join("log"))).unwrap();
    let store =
        Arc::new(EmbeddedStore::open(EmbeddedStoreConfig::new(dir.path().join("store"))).unwrap());
    let articles = [
        article("a", "Bitcoin surges to a record high", H + 60_000),
        article(
            "b",
            "Hackers drain an Ethereum bridge; BTC slips",
            H + 120_000,
        ),
        article(
            "c",
            "Solana developers schedule a community call",
            H + 3_700_000,
        ),
    ];
    let publisher = Publisher::new(log.clone(), "test", SourceStatus::new("test"));
    publisher.publish(&articles, H + 86_400_000).await.unwrap();
    let reading = MarketSentiment {
        source: "alternative.me".into(),
        value: 30,
        classification: "Fear".into(),
        timestamp_ms: H,
    };
    publisher.publish(&[reading], H + 86_400_000).await.unwrap();

    let stats = Arc::new(ConsumerStats::default());
    let mut p = RecordsPipeline::new(log.clone(), store.clone(), "records", 100, stats.clone())
        .await
        .unwrap();
    while stats.snapshot().records < 4 {
        p.step().await.unwrap();
    }

    let news = store
        .sql("SELECT guid, sentiment_label, coins FROM crypto_news ORDER BY guid")
        .await
        .unwrap();
    assert_eq!(text(&news[0], 1, 0), "positive");
    assert_eq!(text(&news[0], 1, 1), "negative");
    assert_eq!(text(&news[0], 1, 2), "neutral");
    assert_eq!(text(&news[0], 2, 1), "ethereum,bitcoin");

    let query = "SELECT crypto_id, CAST(time AS BIGINT) / 1000000 AS t, score, articles, positive, negative \
                 FROM crypto_sentiment ORDER BY t, crypto_id";
    let hourly = store.sql(query).await.unwrap();
    let rows = |batches: &[cryptoviz_store::RecordBatch]| {
        let mut out = Vec::new();
        for b in batches {
            for r in 0..b.num_rows() {
                out.push((
                    text(b, 0, r),
                    b.column(1).as_primitive::<Int64Type>().value(r),
                    b.column(2).as_primitive::<Float64Type>().value(r),
                    b.column(3).as_primitive::<Int64Type>().value(r),
                    b.column(4).as_primitive::<Int64Type>().value(r),
                    b.column(5).as_primitive::<Int64Type>().value(r),
                ));
            }
        }
        out
    };
    let first = rows(&hourly);
    let (sa, sb) = (
        sentiment::score(&articles[0].title).score,
        sentiment::score(&articles[1].title).score,
    );
    let ids: Vec<(&str, i64, i64)> = first.iter().map(|r| (r.0.as_str(), r.1, r.3)).collect();
    assert_eq!(
        ids,
        [
            ("bitcoin", H, 2),
            ("ethereum", H, 1),
            ("market", H, 2),
            ("market", H + 3_600_000, 1),
            ("solana", H + 3_600_000, 1),
        ]
    );
    let market = &first[2];
    assert!((market.2 - (sa + sb) / 2.0).abs() < 1e-12, "{market:?}");
    assert_eq!((market.4, market.5), (1, 1));

    // A replay of the same articles (a redelivery after a crash) rewrites the same points.
    publisher.publish(&articles, H + 86_400_000).await.unwrap();
    while stats.snapshot().records < 7 {
        p.step().await.unwrap();
    }
    assert_eq!(rows(&store.sql(query).await.unwrap()), first);
    let n = store.sql("SELECT count(*) FROM crypto_news").await.unwrap();
    assert_eq!(n[0].column(0).as_primitive::<Int64Type>().value(0), 3);
    let fg = store.sql("SELECT value FROM fear_greed").await.unwrap();
    assert_eq!(fg[0].column(0).as_primitive::<Int64Type>().value(0), 30);
}

/// Row `row` of string column `col`, whatever the string layout the store returns.
fn text(batch: &cryptoviz_store::RecordBatch, col: usize, row: usize) -> String {
    let utf8 = cast(batch.column(col), &DataType::Utf8).unwrap();
    utf8.as_string::<i32>().value(row).to_string()
}
