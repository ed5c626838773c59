//! The publisher validates, publishes the good records and dead-letters the bad ones.

use std::time::Duration;

use cryptoviz_log::{EmbeddedLog, EmbeddedLogConfig, Log};
use cryptoviz_producers::{Publisher, SourceStatus};
use cryptoviz_schemas::{CryptoPrice, DlqRecord, topics};

fn price(id: &str, price_usd: f64, ts: i64) -> CryptoPrice {
    CryptoPrice {
        crypto_id: id.into(),
        symbol: id.to_uppercase(),
        name: id.into(),
        source: "test".into(),
        price_usd,
        volume_24h: Some(10.0),
        timestamp_ms: ts,
        ..CryptoPrice::default()
    }
}

#[tokio::test]
async fn invalid_records_go_to_the_dlq_and_the_rest_publishes() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(EmbeddedLogConfig::new(dir.path())).unwrap();
    let status = SourceStatus::new("test");
    let publisher = Publisher::new(log.clone(), "test", status.clone());
    let now = 1_767_225_600_000;
    let records = vec![
        price("bitcoin", 95_000.0, now),
        price("ethereum", f64::NAN, now),
        price("solana", 150.0, now),
        price("", 1.0, now),
    ];
    let report = publisher.publish(&records, now).await.unwrap();
    assert_eq!((report.published, report.rejected), (2, 2));
    let snapshot = status.snapshot();
    assert_eq!((snapshot.published, snapshot.rejected), (2, 2));

    let mut consumer = log
        .subscribe("t", &[topics::PRICES, topics::DLQ])
        .await
        .unwrap();
    let mut prices = Vec::new();
    let mut dead = Vec::new();
    for _ in 0..20 {
        for r in consumer
            .poll(100, Duration::from_millis(100))
            .await
            .unwrap()
        {
            if &*r.topic == topics::PRICES {
                prices.push(cryptoviz_schemas::decode::<CryptoPrice>(&r.value).unwrap());
                assert_eq!(
                    r.key.as_deref(),
                    Some(prices.last().unwrap().crypto_id.as_bytes())
                );
            } else {
                dead.push(cryptoviz_schemas::decode::<DlqRecord>(&r.value).unwrap());
            }
        }
        if prices.len() + dead.len() == 4 {
            break;
        }
    }
    let mut ids: Vec<_> = prices.iter().map(|p| p.crypto_id.clone()).collect();
    ids.sort();
    assert_eq!(ids, ["bitcoin", "solana"]);
    assert_eq!(dead.len(), 2);
    let reasons: Vec<_> = dead.iter().map(|d| d.reason.clone()).collect();
    assert!(
        reasons.iter().any(|r| r.contains("price_usd")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("crypto_id")),
        "{reasons:?}"
    );
    assert!(
        dead.iter()
            .all(|d| d.original_topic == topics::PRICES && d.source == "test")
    );
    // The raw payload is kept: the JSON form of the rejected record.
    let raw: serde_json::Value = serde_json::from_slice(&dead[0].payload).unwrap();
    assert!(raw.get("crypto_id").is_some());
}
