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

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cryptoviz_store::influx::{Unrepresentable, tag_value_is_representable};
use cryptoviz_store::{Error, time_data_type};
use cryptoviz_store::{InfluxConfig, InfluxStore, Query, RecordBatch, Store, WriteBatch};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, StringArray, TimestampNanosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimestampNanosecondType};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngSeed, TestRunner};

/// 2023-11-14T22:10:00Z.
const T0: i64 = 1_699_999_800_000_000_000;
/// Cases per write (and per read-back).
const CHUNK: usize = 5_000;
/// One case in this many is also read back through a tag filter.
const FILTER_EVERY: usize = 97;

/// A running `influxd`, killed (by its PID) when dropped.
struct Influxd {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Influxd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

async fn start_influxd() -> Option<Influxd> {
    let bin = std::env::var_os("INFLUXD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/influxd"));
    if !bin.exists() {
        assert!(
            std::env::var_os("CRYPTOVIZ_REQUIRE_TEST_SERVERS").is_none(),
            "influxd is required here (scripts/tools/install-influxdb.sh) but not installed"
        );
        println!("skipping: influxd not installed (scripts/tools/install-influxdb.sh installs it)");
        return None;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (http, rpc) = (free_port(), free_port());
    let d = dir.path().display();
    let config = format!(
        r#"reporting-disabled = true
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{d}/meta"
[data]
  dir = "{d}/data"
  wal-dir = "{d}/wal"
  query-log-enabled = false
  # The long run writes a million distinct tag values: lift the cardinality guards (100,000
  # values per tag key and a million series by default), which are not what is tested here.
  max-values-per-tag = 0
  max-series-per-database = 0
[http]
  bind-address = "127.0.0.1:{http}"
  log-enabled = false
  max-row-limit = 0
[monitor]
  store-enabled = false
"#
    );
    let config_path = dir.path().join("influxdb.conf");
    std::fs::write(&config_path, config).expect("write config");
    let log = std::fs::File::create(dir.path().join("influxd.log")).expect("log file");
    let child = Command::new(&bin)
        .arg("-config")
        .arg(&config_path)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn influxd");
    let server = Influxd {
        child,
        url: format!("http://127.0.0.1:{http}"),
        _dir: dir,
    };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{}/ping", server.url)).send().await
            && r.status().as_u16() == 204
        {
            return Some(server);
        }
        assert!(
            Instant::now() < deadline,
            "influxd did not answer /ping in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

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
    let Some(server) = start_influxd().await else {
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
