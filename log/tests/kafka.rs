//! The Kafka backend against a real Kafka-protocol broker: tansu, started per test on a free
//! loopback port (`scripts/tools/install-tansu.sh` installs it to `target/tools/tansu`, or
//! point `$TANSU` at a binary). Skipped with a message when tansu is not installed. Set
//! `KAFKA_BOOTSTRAP=host:port` to run the same tests against a real Kafka instead.
//!
//! tansu 0.6 does not keep offset-commit metadata (OffsetFetch answers ""): the metadata
//! round trip is asserted only against a real Kafka; on tansu the test checks the offsets and
//! prints a note.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cryptoviz_log::{
    Bytes, Committed, ConsumedRecord, KafkaConfig, KafkaLog, Log, LogConsumer, Record, SeekTo,
    TopicPartition, partition_for_key,
};

const DEADLINE: Duration = Duration::from_secs(90);

/// The broker under test: a tansu child process killed (by PID) on drop, or a real Kafka.
struct Tansu {
    child: Option<Child>,
    bootstrap: String,
    real_kafka: bool,
}

impl Drop for Tansu {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A topic or group name unique to this run (a real Kafka outlives the tests).
fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

fn tansu_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TANSU") {
        return Some(PathBuf::from(p));
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tools/tansu");
    p.exists().then_some(p)
}

fn start_tansu() -> Option<Tansu> {
    if let Ok(bootstrap) = std::env::var("KAFKA_BOOTSTRAP") {
        return Some(Tansu {
            child: None,
            bootstrap,
            real_kafka: true,
        });
    }
    let Some(bin) = tansu_bin() else {
        assert!(
            std::env::var_os("CRYPTOVIZ_REQUIRE_TEST_SERVERS").is_none(),
            "tansu is required here (scripts/tools/install-tansu.sh) but not installed"
        );
        println!("skipping: tansu not installed (scripts/tools/install-tansu.sh)");
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new(&bin)
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .args(["--storage-engine", "memory://tansu/"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tansu");
    let tansu = Tansu {
        child: Some(child),
        bootstrap: format!("127.0.0.1:{port}"),
        real_kafka: false,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ok = Command::new(&bin)
            .args(["topic", "list", "--broker", &url])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(tansu);
        }
        assert!(Instant::now() < deadline, "tansu did not come up on {url}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn connect(tansu: &Tansu) -> Arc<KafkaLog> {
    let mut config = KafkaConfig::new(&tansu.bootstrap);
    config.session_timeout = Duration::from_secs(6);
    KafkaLog::connect(config).await.expect("connect")
}

fn record(key: &str, value: String, ts: i64) -> Record {
    Record {
        key: Some(Bytes::copy_from_slice(key.as_bytes())),
        value: Bytes::from(value),
        timestamp_ms: ts,
    }
}

const COINS: [&str; 6] = [
    "bitcoin", "ethereum", "solana", "cardano", "dogecoin", "ripple",
];

/// Polls until `done` holds for everything read so far; panics at the deadline.
async fn poll_until(
    consumer: &mut Box<dyn LogConsumer>,
    what: &str,
    mut done: impl FnMut(&[ConsumedRecord], &dyn LogConsumer) -> bool,
) -> Vec<ConsumedRecord> {
    let deadline = Instant::now() + DEADLINE;
    let mut all = Vec::new();
    loop {
        let got = consumer
            .poll(100, Duration::from_millis(250))
            .await
            .unwrap();
        all.extend(got);
        if done(&all, consumer.as_ref()) {
            return all;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
    }
}

/// Offsets must match; metadata must match on a real Kafka (tansu 0.6 drops it).
fn check_committed(broker: &Tansu, tp: &TopicPartition, got: Option<Committed>, want: &Committed) {
    let got = got.unwrap_or_else(|| panic!("{tp}: nothing committed"));
    assert_eq!(got.offset, want.offset, "{tp}");
    if broker.real_kafka || !got.metadata.is_empty() {
        assert_eq!(got.metadata, want.metadata, "{tp}");
    } else {
        println!("note: {tp}: tansu returned no commit metadata (known tansu 0.6 limitation)");
    }
}

fn by_partition(records: &[ConsumedRecord]) -> BTreeMap<u32, Vec<&ConsumedRecord>> {
    let mut out: BTreeMap<u32, Vec<&ConsumedRecord>> = BTreeMap::new();
    for r in records {
        out.entry(r.partition).or_default().push(r);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_get_three_partitions_and_keys_partition_like_murmur2() {
    let Some(tansu) = start_tansu() else { return };
    let log = connect(&tansu).await;
    let (topic, auto) = (unique("prices-a"), unique("auto-created"));
    log.ensure_topic(&topic, 3).await.unwrap();
    log.ensure_topic(&topic, 3).await.unwrap(); // already exists: fine
    assert_eq!(log.partition_count(&topic).await.unwrap(), 3);

    let records: Vec<Record> = (0..24)
        .map(|i| record(COINS[i % COINS.len()], format!("v{i}"), 1_000 + i as i64))
        .collect();
    let produced = log.append(&topic, records.clone()).await.unwrap();
    assert_eq!(produced.len(), records.len());
    let mut last: BTreeMap<u32, u64> = BTreeMap::new();
    for (r, p) in records.iter().zip(&produced) {
        assert_eq!(p.partition, partition_for_key(r.key.as_ref().unwrap(), 3));
        if let Some(prev) = last.insert(p.partition, p.offset) {
            assert!(p.offset > prev, "offsets grow in input order per partition");
        }
    }
    // Auto-creation on append uses the configured default (3).
    log.append(&auto, vec![record("bitcoin", "x".into(), 1)])
        .await
        .unwrap();
    assert_eq!(log.partition_count(&auto).await.unwrap(), 3);
    log.flush().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_offsets_and_metadata_survive_a_new_member() {
    let Some(tansu) = start_tansu() else { return };
    let log = connect(&tansu).await;
    let (topic, group) = (unique("prices-b"), unique("group-b"));
    log.ensure_topic(&topic, 3).await.unwrap();
    let records: Vec<Record> = (0..30)
        .map(|i| record(COINS[i % COINS.len()], format!("v{i}"), 1_000 + i as i64))
        .collect();
    let produced = log.append(&topic, records).await.unwrap();

    let mut c = log.subscribe(&group, &[&topic]).await.unwrap();
    let read = poll_until(&mut c, "30 records", |all, _| all.len() >= 30).await;
    assert_eq!(read.len(), 30);
    let change = c
        .take_assignment_change()
        .expect("initial assignment reported");
    assert_eq!(change.assigned.len(), 3);
    assert_eq!(c.assignment().len(), 3);
    for (p, rs) in by_partition(&read) {
        let offsets: Vec<u64> = rs.iter().map(|r| r.offset).collect();
        let want: Vec<u64> = produced
            .iter()
            .filter(|x| x.partition == p)
            .map(|x| x.offset)
            .collect();
        assert_eq!(offsets, want, "partition {p} in offset order");
        for r in rs {
            assert_eq!(partition_for_key(r.key.as_ref().unwrap(), 3), p);
        }
    }

    // Commit a mid position with a checkpoint in the metadata.
    let mut commits = Vec::new();
    for p in 0..3u32 {
        let ends = produced.iter().filter(|x| x.partition == p).count() as u64;
        let tp = TopicPartition::new(&topic, p);
        let first = produced
            .iter()
            .find(|x| x.partition == p)
            .map_or(0, |x| x.offset);
        let offset = first + ends / 2;
        commits.push((
            tp,
            Committed {
                offset,
                metadata: format!(r#"{{"read_to":{offset},"partition":{p}}}"#),
            },
        ));
    }
    c.commit(&commits).await.unwrap();
    for (tp, want) in &commits {
        check_committed(&tansu, tp, c.committed(tp).await.unwrap(), want);
    }
    let offsets = log.group_offsets(&group, &topic).await.unwrap();
    for (tp, want) in &commits {
        check_committed(&tansu, tp, offsets[tp.partition as usize].clone(), want);
    }
    drop(c);

    // A new member of the group starts each partition at the committed offset.
    let mut d = log.subscribe(&group, &[&topic]).await.unwrap();
    let expected: usize = commits
        .iter()
        .map(|(tp, c)| {
            produced
                .iter()
                .filter(|x| x.partition == tp.partition && x.offset >= c.offset)
                .count()
        })
        .sum();
    let read = poll_until(&mut d, "resumed records", |all, _| all.len() >= expected).await;
    for (tp, want) in &commits {
        check_committed(&tansu, tp, d.committed(tp).await.unwrap(), want);
        let first = read
            .iter()
            .filter(|r| r.partition == tp.partition)
            .map(|r| r.offset)
            .min();
        assert_eq!(first, Some(want.offset), "{tp} resumes at the commit");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_split_the_partitions() {
    let Some(tansu) = start_tansu() else { return };
    let log = connect(&tansu).await;
    let (topic, group) = (unique("prices-c"), unique("group-c"));
    log.ensure_topic(&topic, 3).await.unwrap();
    let mut a = log.subscribe(&group, &[&topic]).await.unwrap();
    poll_until(&mut a, "a gets all partitions", |_, c| {
        c.assignment().len() == 3
    })
    .await;
    let first = a.take_assignment_change().unwrap();
    assert_eq!(first.assigned.len(), 3);

    let mut b = log.subscribe(&group, &[&topic]).await.unwrap();
    let deadline = Instant::now() + DEADLINE;
    let (mut a_revoked, mut b_assigned) = (false, false);
    loop {
        a.poll(10, Duration::from_millis(100)).await.unwrap();
        b.poll(10, Duration::from_millis(100)).await.unwrap();
        if let Some(ch) = a.take_assignment_change() {
            a_revoked |= !ch.revoked.is_empty();
        }
        if let Some(ch) = b.take_assignment_change() {
            b_assigned |= !ch.assigned.is_empty();
        }
        let sa: BTreeSet<_> = a.assignment().into_iter().collect();
        let sb: BTreeSet<_> = b.assignment().into_iter().collect();
        if !sa.is_empty() && !sb.is_empty() && sa.is_disjoint(&sb) && sa.len() + sb.len() == 3 {
            break;
        }
        assert!(Instant::now() < deadline, "no split: a={sa:?} b={sb:?}");
    }
    assert!(a_revoked && b_assigned, "changes reported to both members");
    // A member cannot commit a partition it no longer owns.
    let theirs = b.assignment()[0].clone();
    let err = a
        .commit(&[(theirs, Committed::default())])
        .await
        .unwrap_err();
    assert!(err.is_caller_error(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seek_to_beginning_and_offset() {
    let Some(tansu) = start_tansu() else { return };
    let log = connect(&tansu).await;
    let (topic, group) = (unique("prices-d"), unique("group-d"));
    log.ensure_topic(&topic, 3).await.unwrap();
    let records: Vec<Record> = (0..10)
        .map(|i| record("bitcoin", format!("v{i}"), 1_000 + i))
        .collect();
    let produced = log.append(&topic, records).await.unwrap();
    let p = produced[0].partition;
    let base = produced[0].offset;
    let tp = TopicPartition::new(&topic, p);

    let mut c = log.subscribe(&group, &[&topic]).await.unwrap();
    poll_until(&mut c, "all 10", |all, _| all.len() >= 10).await;

    c.seek(&tp, SeekTo::Offset(base + 5)).await.unwrap();
    let again = poll_until(&mut c, "5 after seek", |all, _| all.len() >= 5).await;
    let offsets: Vec<u64> = again.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, (base + 5..base + 10).collect::<Vec<_>>());

    c.seek(&tp, SeekTo::Beginning).await.unwrap();
    let again = poll_until(&mut c, "10 after rewind", |all, _| all.len() >= 10).await;
    assert_eq!(again[0].offset, base);
    assert_eq!(again[0].value, Bytes::from("v0"));
    assert_eq!(again[0].timestamp_ms, 1_000);
}
