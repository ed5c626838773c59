//! Writes, queries, dedup, schema evolution, validation, `last`, `sql`.

use std::sync::Arc;

use cryptoviz_store::{Error, Query, RecordBatch, Store, WriteBatch};
use datafusion::arrow::array::{Int64Array, StringArray, TimestampNanosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};

use crate::support::*;

#[tokio::test]
async fn write_query_round_trip_sorted_by_time_then_tags() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .write(vec![prices(&[
            ("eth", T0 + MIN, 2001.0),
            ("btc", T0 + MIN, 35001.0),
            ("btc", T0, 35000.0),
            ("eth", T0, 2000.0),
        ])])
        .await
        .unwrap();
    store
        .write(vec![prices(&[("btc", T0 + 2 * MIN, 35002.0)])])
        .await
        .unwrap();
    let out = store.query(&Query::new("prices")).await.unwrap();
    assert_eq!(names(&out), ["crypto_id", "time", "price"]);
    assert_eq!(
        strs(&out, "crypto_id"),
        ["btc", "eth", "btc", "eth", "btc"].map(|s| Some(s.to_owned()))
    );
    assert_eq!(times(&out), [T0, T0, T0 + MIN, T0 + MIN, T0 + 2 * MIN]);
    assert_eq!(
        f64s(&out, "price"),
        [35000.0, 2000.0, 35001.0, 2001.0, 35002.0].map(Some)
    );
    assert_eq!(store.measurements().await.unwrap(), ["prices"]);
    assert_eq!(
        store.tag_values("prices", "crypto_id").await.unwrap(),
        ["btc", "eth"]
    );
    assert!(store.query(&Query::new("nope")).await.unwrap().is_empty());
    store.ping().await.unwrap();
}

#[tokio::test]
async fn time_range_is_half_open_and_tag_filters_and() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let rows: Vec<(&'static str, i64, f64)> = (0..10)
        .flat_map(|i| {
            [
                ("btc", T0 + i * MIN, i as f64),
                ("eth", T0 + i * MIN, 100.0 + i as f64),
            ]
        })
        .collect();
    store.write(vec![prices(&rows)]).await.unwrap();

    let q = Query::new("prices").range(T0 + 2 * MIN, T0 + 5 * MIN);
    let out = store.query(&q).await.unwrap();
    assert_eq!(
        num_rows(&out),
        6,
        "[start, end) holds minutes 2, 3, 4 of two coins"
    );
    assert_eq!(*times(&out).first().unwrap(), T0 + 2 * MIN);
    assert_eq!(*times(&out).last().unwrap(), T0 + 4 * MIN);

    let out = store
        .query(&q.clone().tag("crypto_id", "eth"))
        .await
        .unwrap();
    assert_eq!(f64s(&out, "price"), [102.0, 103.0, 104.0].map(Some));

    let both = q.clone().tag("crypto_id", "eth").tag("crypto_id", "btc");
    assert!(store.query(&both).await.unwrap().is_empty(), "filters AND");
    let injection = q.clone().tag("crypto_id", "eth' OR '1'='1");
    assert!(store.query(&injection).await.unwrap().is_empty());
    let unknown_tag = q.clone().tag("exchange", "binance");
    assert!(store.query(&unknown_tag).await.unwrap().is_empty());

    let newest = Query::new("prices")
        .tag("crypto_id", "btc")
        .descending()
        .limit(3);
    let out = store.query(&newest).await.unwrap();
    assert_eq!(f64s(&out, "price"), [9.0, 8.0, 7.0].map(Some));
}

#[tokio::test]
async fn projection_returns_tags_time_and_requested_fields() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .write(vec![batch(
            "prices",
            vec![T0, T0 + MIN],
            vec![
                Col::Tag("crypto_id", vec!["btc", "btc"]),
                Col::F64("price", vec![Some(1.0), Some(2.0)]),
                Col::I64("volume", vec![Some(10), None]),
                Col::Str("source", vec![Some("coingecko"), Some("coingecko")]),
                Col::Bool("stale", vec![Some(false), Some(true)]),
            ],
        )])
        .await
        .unwrap();
    let out = store
        .query(&Query::new("prices").fields(["volume"]))
        .await
        .unwrap();
    assert_eq!(names(&out), ["crypto_id", "time", "volume"]);
    assert_eq!(i64s(&out, "volume"), [Some(10), None]);
    let err = store
        .query(&Query::new("prices").fields(["nope"]))
        .await
        .unwrap_err();
    assert!(
        err.is_user_error() && err.to_string().contains("`nope`"),
        "{err}"
    );
}

#[tokio::test]
async fn same_tags_and_time_overwrite_whole_row_also_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        // Inside one batch the later row wins too.
        store
            .write(vec![prices(&[
                ("btc", T0, 1.0),
                ("btc", T0, 2.0),
                ("eth", T0, 5.0),
            ])])
            .await
            .unwrap();
        store
            .write(vec![batch(
                "prices",
                vec![T0],
                vec![
                    Col::Tag("crypto_id", vec!["btc"]),
                    Col::I64("volume", vec![Some(7)]),
                ],
            )])
            .await
            .unwrap();
        let out = store.query(&Query::new("prices")).await.unwrap();
        assert_eq!(render(&out).len(), 2);
        assert_eq!(f64s(&out, "price"), [None, Some(5.0)], "whole row replaced");
        assert_eq!(i64s(&out, "volume"), [Some(7), None]);
    }
    let store = open(dir.path());
    let out = store.query(&Query::new("prices")).await.unwrap();
    assert_eq!(f64s(&out, "price"), [None, Some(5.0)]);
    assert_eq!(i64s(&out, "volume"), [Some(7), None]);
    // Replaying the same write is idempotent.
    store
        .write(vec![prices(&[("eth", T0, 5.0)])])
        .await
        .unwrap();
    store
        .write(vec![prices(&[("eth", T0, 5.0)])])
        .await
        .unwrap();
    assert_eq!(
        num_rows(&store.query(&Query::new("prices")).await.unwrap()),
        2
    );
}

#[tokio::test]
async fn schema_evolves_by_adding_and_omitting_fields() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .write(vec![prices(&[("btc", T0, 1.0)])])
        .await
        .unwrap();
    store
        .write(vec![batch(
            "prices",
            vec![T0 + MIN],
            vec![
                Col::Tag("crypto_id", vec!["btc"]),
                Col::F64("price", vec![Some(2.0)]),
                Col::I64("volume", vec![Some(20)]),
            ],
        )])
        .await
        .unwrap();
    store
        .write(vec![batch(
            "prices",
            vec![T0 + 2 * MIN],
            vec![
                Col::Tag("crypto_id", vec!["btc"]),
                Col::I64("volume", vec![Some(30)]),
            ],
        )])
        .await
        .unwrap();
    let out = store.query(&Query::new("prices")).await.unwrap();
    assert_eq!(names(&out), ["crypto_id", "time", "price", "volume"]);
    assert_eq!(f64s(&out, "price"), [Some(1.0), Some(2.0), None]);
    assert_eq!(i64s(&out, "volume"), [None, Some(20), Some(30)]);
    let sql = store
        .sql("SELECT count(price) AS p, count(volume) AS v FROM prices")
        .await
        .unwrap();
    assert_eq!(i64s(&sql, "p"), [Some(2)]);
    assert_eq!(i64s(&sql, "v"), [Some(2)]);
}

#[tokio::test]
async fn type_conflicts_and_tag_set_changes_name_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .write(vec![prices(&[("btc", T0, 1.0)])])
        .await
        .unwrap();
    let err = store
        .write(vec![batch(
            "prices",
            vec![T0],
            vec![
                Col::Tag("crypto_id", vec!["btc"]),
                Col::I64("price", vec![Some(1)]),
            ],
        )])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::SchemaConflict { column, .. } if column == "price"),
        "{err}"
    );
    assert!(err.to_string().contains("`price`") && err.to_string().contains("Float64"));
    assert!(err.is_user_error() && !err.is_retryable());

    let err = store
        .write(vec![batch(
            "prices",
            vec![T0],
            vec![
                Col::Tag("crypto_id", vec!["btc"]),
                Col::Tag("exchange", vec!["kraken"]),
                Col::F64("price", vec![Some(1.0)]),
            ],
        )])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`exchange`"), "{err}");

    // Nothing of a rejected multi-measurement write lands.
    let err = store
        .write(vec![
            batch("trades", vec![T0], vec![Col::F64("qty", vec![Some(1.0)])]),
            batch(
                "prices",
                vec![T0 + MIN],
                vec![
                    Col::Tag("crypto_id", vec!["btc"]),
                    Col::Str("price", vec![Some("x")]),
                ],
            ),
        ])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`price`"), "{err}");
    assert_eq!(store.measurements().await.unwrap(), ["prices"]);
}

#[test]
fn invalid_write_batches_are_rejected_with_the_column_named() {
    let ts = || Arc::new(TimestampNanosecondArray::from(vec![T0]).with_timezone("UTC"));
    let tz_field = || Field::new("time", cryptoviz_store::time_data_type(), false);

    let no_time = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, true)])),
        vec![Arc::new(Int64Array::from(vec![1]))],
    )
    .unwrap();
    let err = WriteBatch::new("m", vec![], no_time).unwrap_err();
    assert!(err.to_string().contains("`time`"), "{err}");

    let tag_not_utf8 = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            tz_field(),
            Field::new("coin", DataType::Int64, false),
        ])),
        vec![ts(), Arc::new(Int64Array::from(vec![1]))],
    )
    .unwrap();
    let err = WriteBatch::new("m", vec!["coin".into()], tag_not_utf8).unwrap_err();
    assert!(
        err.to_string().contains("`coin`") && err.to_string().contains("Utf8"),
        "{err}"
    );

    let missing_tag =
        RecordBatch::try_new(Arc::new(Schema::new(vec![tz_field()])), vec![ts()]).unwrap();
    let err = WriteBatch::new("m", vec!["coin".into()], missing_tag).unwrap_err();
    assert!(err.to_string().contains("`coin`"), "{err}");

    let naive_time = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new(
            "time",
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            false,
        )])),
        vec![Arc::new(TimestampNanosecondArray::from(vec![T0]))],
    )
    .unwrap();
    let err = WriteBatch::new("m", vec![], naive_time).unwrap_err();
    assert!(err.to_string().contains("`time`"), "{err}");

    let bad_field = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            tz_field(),
            Field::new("n", DataType::Utf8, true),
        ])),
        vec![ts(), Arc::new(StringArray::from(vec!["x"]))],
    )
    .unwrap();
    assert!(WriteBatch::new("bad/name", vec![], bad_field.clone()).is_err());
    assert!(WriteBatch::new("ok", vec![], bad_field).is_ok());
}

#[tokio::test]
async fn last_returns_latest_row_per_series_also_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        store
            .write(vec![prices(&[
                ("btc", T0, 1.0),
                ("btc", T0 + 2 * MIN, 3.0),
                ("eth", T0, 10.0),
            ])])
            .await
            .unwrap();
        // An older point does not displace the latest; an equal time overwrites it.
        store
            .write(vec![prices(&[("btc", T0 + MIN, 2.0), ("eth", T0, 11.0)])])
            .await
            .unwrap();
        let last = store.last("prices", &[]).await.unwrap();
        assert_eq!(render(&last).len(), 2);
        assert_eq!(
            strs(&last, "crypto_id"),
            [Some("btc".into()), Some("eth".into())]
        );
        assert_eq!(times(&last), [T0 + 2 * MIN, T0]);
        assert_eq!(f64s(&last, "price"), [Some(3.0), Some(11.0)]);
    }
    let store = open(dir.path());
    let last = store.last("prices", &[]).await.unwrap();
    assert_eq!(f64s(&last, "price"), [Some(3.0), Some(11.0)]);
    let eth = store
        .last("prices", &[("crypto_id".into(), "eth".into())])
        .await
        .unwrap();
    assert_eq!(f64s(&eth, "price"), [Some(11.0)]);
    assert!(
        store
            .last("prices", &[("x".into(), "y".into())])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.last("nope", &[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn sql_sees_deduplicated_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .write(vec![prices(&[("btc", T0, 1.0), ("eth", T0, 2.0)])])
        .await
        .unwrap();
    store
        .write(vec![prices(&[("btc", T0, 5.0)])])
        .await
        .unwrap();
    let out = store
        .sql("SELECT count(*) AS n, sum(price) AS total FROM prices")
        .await
        .unwrap();
    assert_eq!(i64s(&out, "n"), [Some(2)]);
    assert_eq!(f64s(&out, "total"), [Some(7.0)]);
}

#[tokio::test]
async fn measurement_without_tags_and_several_measurements_per_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .write(vec![
            batch(
                "stats",
                vec![T0 + MIN, T0, T0 + MIN],
                vec![Col::I64("n", vec![Some(1), Some(2), Some(3)])],
            ),
            prices(&[("btc", T0, 1.0)]),
        ])
        .await
        .unwrap();
    assert_eq!(store.measurements().await.unwrap(), ["prices", "stats"]);
    let out = store.query(&Query::new("stats")).await.unwrap();
    assert_eq!(names(&out), ["time", "n"]);
    assert_eq!(i64s(&out, "n"), [Some(2), Some(3)]);
    let last = store.last("stats", &[]).await.unwrap();
    assert_eq!(i64s(&last, "n"), [Some(3)]);
    assert_eq!(times(&last), [T0 + MIN]);
}

#[tokio::test]
async fn sql_is_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .write(vec![prices(&[("btc", T0, 1.0)])])
        .await
        .unwrap();
    let copy = format!("COPY prices TO '{}/x.csv'", dir.path().display());
    assert!(store.sql(&copy).await.is_err());
    assert!(store.sql("CREATE TABLE t AS SELECT 1").await.is_err());
    assert_eq!(
        num_rows(&store.sql("SELECT * FROM prices").await.unwrap()),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_keep_last_write_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.background_compaction = true;
    config.compaction_trigger_files = 3;
    let store = cryptoviz_store::EmbeddedStore::open(config).unwrap();
    let mut tasks = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let coin = ["a", "b", "c", "d"][w];
                store
                    .write(vec![prices(&[(coin, T0 + i * MIN, i as f64)])])
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    store.flush().await.unwrap();
    let out = store.query(&Query::new("prices")).await.unwrap();
    assert_eq!(num_rows(&out), 40);
    let last = store.last("prices", &[]).await.unwrap();
    assert_eq!(f64s(&last, "price"), [Some(9.0); 4]);
}
