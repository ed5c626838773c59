//! The InfluxDB store against a real `influxd` (1.x, started here on free ports) and the v2
//! write request shape against a local fake server.
//!
//! `influxd` is looked up at `$INFLUXD`, then `/usr/bin/influxd`; without it the tests that
//! need it print a note and pass (`scripts/tools/install-influxdb.sh` installs it).

mod influxd;

use std::io::Read as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cryptoviz_store::{
    Agg, Downsample, InfluxApi, InfluxConfig, InfluxStore, Query, RecordBatch, SqlBudget, Store,
    WriteBatch, time_data_type,
};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, StringArray,
    TimestampNanosecondArray,
};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, TimestampNanosecondType};
use influxd::{free_port, start_influxd};

/// 2023-11-14T22:10:00Z, a multiple of 5 minutes since the epoch.
const T0: i64 = 1_699_999_800_000_000_000;
const MIN: i64 = 60_000_000_000;

fn config(url: &str) -> InfluxConfig {
    let mut c = InfluxConfig::new(url, "cryptoviz_test");
    c.batch_points = 3; // several requests per write
    c.retry.initial_backoff = Duration::from_millis(20);
    c.retry.max_backoff = Duration::from_millis(100);
    c.retry.max_elapsed = Duration::from_millis(500);
    c.timeout = Duration::from_secs(5);
    // The server is local, where gzip is off by default: these tests exercise it.
    c.gzip = Some(true);
    c
}

/// A market batch as the consumers write it: tags crypto_id/source/window, fields of every
/// type.
#[allow(clippy::type_complexity)]
fn market(
    rows: &[(
        &str,
        &str,
        i64,
        Option<f64>,
        Option<i64>,
        Option<&str>,
        Option<bool>,
    )],
) -> WriteBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("crypto_id", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("window", DataType::Utf8, false),
        Field::new("time", time_data_type(), false),
        Field::new("price", DataType::Float64, true),
        Field::new("trades", DataType::Int64, true),
        Field::new("note", DataType::Utf8, true),
        Field::new("up", DataType::Boolean, true),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|_| "1m"))),
        Arc::new(
            TimestampNanosecondArray::from_iter_values(rows.iter().map(|r| r.2))
                .with_timezone("UTC"),
        ),
        Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.3))),
        Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.4))),
        Arc::new(StringArray::from_iter(rows.iter().map(|r| r.5))),
        Arc::new(BooleanArray::from_iter(rows.iter().map(|r| r.6))),
    ];
    WriteBatch::new(
        "crypto_market",
        vec!["crypto_id".into(), "source".into(), "window".into()],
        RecordBatch::try_new(schema, cols).unwrap(),
    )
    .unwrap()
}

fn one(batches: Vec<RecordBatch>) -> RecordBatch {
    assert!(!batches.is_empty(), "no rows");
    concat_batches(&batches[0].schema(), &batches).unwrap()
}

fn names(b: &RecordBatch) -> Vec<String> {
    b.schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

fn strs(b: &RecordBatch, col: &str) -> Vec<Option<String>> {
    b.column_by_name(col)
        .unwrap()
        .as_string::<i32>()
        .iter()
        .map(|v| v.map(str::to_owned))
        .collect()
}

fn some(values: &[&str]) -> Vec<Option<String>> {
    values.iter().map(|v| Some((*v).to_owned())).collect()
}

fn times(b: &RecordBatch) -> Vec<i64> {
    b.column_by_name("time")
        .unwrap()
        .as_primitive::<TimestampNanosecondType>()
        .values()
        .to_vec()
}

fn f64s(b: &RecordBatch, col: &str) -> Vec<Option<f64>> {
    let a: &Float64Array = b.column_by_name(col).unwrap().as_primitive();
    a.iter().collect()
}

fn i64s(b: &RecordBatch, col: &str) -> Vec<Option<i64>> {
    b.column_by_name(col)
        .unwrap()
        .as_primitive::<Int64Type>()
        .iter()
        .collect()
}

const TRICKY: &str = "He said \"buy\"\\sell\nnext line, a=b 'quoted'";

fn sample() -> Vec<WriteBatch> {
    vec![
        market(&[
            (
                "bitcoin",
                "coingecko",
                T0,
                Some(35_000.5),
                Some(10),
                Some(TRICKY),
                Some(true),
            ),
            (
                "bitcoin",
                "coingecko",
                T0 + MIN,
                Some(35_001.0),
                Some(11),
                None,
                None,
            ),
            (
                "bitcoin",
                "coingecko",
                T0 + 2 * MIN,
                Some(0.1 + 0.2),
                Some(12),
                None,
                Some(false),
            ),
            (
                "ethereum",
                "coingecko",
                T0,
                Some(1_900.0),
                Some(5),
                None,
                None,
            ),
        ]),
        market(&[
            (
                "ethereum",
                "coingecko",
                T0 + MIN,
                Some(1_901.25),
                None,
                None,
                None,
            ),
            (
                "ethereum",
                "binance",
                T0 + 6 * MIN,
                Some(1_905.0),
                Some(7),
                None,
                None,
            ),
            // every field null: not a point
            ("solana", "coingecko", T0, None, None, None, None),
        ]),
    ]
}

#[tokio::test]
async fn influxdb_write_then_query_ranges_tags_downsample_order_limit() {
    let Some(server) = start_influxd("", "").await else {
        return;
    };
    let store = InfluxStore::new(config(&server.url)).unwrap();
    store.ping().await.unwrap();
    // Nothing written yet: reads are empty, not errors.
    assert!(
        store
            .query(&Query::new("crypto_market"))
            .await
            .unwrap()
            .is_empty()
    );
    store.write(sample()).await.unwrap();

    let all = one(store.query(&Query::new("crypto_market")).await.unwrap());
    assert_eq!(
        names(&all),
        [
            "crypto_id",
            "source",
            "window",
            "time",
            "note",
            "price",
            "trades",
            "up"
        ]
    );
    assert_eq!(all.num_rows(), 6);
    // time, then tags
    assert_eq!(
        times(&all),
        vec![T0, T0, T0 + MIN, T0 + MIN, T0 + 2 * MIN, T0 + 6 * MIN]
    );
    assert_eq!(
        strs(&all, "crypto_id"),
        some(&[
            "bitcoin", "ethereum", "bitcoin", "ethereum", "bitcoin", "ethereum"
        ])
    );
    assert_eq!(
        f64s(&all, "price"),
        vec![
            Some(35_000.5),
            Some(1_900.0),
            Some(35_001.0),
            Some(1_901.25),
            Some(0.1 + 0.2),
            Some(1_905.0)
        ]
    );
    assert_eq!(
        i64s(&all, "trades"),
        vec![Some(10), Some(5), Some(11), None, Some(12), Some(7)]
    );
    assert_eq!(
        strs(&all, "note")[0].as_deref(),
        Some(TRICKY),
        "quotes/newlines round-trip"
    );
    let up = all.column_by_name("up").unwrap().as_boolean();
    assert!(up.value(0) && up.is_null(1) && !up.value(4));
    assert_eq!(
        all.column_by_name("price").unwrap().data_type(),
        &DataType::Float64
    );
    assert_eq!(
        all.column_by_name("time").unwrap().data_type(),
        &time_data_type()
    );

    // Range + tag filter + chosen fields.
    let q = Query::new("crypto_market")
        .range(T0 + MIN, T0 + 7 * MIN)
        .tag("crypto_id", "ethereum")
        .fields(["price"]);
    let b = one(store.query(&q).await.unwrap());
    assert_eq!(
        names(&b),
        ["crypto_id", "source", "window", "time", "price"]
    );
    assert_eq!(times(&b), vec![T0 + MIN, T0 + 6 * MIN]);
    assert_eq!(strs(&b, "source"), some(&["coingecko", "binance"]));

    // Descending + limit across series (LIMIT is per series in InfluxQL: merged here).
    let b = one(store
        .query(
            &Query::new("crypto_market")
                .fields(["price"])
                .descending()
                .limit(3),
        )
        .await
        .unwrap());
    assert_eq!(times(&b), vec![T0 + 6 * MIN, T0 + 2 * MIN, T0 + MIN]);
    assert_eq!(
        strs(&b, "crypto_id")[2].as_deref(),
        Some("bitcoin"),
        "ties sorted by tags"
    );

    // Downsample into 5-minute bins.
    let ds = Downsample::every(5 * MIN)
        .agg("price", Agg::Mean, "avg")
        .agg("price", Agg::Max, "hi")
        .agg("trades", Agg::Sum, "trades")
        .agg("price", Agg::Count, "n")
        .agg("price", Agg::First, "open")
        .agg("price", Agg::Last, "close");
    let q = Query::new("crypto_market")
        .tag("source", "coingecko")
        .downsample(ds.clone());
    let b = one(store.query(&q).await.unwrap());
    assert_eq!(
        names(&b),
        [
            "crypto_id",
            "source",
            "window",
            "time",
            "avg",
            "hi",
            "trades",
            "n",
            "open",
            "close"
        ]
    );
    assert_eq!(times(&b), vec![T0, T0]);
    assert_eq!(strs(&b, "crypto_id"), some(&["bitcoin", "ethereum"]));
    let avg = f64s(&b, "avg");
    assert!((avg[0].unwrap() - (35_000.5 + 35_001.0 + 0.1 + 0.2) / 3.0).abs() < 1e-6);
    assert_eq!(f64s(&b, "hi"), vec![Some(35_001.0), Some(1_901.25)]);
    assert_eq!(i64s(&b, "trades"), vec![Some(33), Some(5)]);
    assert_eq!(i64s(&b, "n"), vec![Some(3), Some(2)]);
    assert_eq!(f64s(&b, "open"), vec![Some(35_000.5), Some(1_900.0)]);
    assert_eq!(f64s(&b, "close"), vec![Some(0.1 + 0.2), Some(1_901.25)]);
    // Downsample, newest first, limited: whole rows (LIMIT is not pushed down).
    let b = one(store
        .query(
            &Query::new("crypto_market")
                .downsample(ds)
                .descending()
                .limit(2),
        )
        .await
        .unwrap());
    assert_eq!(times(&b), vec![T0 + 5 * MIN, T0]);
    assert_eq!(strs(&b, "crypto_id"), some(&["ethereum", "bitcoin"]));
    assert_eq!(i64s(&b, "n"), vec![Some(1), Some(3)]);
    assert_eq!(f64s(&b, "avg")[0], Some(1_905.0));

    // Caller errors and unknown things.
    let err = store
        .query(&Query::new("crypto_market").fields(["nope"]))
        .await
        .unwrap_err();
    assert!(err.is_user_error(), "{err}");
    let err = store
        .query(
            &Query::new("crypto_market").downsample(Downsample::every(MIN).agg(
                "note",
                Agg::Mean,
                "m",
            )),
        )
        .await
        .unwrap_err();
    assert!(err.is_user_error(), "{err}");
    assert!(
        store
            .query(&Query::new("crypto_market").tag("no_such_tag", "x"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .query(&Query::new("nothing_here"))
            .await
            .unwrap()
            .is_empty()
    );

    // An injection attempt in a tag value is just a value that matches nothing.
    let evil =
        Query::new("crypto_market").tag("crypto_id", "x\\' OR 1=1 OR \"crypto_id\" = 'bitcoin");
    assert!(store.query(&evil).await.unwrap().is_empty());

    assert_eq!(store.measurements().await.unwrap(), ["crypto_market"]);
    assert_eq!(
        store
            .tag_values("crypto_market", "crypto_id")
            .await
            .unwrap(),
        ["bitcoin", "ethereum"]
    );
    assert_eq!(
        store.tag_values("crypto_market", "source").await.unwrap(),
        ["binance", "coingecko"]
    );

    // last: newest row of every series, sorted by tags.
    let b = one(store.last("crypto_market", &[]).await.unwrap());
    assert_eq!(
        strs(&b, "crypto_id"),
        some(&["bitcoin", "ethereum", "ethereum"])
    );
    assert_eq!(strs(&b, "source")[1].as_deref(), Some("binance"));
    assert_eq!(times(&b), vec![T0 + 2 * MIN, T0 + 6 * MIN, T0 + MIN]);
    assert_eq!(
        f64s(&b, "price"),
        vec![Some(0.1 + 0.2), Some(1_905.0), Some(1_901.25)]
    );
    let b = one(store
        .last(
            "crypto_market",
            &[
                ("crypto_id".into(), "ethereum".into()),
                ("source".into(), "coingecko".into()),
            ],
        )
        .await
        .unwrap());
    assert_eq!(times(&b), vec![T0 + MIN]);
    store.flush().await.unwrap();
}

#[tokio::test]
async fn influxdb_rewrite_same_identity_last_write_wins() {
    let Some(server) = start_influxd("", "").await else {
        return;
    };
    let store = InfluxStore::new(config(&server.url)).unwrap();
    store.write(sample()).await.unwrap();
    // Replay, with a changed price, in one call where a later row of the same identity wins.
    store
        .write(vec![market(&[
            (
                "bitcoin",
                "coingecko",
                T0,
                Some(1.0),
                Some(1),
                Some("first"),
                None,
            ),
            (
                "bitcoin",
                "coingecko",
                T0,
                Some(2.0),
                Some(2),
                Some("second"),
                Some(false),
            ),
        ])])
        .await
        .unwrap();
    // A null field keeps the stored value (InfluxDB merges fields; see the module docs).
    store
        .write(vec![market(&[(
            "bitcoin",
            "coingecko",
            T0 + MIN,
            Some(7.0),
            None,
            None,
            None,
        )])])
        .await
        .unwrap();
    let b = one(store
        .query(&Query::new("crypto_market").tag("crypto_id", "bitcoin"))
        .await
        .unwrap());
    assert_eq!(times(&b), vec![T0, T0 + MIN, T0 + 2 * MIN], "no duplicates");
    assert_eq!(
        f64s(&b, "price"),
        vec![Some(2.0), Some(7.0), Some(0.1 + 0.2)]
    );
    assert_eq!(strs(&b, "note")[0].as_deref(), Some("second"));
    assert_eq!(i64s(&b, "trades"), vec![Some(2), Some(11), Some(12)]);
    // An integral float stays a float.
    assert_eq!(
        b.column_by_name("price").unwrap().data_type(),
        &DataType::Float64
    );

    // A field type conflict is InfluxDB's 400: permanent, with its message.
    let schema = Arc::new(Schema::new(vec![
        Field::new("crypto_id", DataType::Utf8, false),
        Field::new("time", time_data_type(), false),
        Field::new("price", DataType::Int64, true),
    ]));
    let bad = WriteBatch::new(
        "crypto_market",
        vec!["crypto_id".into()],
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["bitcoin"])),
                Arc::new(TimestampNanosecondArray::from(vec![T0 + 9 * MIN]).with_timezone("UTC")),
                Arc::new(Int64Array::from(vec![1])),
            ],
        )
        .unwrap(),
    )
    .unwrap();
    let err = store.write(vec![bad]).await.unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(err.to_string().contains("field type conflict"), "{err}");
}

#[tokio::test]
async fn influxdb_floats_and_integers_round_trip_exactly() {
    let Some(server) = start_influxd("", "").await else {
        return;
    };
    let store = InfluxStore::new(config(&server.url)).unwrap();
    // Shortest round-trip forms in every shape the encoder writes: integral (`1.0`),
    // exponents both ways (`1e21`, `1.5e-7`), the extremes, and the integer limits.
    let floats = [
        1.0,
        -0.5,
        0.1 + 0.2,
        1e21,
        1.5e-7,
        -2.5e300,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        123_456_789.123_456_79,
    ];
    let ints = [0, -1, i64::MAX, i64::MIN, 42, 7, 8, 9, 10, 11];
    let rows: Vec<_> = floats
        .iter()
        .zip(ints)
        .enumerate()
        .map(|(i, (&f, n))| {
            (
                "extremes",
                "test",
                T0 + i as i64 * MIN,
                Some(f),
                Some(n),
                None,
                None,
            )
        })
        .collect();
    store.write(vec![market(&rows)]).await.unwrap();
    let b = one(store
        .query(&Query::new("crypto_market").tag("crypto_id", "extremes"))
        .await
        .unwrap());
    assert_eq!(
        f64s(&b, "price"),
        floats.iter().map(|&f| Some(f)).collect::<Vec<_>>()
    );
    assert_eq!(
        i64s(&b, "trades"),
        ints.iter().map(|&n| Some(n)).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn influxdb_unreachable_write_is_retryable() {
    // Nothing listens on this port once the listener is dropped.
    let url = format!("http://127.0.0.1:{}", free_port());
    let mut c = config(&url);
    c.create_database = false;
    let store = InfluxStore::new(c).unwrap();
    let started = Instant::now();
    let err = store.write(sample()).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "retry budget respected"
    );
    assert!(store.ping().await.unwrap_err().is_retryable());
    // With database creation on, the first failure is retryable too.
    let store = InfluxStore::new(config(&url)).unwrap();
    assert!(store.write(sample()).await.unwrap_err().is_retryable());
}

/// Path, raw query, `authorization|content-encoding` headers and body of a request.
type SeenRequest = (String, String, String, Vec<u8>);

/// What the fake v2 server saw.
#[derive(Clone, Default)]
struct Seen {
    requests: Arc<parking_lot::Mutex<Vec<SeenRequest>>>,
    fail_first: Arc<std::sync::atomic::AtomicUsize>,
}

#[tokio::test]
async fn influxdb_v2_write_request_shape() {
    use axum::body::Bytes;
    use axum::extract::{RawQuery, State};
    use axum::http::{HeaderMap, StatusCode, Uri};
    use axum::response::IntoResponse;

    async fn handler(
        State(seen): State<Seen>,
        uri: Uri,
        RawQuery(query): RawQuery,
        headers: HeaderMap,
        body: Bytes,
    ) -> impl IntoResponse {
        let h = |k: &str| {
            headers
                .get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        seen.requests.lock().push((
            uri.path().to_owned(),
            query.unwrap_or_default(),
            format!("{}|{}", h("authorization"), h("content-encoding")),
            body.to_vec(),
        ));
        // The first request gets a 503 with Retry-After: the client must retry it.
        if seen
            .fail_first
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            == 0
        {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [("retry-after", "0")],
                "busy",
            )
                .into_response();
        }
        StatusCode::NO_CONTENT.into_response()
    }

    let seen = Seen::default();
    let app = axum::Router::new()
        .fallback(handler)
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut c = config(&format!("http://{addr}"));
    c.token = Some("t0k".into());
    c.api = InfluxApi::V2 {
        org: "my org".into(),
        bucket: "crypto".into(),
    };
    c.batch_points = 5_000;
    let store = InfluxStore::new(c).unwrap();
    store
        .write(vec![market(&[
            (
                "bitcoin",
                "coingecko",
                T0,
                Some(1.0),
                Some(3),
                Some("a \"b\""),
                Some(true),
            ),
            (
                "bitcoin",
                "coingecko",
                T0 + MIN,
                Some(2.5),
                None,
                None,
                None,
            ),
        ])])
        .await
        .unwrap();
    server.abort();

    let requests = seen.requests.lock().clone();
    assert_eq!(requests.len(), 2, "one 503, then the retried request");
    assert_eq!(
        requests[0].3, requests[1].3,
        "the retry resends the same body"
    );
    let (path, query, headers, body) = &requests[1];
    assert_eq!(path, "/api/v2/write");
    let mut params: Vec<&str> = query.split('&').collect();
    params.sort();
    assert_eq!(params, ["bucket=crypto", "org=my+org", "precision=ns"]);
    assert_eq!(headers, "Token t0k|gzip");
    let mut text = String::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(
        text,
        format!(
            "crypto_market,crypto_id=bitcoin,source=coingecko,window=1m price=1.0,trades=3i,note=\"a \\\"b\\\"\",up=true {T0}\n\
             crypto_market,crypto_id=bitcoin,source=coingecko,window=1m price=2.5 {}\n",
            T0 + MIN
        )
    );
}

#[tokio::test]
async fn influxdb_answers_sql_through_datafusion_over_its_queries() {
    let Some(server) = start_influxd("", "").await else {
        return;
    };
    let store: Arc<dyn Store> = Arc::new(InfluxStore::new(config(&server.url)).unwrap());
    store.write(sample()).await.unwrap();
    let budget = SqlBudget::default();
    // InfluxDB has no SQL of its own here: the trait says so, the generic path answers.
    assert!(matches!(
        store.query_sql("SELECT 1", 10, &budget).await,
        Err(cryptoviz_store::Error::Unsupported(_))
    ));
    let count = |batches: &[RecordBatch]| -> i64 {
        batches[0]
            .column(0)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::Int64Array>()
            .unwrap()
            .value(0)
    };
    let all: usize = store
        .query(&Query::new("crypto_market"))
        .await
        .unwrap()
        .iter()
        .map(RecordBatch::num_rows)
        .sum();
    let n = count(
        &sql_on(&store, "SELECT count(*) FROM crypto_market", 10, &budget)
            .await
            .unwrap(),
    );
    assert_eq!(n as usize, all);
    // A time bound narrows the read and the answer alike.
    let bounded: usize = store
        .query(&Query::new("crypto_market").range(T0 + MIN, i64::MAX))
        .await
        .unwrap()
        .iter()
        .map(RecordBatch::num_rows)
        .sum();
    let q = format!(
        "SELECT count(*) FROM crypto_market WHERE time >= to_timestamp_nanos({})",
        T0 + MIN
    );
    let n = count(&sql_on(&store, &q, 10, &budget).await.unwrap());
    assert_eq!(n as usize, bounded);
    assert!(
        bounded < all,
        "the bound must exclude something ({bounded} of {all})"
    );
    // Writes are refused.
    assert!(
        sql_on(&store, "DELETE FROM crypto_market", 10, &budget)
            .await
            .is_err()
    );
    // The row limit holds.
    let rows: usize = sql_on(&store, "SELECT * FROM crypto_market", 1, &budget)
        .await
        .unwrap()
        .iter()
        .map(RecordBatch::num_rows)
        .sum();
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn influxdb_sql_refuses_a_scan_past_the_scan_limit_before_reading_it() {
    let Some(server) = start_influxd("", "").await else {
        return;
    };
    let mut cfg = config(&server.url);
    cfg.batch_points = 5_000;
    let store: Arc<dyn Store> = Arc::new(InfluxStore::new(cfg).unwrap());
    // Three series of 1,000 minutes each; `trades` only on every other row (a sparse field).
    let rows: Vec<_> = ["bitcoin", "ethereum", "solana"]
        .iter()
        .flat_map(|coin| {
            (0..1000).map(move |i| {
                let trades = (i % 2 == 0).then_some(i);
                (
                    *coin,
                    "coingecko",
                    T0 + i * MIN,
                    Some(1.0 + i as f64),
                    trades,
                    None,
                    None,
                )
            })
        })
        .collect();
    store.write(vec![market(&rows)]).await.unwrap();
    let budget = SqlBudget::new(64 << 20, 1_000).unwrap();
    let sql = |q: String| {
        let store = store.clone();
        let budget = &budget;
        async move { cryptoviz_store::sql::sql_over_store(store, &q, 10_000, budget).await }
    };
    let count = |batches: Vec<RecordBatch>| -> i64 {
        batches[0].column(0).as_primitive::<Int64Type>().value(0)
    };
    // No bound on `time`: the whole measurement, refused with the key to raise and the fix.
    for q in [
        "SELECT count(*) FROM crypto_market",
        "SELECT * FROM crypto_market ORDER BY time DESC LIMIT 5",
        "SELECT * FROM crypto_market a CROSS JOIN crypto_market b",
    ] {
        let err = sql(q.to_string()).await.unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, cryptoviz_store::Error::InvalidQuery(_)),
            "{q}: {err:?}"
        );
        assert!(
            message.contains("api.sql_max_scan_rows") && message.contains("3000 rows"),
            "{q}: {message}"
        );
    }
    // A range of 300 minutes (900 rows) is read and answered.
    let q = format!(
        "SELECT count(*) FROM crypto_market WHERE time >= to_timestamp_nanos({})",
        T0 + 700 * MIN
    );
    assert_eq!(count(sql(q).await.unwrap()), 900);
    // The bound the message suggests narrows the read too (nothing was written this week).
    let q = "SELECT count(*) FROM crypto_market WHERE time >= now() - interval '1 day'";
    assert_eq!(count(sql(q.to_string()).await.unwrap()), 0);
    // Just past the limit: 334 minutes of three coins.
    let q = format!(
        "SELECT count(*) FROM crypto_market WHERE time >= to_timestamp_nanos({})",
        T0 + 666 * MIN
    );
    let err = sql(q).await.unwrap_err().to_string();
    assert!(err.contains("1002 rows"), "{err}");
}

async fn sql_on(
    store: &Arc<dyn Store>,
    q: &str,
    max_rows: usize,
    budget: &SqlBudget,
) -> Result<Vec<RecordBatch>, cryptoviz_store::Error> {
    cryptoviz_store::sql::sql_over_store(store.clone(), q, max_rows, budget).await
}
