//! `cryptoviz backtest` as a user runs it: the real binary on the shared Binance.US history
//! and on a small file in the repo; the JSON has the documented shape and the library's
//! numbers, the report is written, bad input is named.

mod common;

use std::io::BufReader;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::BIN;
use cryptoviz_forecast::backtest::{self, Config, Horizon};
use cryptoviz_forecast::{Candles, evaluate};
use cryptoviz_producers::sources::history::{Format, HistoryReader, Series};
use serde_json::Value;

const SHARED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/history/binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv"
);

/// 60 hourly candles of 2024-01-01/03 (a calm day, a volatile one, a calmer half-day); line
/// 5 has a word for its close.
const SMALL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/backtest_hourly.csv"
);

const FIELDS: [&str; 13] = [
    "name",
    "target",
    "baseline",
    "qlike",
    "mse",
    "mae",
    "rmse",
    "directional_accuracy",
    "coverage_50",
    "coverage_80",
    "coverage_95",
    "pinball",
    "dm_pvalue_vs_baseline",
];

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("backtest")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run cryptoviz backtest")
}

/// The candles the library sees, read with the same reader.
fn candles(path: &str) -> Candles {
    let file = std::fs::File::open(path).unwrap();
    let series = Series::for_coin("bitcoin", "binance", None, None);
    let reader = HistoryReader::new(
        BufReader::new(file),
        Format::BinanceKlines,
        series,
        cryptoviz_schemas::now_ms(),
    );
    let (mut times, mut closes) = (Vec::new(), Vec::new());
    for row in reader {
        if let Ok(record) = row.unwrap() {
            times.push(record.timestamp_ms);
            closes.push(record.price_usd);
        }
    }
    Candles::new(times, closes).unwrap()
}

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

/// Parses the one JSON object of `stdout`, checking the documented top-level key order.
fn parse(stdout: &[u8]) -> Value {
    let text = std::str::from_utf8(stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "exactly one JSON object: {text}");
    let order: Vec<usize> = [
        "\"coin\":",
        "\"horizon\":",
        "\"n_forecasts\":",
        "\"models\":",
    ]
    .iter()
    .map(|k| {
        text.find(k)
            .unwrap_or_else(|| panic!("{k} missing in {text}"))
    })
    .collect();
    assert!(order.is_sorted(), "key order {order:?} in {text}");
    serde_json::from_str(text).unwrap()
}

/// Checks the shape of `json` and that its numbers are the library's on `path`.
fn check_against_library(json: &Value, path: &str, config: &Config) {
    assert_eq!(keys(json), ["coin", "horizon", "models", "n_forecasts"]);
    assert_eq!(json["coin"], "bitcoin");
    assert_eq!(json["horizon"], config.horizon.name());
    let bt = backtest::run(&candles(path), config).unwrap();
    let scores = evaluate(&bt);
    assert_eq!(json["n_forecasts"], bt.rows.len());
    let models = json["models"].as_array().unwrap();
    assert_eq!(models.len(), scores.len());
    for (m, s) in models.iter().zip(&scores) {
        let mut fields = FIELDS.to_vec();
        fields.sort_unstable();
        assert_eq!(keys(m), fields);
        assert_eq!(m["name"], s.name.as_str());
        assert_eq!(m["baseline"], s.baseline);
        let target = if m["name"].as_str().unwrap().contains("intervals")
            || ["random_walk", "drift", "ar1"].contains(&s.name.as_str())
        {
            "price"
        } else {
            "volatility"
        };
        assert_eq!(m["target"], target);
        let expected = serde_json::to_value(s).unwrap();
        for field in &FIELDS[3..] {
            match (m[field].as_f64(), expected[field].as_f64()) {
                (Some(got), Some(want)) => {
                    assert!(
                        (got - want).abs() <= 1e-12 * want.abs(),
                        "{field} of {}",
                        s.name
                    )
                }
                (got, want) => assert_eq!(got, want, "{field} of {}", s.name),
            }
        }
    }
}

#[test]
fn small_file_json_matches_the_library_and_names_the_bad_row() {
    let out = run(&[
        "--format",
        "binance-klines",
        SMALL,
        "--coin",
        "bitcoin",
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("line 5"),
        "the bad row is reported: {stderr}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().count(),
        1,
        "exactly one JSON object: {stdout}"
    );
    let json: Value = serde_json::from_str(&stdout).unwrap();
    // 59 good candles in 60 hourly periods, 36 of warm-up: 24 forecasts.
    assert_eq!(json["n_forecasts"], 24);
    check_against_library(&json, SMALL, &Config::new(Horizon::Hour));
    // Not-applicable fields are null: a baseline has no DM test, a volatility forecast no
    // coverage.
    let last = &json["models"][0];
    assert_eq!(last["name"], "last_rv");
    assert!(last["dm_pvalue_vs_baseline"].is_null() && last["coverage_80"].is_null());
    assert!(last["qlike"].as_f64().unwrap() > 0.0);
}

#[test]
fn text_tables_and_the_html_report() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    let out = run(&[
        "--format",
        "binance-klines",
        SMALL,
        "--coin",
        "bitcoin",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for name in [
        "last_rv",
        "garch",
        "har_log",
        "random_walk",
        "har_intervals",
    ] {
        assert!(text.contains(name), "{name} in\n{text}");
    }
    assert!(text.contains("24 walk-forward forecasts"), "{text}");
    let html = std::fs::read_to_string(&report).unwrap();
    assert_eq!(html.matches("<svg").count(), 3);
    assert!(!html.contains("<script"));
}

/// Runs the command on `file` (and `extra` flags), which must fail with every `needle` in
/// its error.
fn fails_naming(file: &str, extra: &[&str], needles: &[&str]) {
    let mut args = vec!["--format", "binance-klines", file, "--coin", "bitcoin"];
    args.extend(extra);
    let out = run(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle} not in {stderr}");
    }
}

#[test]
fn bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let unsorted = dir.path().join("unsorted.csv");
    std::fs::write(
        &unsorted,
        "1704067200,1,1,1,1,1\n1704070800,1,1,1,1,1\n1704067200,1,1,1,1,1\n",
    )
    .unwrap();
    fails_naming(unsorted.to_str().unwrap(), &[], &["line 3", "sorted"]);
    let short = dir.path().join("short.csv");
    std::fs::write(&short, "1704067200,1,1,1,1,1\n1704070800,1,1,1,2,1\n").unwrap();
    fails_naming(short.to_str().unwrap(), &[], &["too few rows"]);
    fails_naming(SMALL, &["--horizon", "2h"], &["horizon", "1h, 1d"]);
}

#[test]
fn shared_history_json_matches_the_library() {
    if !Path::new(SHARED).exists() {
        eprintln!("skipped: {SHARED} is absent");
        return;
    }
    let out = run(&[
        "--format",
        "binance-klines",
        SHARED,
        "--coin",
        "bitcoin",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = parse(&out.stdout);
    assert_eq!(json["n_forecasts"], 468);
    check_against_library(&json, SHARED, &Config::new(Horizon::Hour));
}
