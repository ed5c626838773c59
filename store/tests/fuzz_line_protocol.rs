//! Property-based fuzz test of the line-protocol encoder against a real `influxd` (1.x):
//! every string, as a tag value and as a string field, is either refused before sending
//! ([`tag_value_is_representable`]) or written and read back identical — through the store's
//! own read path, and through a tag filter (InfluxQL string literal escaping) for a sample.
//!
//! Cases are generated with proptest (fixed seed) and sent many per write, so 10,000 of them
//! take a few seconds. `influxd` is looked up at `$INFLUXD`, then `/usr/bin/influxd`; without
//! it the test prints a note and passes (`scripts/tools/install-influxdb.sh` installs it).
//!
//! Cases: `PROPTEST_CASES` (default 10,000), seed `PROPTEST_RNG_SEED`. Long run:
//! `PROPTEST_CASES=1000000 cargo test --release --workspace --test fuzz_line_protocol`.

mod influxd;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cryptoviz_store::influx::{Unrepresentable, tag_value_is_representable};
use cryptoviz_store::{Error, time_data_type};
use cryptoviz_store::{InfluxConfig, InfluxStore, Query, RecordBatch, Store, WriteBatch};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, StringArray, TimestampNanosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimestampNanosecondType};
use influxd::start_influxd;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngSeed, TestRunner};

/// 2023-11-14T22:10:00Z.
const T0: i64 = 1_699_999_800_000_000_000;
/// Cases per write (and per read-back).
const CHUNK: usize = 5_000;
/// One case in this many is also read back through a tag filter.
const FILTER_EVERY: usize = 97;

fn runner() -> TestRunner {
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x1f1e_d0c5);
    TestRunner::new(Config {
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    })
}

fn cases() -> usize {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// Strings made mostly of what line protocol treats specially, plus any Unicode.
fn tricky_string() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        30 => prop::sample::select(vec![
            ',', '=', ' ', '\\', '"', '\'', '\t', '#', '\u{1}', '\u{7f}', 'é', '\u{1d11e}'
        ]),
        20 => prop::char::range('a', 'z'),
        10 => any::<char>(),
        // What cannot be written or selected: rarer, so that most strings are written.
        2 => prop::sample::select(vec!['\n', '\r', '\0']),
    ];
    prop::collection::vec(c, 0..16).prop_map(|v| v.into_iter().collect())
}

fn batch(rows: &[(usize, &str, &str)]) -> WriteBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Utf8, false),
        Field::new("time", time_data_type(), false),
        Field::new("case", DataType::Int64, false),
        Field::new("s", DataType::Utf8, false),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
        Arc::new(
            TimestampNanosecondArray::from_iter_values(rows.iter().map(|r| T0 + r.0 as i64))
                .with_timezone("UTC"),
        ),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.0 as i64),
        )),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.2))),
    ];
    WriteBatch::new(
        "fuzz",
        vec!["k".into()],
        RecordBatch::try_new(schema, cols).unwrap(),
    )
    .unwrap()
}

/// `time → (k, s)` of every row read.
fn rows(batches: &[RecordBatch]) -> HashMap<i64, (String, String)> {
    let mut out = HashMap::new();
    for b in batches {
        let k = b.column_by_name("k").unwrap().as_string::<i32>();
        let s = b.column_by_name("s").unwrap().as_string::<i32>();
        let t = b
            .column_by_name("time")
            .unwrap()
            .as_primitive::<TimestampNanosecondType>();
        for r in 0..b.num_rows() {
            let value = |a: &StringArray| (!a.is_null(r)).then(|| a.value(r).to_owned());
            out.insert(
                t.value(r),
                (
                    value(k).unwrap_or_default(),
                    value(s).expect("s is never null"),
                ),
            );
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_string_round_trips_through_influxd_or_is_refused_before_sending() {
    let Some(server) = start_influxd(
        // A long run writes a million distinct tag values: lift the cardinality guards
        // (100,000 values per tag key and a million series by default), which are not what
        // is tested here.
        "  max-values-per-tag = 0\n  max-series-per-database = 0",
        "  max-row-limit = 0",
    )
    .await
    else {
        return;
    };
    let mut config = InfluxConfig::new(&server.url, "fuzz");
    config.timeout = Duration::from_secs(60);
    // A refused write fails the test at once instead of after a minute of retries.
    config.retry.initial_backoff = Duration::from_millis(20);
    config.retry.max_backoff = Duration::from_millis(100);
    config.retry.max_elapsed = Duration::from_millis(300);
    let store = InfluxStore::new(config).unwrap();
    store.ping().await.unwrap();

    let total = cases();
    let mut runner = runner();
    let strategy = (tricky_string(), tricky_string());
    let (mut written, mut refused) = (0usize, 0usize);
    let started = Instant::now();
    for chunk_start in (0..total).step_by(CHUNK) {
        let n = CHUNK.min(total - chunk_start);
        let mut generated: Vec<(usize, String, String)> = Vec::with_capacity(n);
        for i in chunk_start..chunk_start + n {
            let (k, s) = strategy.new_tree(&mut runner).unwrap().current();
            generated.push((i, k, s));
        }
        let mut ok: Vec<(usize, &str, &str)> = Vec::new();
        for (i, k, s) in &generated {
            match tag_value_is_representable(k) {
                Ok(()) => ok.push((*i, k, s)),
                Err(why) => {
                    assert!(
                        matches!(
                            why,
                            Unrepresentable::Newline
                                | Unrepresentable::Nul
                                | Unrepresentable::BackslashBeforeSpace
                                | Unrepresentable::TrailingBackslash
                        ),
                        "{k:?}: {why}"
                    );
                    // The store refuses it before sending, and says it is not worth a retry.
                    match store.write(vec![batch(&[(*i, k, s)])]).await {
                        Err(e @ Error::InvalidBatch { .. }) => assert!(!e.is_retryable()),
                        other => panic!("tag value {k:?} ({why}) was not refused: {other:?}"),
                    }
                    refused += 1;
                }
            }
        }
        store
            .write(vec![batch(&ok)])
            .await
            .unwrap_or_else(|e| panic!("write of {} representable cases failed: {e}", ok.len()));
        written += ok.len();

        let from = T0 + chunk_start as i64;
        let read = store
            .query(&Query::new("fuzz").range(from, from + n as i64))
            .await
            .unwrap();
        let back = rows(&read);
        assert_eq!(back.len(), ok.len(), "rows read back in [{from}, +{n})");
        for (i, k, s) in &ok {
            let got = back.get(&(T0 + *i as i64)).expect("row read back");
            assert_eq!(
                (got.0.as_str(), got.1.as_str()),
                (*k, *s),
                "case {i}: tag value and string field read back differ"
            );
        }
        // A sample through a tag filter: the value is an InfluxQL string literal there.
        for (i, k, s) in ok.iter().step_by(FILTER_EVERY) {
            if k.is_empty() {
                continue; // no tag at all: `k = ''` is not a filter InfluxDB matches
            }
            let t = T0 + *i as i64;
            let read = store
                .query(&Query::new("fuzz").range(t, t + 1).tag("k", k))
                .await
                .unwrap();
            let back = rows(&read);
            assert_eq!(
                back.get(&t).map(|(k, s)| (k.as_str(), s.as_str())),
                Some((*k, *s)),
                "case {i}: tag filter k = {k:?}"
            );
        }
    }
    println!(
        "{total} cases: {written} written and read back, {refused} refused before sending, {:?}",
        started.elapsed()
    );
    assert_eq!(written + refused, total);
    assert!(
        refused > 0 && written > refused,
        "the strategy exercises both outcomes"
    );
}
