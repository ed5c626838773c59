//! The distributed mode, black box, against real servers: tansu (Kafka protocol) for the log,
//! influxd 1.x for the store.
//!
//! - Two `cryptoviz consume` processes in one group split the partitions and together write
//!   every window, with the values a single embedded run computes.
//! - A member leaving mid-stream hands its partitions, open windows included, to the other:
//!   the windows still equal a single embedded run's.
//! - Killing `consume` (SIGKILL) mid-stream and starting it again, and stopping influxd for
//!   30 s while ingesting, lose and double nothing in InfluxDB: offsets are committed only
//!   after acknowledged writes, and writes back off and resume. Once with the embedded log,
//!   once on tansu, which drops commit metadata: there the window state comes back from the
//!   store's copy of each checkpoint.

mod common;
mod servers;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use cryptoviz_store::{EmbeddedStore, EmbeddedStoreConfig};
use datafusion::arrow::array::{Array, Float64Array, Int64Array, StringArray};
use datafusion::arrow::compute::concat_batches;
use servers::{Influxd, Tansu};

const DB: &str = "cryptoviz_dist";

/// A window: (coin, width, start ms) → (count, open, high, low, close).
type Windows = BTreeMap<(String, String, i64), (i64, f64, f64, f64, f64)>;

fn with_influx(cmd: &mut Command, influx: &Influxd) {
    cmd.env("CRYPTOVIZ__STORE__BACKEND", "influxdb")
        .env("CRYPTOVIZ__STORE__INFLUXDB__URL", &influx.url)
        .env("CRYPTOVIZ__STORE__INFLUXDB__DATABASE", DB);
}

fn with_kafka(cmd: &mut Command, tansu: &Tansu) {
    cmd.env("CRYPTOVIZ__LOG__BACKEND", "kafka")
        .env("CRYPTOVIZ__LOG__KAFKA__BOOTSTRAP_SERVERS", &tansu.bootstrap)
        .env("CRYPTOVIZ__LOG__KAFKA__SESSION_TIMEOUT", "6s");
}

fn succeed(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The windows a single embedded run computes from the same simulated ticks.
fn reference(ticks: &str) -> Windows {
    let dir = tempfile::tempdir().unwrap();
    succeed(cryptoviz(dir.path()).args(["produce", "--simulate", "--ticks", ticks]));
    succeed(cryptoviz(dir.path()).args(["consume", "--exit-when-idle", "1s"]));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let batch = rt.block_on(async {
        let store =
            EmbeddedStore::open(EmbeddedStoreConfig::new(dir.path().join("store"))).unwrap();
        let batches = store
            .sql(
                "SELECT crypto_id, \"window\", CAST(time AS BIGINT) / 1000000 AS t, count, open, \
                 high, low, close FROM crypto_analytics",
            )
            .await
            .unwrap();
        concat_batches(&batches[0].schema(), &batches).unwrap()
    });
    let s = |i: usize| {
        batch
            .column(i)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .clone()
    };
    let n = |i: usize| {
        batch
            .column(i)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .clone()
    };
    let f = |i: usize| {
        batch
            .column(i)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap()
            .clone()
    };
    let (coin, width, t, count) = (s(0), s(1), n(2), n(3));
    let (open, high, low, close) = (f(4), f(5), f(6), f(7));
    (0..batch.num_rows())
        .map(|i| {
            (
                (
                    coin.value(i).to_string(),
                    width.value(i).to_string(),
                    t.value(i),
                ),
                (
                    count.value(i),
                    open.value(i),
                    high.value(i),
                    low.value(i),
                    close.value(i),
                ),
            )
        })
        .collect()
}

/// The windows in InfluxDB.
fn stored(influx: &Influxd) -> Windows {
    let mut out = Windows::new();
    for series in influx.query(
        DB,
        "SELECT \"count\", \"open\", \"high\", \"low\", \"close\" FROM crypto_analytics \
         GROUP BY crypto_id, \"window\"",
    ) {
        let coin = series["tags"]["crypto_id"].as_str().unwrap().to_string();
        let width = series["tags"]["window"].as_str().unwrap().to_string();
        for row in series["values"].as_array().unwrap() {
            let v = |i: usize| row[i].as_f64().unwrap();
            out.insert(
                (coin.clone(), width.clone(), row[0].as_i64().unwrap()),
                (row[1].as_i64().unwrap(), v(2), v(3), v(4), v(5)),
            );
        }
    }
    out
}

fn assert_windows_equal(expected: &Windows, actual: &Windows) {
    let missing: Vec<_> = expected
        .keys()
        .filter(|k| !actual.contains_key(*k))
        .take(5)
        .collect();
    let extra: Vec<_> = actual
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .take(5)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} windows expected, {} stored; missing {missing:?}, extra {extra:?}",
        expected.len(),
        actual.len()
    );
    for (key, e) in expected {
        let a = &actual[key];
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(1.0);
        assert!(
            e.0 == a.0 && close(e.1, a.1) && close(e.2, a.2) && close(e.3, a.3) && close(e.4, a.4),
            "window {key:?}: expected {e:?}, stored {a:?}"
        );
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The value of `key=` on the last line of `log` containing `marker`.
fn last_value(log: &str, marker: &str, key: &str) -> Option<u64> {
    let line = log.lines().rev().find(|l| l.contains(marker))?;
    let at = line.find(&format!("{key}="))? + key.len() + 1;
    line[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// A `consume` member of the group, logging (info) to `log`.
struct Member {
    running: Running,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Member {
    fn start(tansu: &Tansu, influx: &Influxd, log: std::path::PathBuf, slow_flush: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = cryptoviz(dir.path());
        with_kafka(&mut cmd, tansu);
        with_influx(&mut cmd, influx);
        if slow_flush {
            slow(&mut cmd);
        }
        let child = cmd
            .env("CRYPTOVIZ_LOG", "info")
            .args(["consume", "--exit-when-idle", "15s"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Member {
            running: Running(child),
            log,
            _dir: dir,
        }
    }

    fn log_text(&self) -> String {
        let mut s = String::new();
        std::fs::File::open(&self.log)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        strip_ansi(&s)
    }

    /// The number of partitions the analytics consumer reported last.
    fn partitions(&self) -> Option<u64> {
        last_value(
            &self.log_text(),
            "consumer:cryptoviz-analytics",
            "partitions",
        )
    }

    /// Waits for the member to exit on its own (idle); returns the ticks it read.
    fn finish(mut self) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(status) = self.running.0.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "consume did not exit when idle");
            std::thread::sleep(Duration::from_millis(100));
        };
        let text = self.log_text();
        assert!(status.success(), "consume failed:\n{text}");
        last_value(&text, "consumer finished", "ticks").unwrap_or(0)
    }
}

/// Two members that joined before any data exists and split the 3 partitions.
fn two_members(tansu: &Tansu, influx: &Influxd, logs: &Path, slow_flush: bool) -> [Member; 2] {
    let members = [0, 1].map(|i| {
        Member::start(
            tansu,
            influx,
            logs.join(format!("consume-{i}.log")),
            slow_flush,
        )
    });
    let split = wait_for(Duration::from_secs(60), || {
        let parts: Vec<u64> = members.iter().filter_map(Member::partitions).collect();
        (parts.len() == 2 && parts.iter().all(|p| *p > 0) && parts.iter().sum::<u64>() == 3)
            .then_some(parts)
    });
    assert!(
        split.is_some(),
        "the two members never split the 3 partitions"
    );
    members
}

#[test]
fn two_consumers_split_the_partitions_and_write_every_window() {
    let (Some(tansu), Some(influx)) = (Tansu::start(), Influxd::start()) else {
        return;
    };
    const TICKS: &str = "60000";
    let expected = reference(TICKS);

    // Both members join before any data exists, so each partition has one owner throughout.
    let logs = tempfile::tempdir().unwrap();
    let members = two_members(&tansu, &influx, logs.path(), false);

    let producer = tempfile::tempdir().unwrap();
    let mut cmd = cryptoviz(producer.path());
    with_kafka(&mut cmd, &tansu);
    succeed(cmd.args(["produce", "--simulate", "--ticks", TICKS]));

    let ticks: Vec<u64> = members.into_iter().map(Member::finish).collect();
    assert!(
        ticks.iter().all(|t| *t > 0),
        "each member read some ticks: {ticks:?}"
    );
    assert_eq!(
        ticks.iter().sum::<u64>(),
        60_000,
        "each tick read by exactly one member: {ticks:?}"
    );
    assert_eq!(influx.count(DB, "crypto_market", "price_usd"), 60_000);
    assert_windows_equal(&expected, &stored(&influx));
}

/// Issue 18, item 2: a member leaves mid-stream (SIGTERM: it drains, commits and leaves the
/// group) and the other inherits its partitions, whose windows the leaver had not closed
/// while the survivor's own partitions are further on in event time. The inherited
/// partitions must resume from their own checkpoint, not from the survivor's progress (the
/// old code applied the largest `closed_until` of all partitions to every partition, and
/// skipped the inherited ticks as already counted).
#[test]
fn a_member_leaving_mid_stream_hands_its_open_windows_over() {
    let (Some(tansu), Some(influx)) = (Tansu::start(), Influxd::start()) else {
        return;
    };
    const TICKS: &str = "100000";
    let expected = reference(TICKS);
    let logs = tempfile::tempdir().unwrap();
    let [stays, leaves] = two_members(&tansu, &influx, logs.path(), true);

    let producer = tempfile::tempdir().unwrap();
    let mut cmd = cryptoviz(producer.path());
    with_kafka(&mut cmd, &tansu);
    succeed(cmd.args(["produce", "--simulate", "--ticks", TICKS]));

    let started = wait_for(Duration::from_secs(90), || {
        (influx.count(DB, "crypto_market", "price_usd") > 20_000).then_some(())
    });
    assert!(started.is_some(), "nothing reached InfluxDB");
    let at_leave = influx.count(DB, "crypto_market", "price_usd");
    let Member { running, log, .. } = leaves;
    let status = running.terminate(Duration::from_secs(60));
    let mut text = String::new();
    std::fs::File::open(&log)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(
        status.success(),
        "the leaving member failed ({status:?}):\n{text}"
    );
    assert!(
        at_leave < 100_000,
        "the leave must land mid-stream ({at_leave} stored)"
    );

    let inherited = wait_for(Duration::from_secs(60), || {
        (stays.partitions() == Some(3)).then_some(())
    });
    assert!(
        inherited.is_some(),
        "the remaining member never took over all 3 partitions:\n{}",
        stays.log_text()
    );
    stays.finish();
    assert_eq!(influx.count(DB, "crypto_market", "price_usd"), 100_000);
    assert_windows_equal(&expected, &stored(&influx));
}

/// Slow flushes, so that a kill or an outage lands mid-stream.
fn slow(cmd: &mut Command) -> &mut Command {
    cmd.env("CRYPTOVIZ__CONSUMER__FLUSH_ROWS", "500")
        .env("CRYPTOVIZ__CONSUMER__POLL_MAX", "250")
}

#[test]
fn kill_9_and_a_30_s_influxd_outage_lose_and_double_nothing() {
    let Some(mut influx) = Influxd::start() else {
        return;
    };
    const TICKS: &str = "200000";
    let expected = reference(TICKS);
    let dir = tempfile::tempdir().unwrap();
    succeed(cryptoviz(dir.path()).args(["produce", "--simulate", "--ticks", TICKS]));

    // 1. kill -9 once the first points are in InfluxDB.
    let mut cmd = cryptoviz(dir.path());
    with_influx(&mut cmd, &influx);
    let before = kill_9_mid_stream(cmd, &influx, 0, 200_000);

    // 2. Restart (running until SIGTERM, so it cannot exit on its own during the outage);
    //    once it writes again, stop influxd for 30 s, then bring it back.
    let mut cmd = cryptoviz(dir.path());
    with_influx(&mut cmd, &influx);
    let mut consume = Running(
        slow(&mut cmd)
            .env("CRYPTOVIZ_LOG", "warn")
            .arg("consume")
            .spawn()
            .unwrap(),
    );
    let resumed = wait_for(Duration::from_secs(60), || {
        let n = influx.count(DB, "crypto_market", "price_usd");
        (n > before).then_some(n)
    });
    let at_outage = resumed.expect("the restarted consumer wrote nothing");
    influx.kill();
    assert!(
        at_outage < 200_000,
        "the outage must land mid-stream ({at_outage} stored)"
    );
    std::thread::sleep(Duration::from_secs(30));
    assert!(
        consume.0.try_wait().unwrap().is_none(),
        "consume must wait for the store, not exit or fail"
    );
    influx.restart();
    let caught_up = wait_for(Duration::from_secs(120), || {
        (influx.count(DB, "crypto_market", "price_usd") >= 200_000).then_some(())
    });
    assert!(
        caught_up.is_some(),
        "consume did not catch up after influxd came back (log in {})",
        influx.dir().display()
    );
    // SIGTERM: the consumer drains (its last windows are written) and exits cleanly.
    let status = consume.terminate(Duration::from_secs(60));
    assert!(status.success());
    assert_eq!(influx.count(DB, "crypto_market", "price_usd"), 200_000);
    assert_windows_equal(&expected, &stored(&influx));
}

/// Kills `consume` with SIGKILL once more than `after` points are in InfluxDB, then waits
/// until the killed process's last writes have landed; returns the points stored by then.
fn kill_9_mid_stream(mut cmd: Command, influx: &Influxd, after: u64, total: u64) -> u64 {
    let mut running = Running(slow(&mut cmd).arg("consume").spawn().unwrap());
    let started = wait_for(Duration::from_secs(90), || {
        (influx.count(DB, "crypto_market", "price_usd") > after).then_some(())
    });
    assert!(started.is_some(), "nothing reached InfluxDB");
    assert!(
        running.0.try_wait().unwrap().is_none(),
        "consume must still be running"
    );
    running.0.kill().unwrap();
    running.0.wait().unwrap();
    drop(running);
    let mut before = influx.count(DB, "crypto_market", "price_usd");
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = influx.count(DB, "crypto_market", "price_usd");
        if now == before {
            break;
        }
        before = now;
    }
    assert!(
        before < total,
        "the kill must land mid-stream ({before} stored)"
    );
    before
}

#[test]
fn kill_9_on_kafka_loses_and_doubles_nothing() {
    let (Some(tansu), Some(influx)) = (Tansu::start(), Influxd::start()) else {
        return;
    };
    const TICKS: &str = "100000";
    let expected = reference(TICKS);
    let producer = tempfile::tempdir().unwrap();
    let mut cmd = cryptoviz(producer.path());
    with_kafka(&mut cmd, &tansu);
    succeed(cmd.args(["produce", "--simulate", "--ticks", TICKS]));

    let dir = tempfile::tempdir().unwrap();
    let consume = || {
        let mut cmd = cryptoviz(dir.path());
        with_kafka(&mut cmd, &tansu);
        with_influx(&mut cmd, &influx);
        cmd
    };
    // Late enough that offsets were committed (a kill before the first commit would only
    // restart from the beginning).
    kill_9_mid_stream(consume(), &influx, 20_000, 100_000);

    // The restarted member waits out the killed one's session, takes the partitions back from
    // their committed offsets, and exits once the topic is drained.
    let log = dir.path().join("restart.log");
    let mut cmd = consume();
    let status = slow(&mut cmd)
        .env("CRYPTOVIZ_LOG", "info")
        .args(["consume", "--exit-when-idle", "25s"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .status()
        .unwrap();
    let mut text = String::new();
    std::fs::File::open(&log)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let text = strip_ansi(&text);
    assert!(status.success(), "consume failed:\n{text}");
    assert!(
        text.contains("window state restored from the store"),
        "tansu keeps no commit metadata, so the restart must use the store's checkpoints:\n{text}"
    );
    assert_eq!(influx.count(DB, "crypto_market", "price_usd"), 100_000);
    assert_windows_equal(&expected, &stored(&influx));
}

/// Issue 18, item 2, the other direction: a second member joins mid-stream and takes some of
/// the first one's partitions, with their open windows.
#[test]
fn a_member_joining_mid_stream_takes_over_open_windows() {
    let (Some(tansu), Some(influx)) = (Tansu::start(), Influxd::start()) else {
        return;
    };
    const TICKS: &str = "300000";
    let expected = reference(TICKS);
    let logs = tempfile::tempdir().unwrap();
    let first = Member::start(&tansu, &influx, logs.path().join("first.log"), true);
    let alone = wait_for(Duration::from_secs(60), || {
        (first.partitions() == Some(3)).then_some(())
    });
    assert!(
        alone.is_some(),
        "the first member never got the 3 partitions"
    );

    let producer = tempfile::tempdir().unwrap();
    let mut cmd = cryptoviz(producer.path());
    with_kafka(&mut cmd, &tansu);
    succeed(cmd.args(["produce", "--simulate", "--ticks", TICKS]));
    let started = wait_for(Duration::from_secs(90), || {
        (influx.count(DB, "crypto_market", "price_usd") > 0).then_some(())
    });
    assert!(started.is_some(), "nothing reached InfluxDB");

    let second = Member::start(&tansu, &influx, logs.path().join("second.log"), true);
    let split = wait_for(Duration::from_secs(90), || {
        (second.partitions().is_some_and(|p| p > 0)).then_some(())
    });
    assert!(
        split.is_some(),
        "the joining member was never assigned a partition:\n{}",
        second.log_text()
    );
    assert!(
        influx.count(DB, "crypto_market", "price_usd") < 300_000,
        "the join must land mid-stream"
    );
    first.finish();
    second.finish();
    assert_eq!(influx.count(DB, "crypto_market", "price_usd"), 300_000);
    assert_windows_equal(&expected, &stored(&influx));
}
