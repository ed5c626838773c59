//! Start-up truncates only a torn tail of the active segment; other damage stops it, naming
//! the file, until `repair` moves the damaged part aside without reusing any offset.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cryptoviz_log::embedded::repair;
use cryptoviz_log::{EmbeddedLog, EmbeddedLogConfig, Error, Log};

use super::*;

fn small(dir: &Path) -> EmbeddedLogConfig {
    EmbeddedLogConfig {
        segment_bytes: 1024,
        ..EmbeddedLogConfig::new(dir)
    }
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("topics/t/0"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    v.sort();
    v
}

/// Appends `n` records to `t` (one partition) in batches of 5.
async fn fill(cfg: EmbeddedLogConfig, n: usize) -> Vec<String> {
    let vals: Vec<String> = (0..n).map(|i| format!("value-{i:04}")).collect();
    append_values(&EmbeddedLog::open(cfg).unwrap(), &vals, 5).await;
    vals
}

/// Appends the record `next` and returns its offset.
async fn append_next(log: &EmbeddedLog) -> u64 {
    let appended = log.append("t", vec![rec(Some("BTC"), "next", 2)]).await;
    appended.unwrap()[0].offset
}

/// (offset, value) of everything readable, via a fresh group.
async fn read_back(log: &EmbeddedLog, n: usize) -> Vec<(u64, String)> {
    read_exactly(log, "check", n, Duration::from_millis(50))
        .await
        .iter()
        .map(|r| (r.offset, String::from_utf8(r.value.to_vec()).unwrap()))
        .collect()
}

fn open_err(cfg: EmbeddedLogConfig) -> Error {
    match EmbeddedLog::open(cfg) {
        Ok(_) => panic!("start-up accepted a damaged segment"),
        Err(e) => e,
    }
}

fn assert_names_file_and_repair(e: &Error, file: &Path) {
    assert!(matches!(e, Error::Corrupt { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains(&file.display().to_string()), "{msg}");
    assert!(msg.contains("cryptoviz log repair"), "{msg}");
}

#[tokio::test]
async fn corrupt_closed_segment_stops_startup_until_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let vals = fill(small(dir.path()), 100).await;
    let segs = segments(dir.path());
    assert!(segs.len() >= 4, "{segs:?}");
    // Flip a byte in the middle of the second (closed) segment.
    let damaged = segs[1].clone();
    let mut bytes = std::fs::read(&damaged).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&damaged, &bytes).unwrap();

    let e = open_err(small(dir.path()));
    assert_names_file_and_repair(&e, &damaged);
    assert_eq!(
        std::fs::read(&damaged).unwrap(),
        bytes,
        "start-up must not cut a closed segment"
    );

    let report = repair(dir.path(), false).unwrap();
    assert_eq!(report.actions.len(), 1, "{:?}", report.actions);
    let a = &report.actions[0];
    assert_eq!(a.segment, damaged);
    let (lost_from, lost_to) = a.lost;
    assert!(lost_from < lost_to, "{a}");
    let moved = a.moved_to.clone().expect("the original is kept aside");
    assert_eq!(std::fs::read(&moved).unwrap(), bytes);
    assert!(moved.starts_with(dir.path().join("quarantine/t/0")));

    let log = EmbeddedLog::open(small(dir.path())).unwrap();
    let expected: Vec<(u64, String)> = vals
        .iter()
        .enumerate()
        .map(|(i, v)| (i as u64, v.clone()))
        .filter(|(o, _)| !(lost_from..lost_to).contains(o))
        .collect();
    assert_eq!(read_back(&log, expected.len()).await, expected);
    assert_eq!(
        append_next(&log).await,
        100,
        "offsets continue after the highest assigned"
    );
    drop(log);
    assert!(repair(dir.path(), false).unwrap().actions.is_empty());
}

#[tokio::test]
async fn damage_followed_by_intact_records_in_the_active_segment_is_not_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = || EmbeddedLogConfig::new(dir.path());
    let vals = fill(cfg(), 50).await;
    let seg = segments(dir.path()).remove(0);
    // Damage the 11th record's value: records 11..50 are intact behind it.
    let mut bytes = std::fs::read(&seg).unwrap();
    let frame = bytes.len() / 50;
    bytes[10 * frame + frame - 2] ^= 0x01;
    std::fs::write(&seg, &bytes).unwrap();

    // The old recovery truncated here and handed offsets 10.. out again.
    let e = open_err(cfg());
    assert_names_file_and_repair(&e, &seg);
    assert!(e.to_string().contains("up to offset 49"), "{e}");

    let dry = repair(dir.path(), true).unwrap();
    assert_eq!(dry.actions.len(), 1);
    assert_eq!(
        std::fs::read(&seg).unwrap(),
        bytes,
        "a dry run changes nothing"
    );
    let report = repair(dir.path(), false).unwrap();
    assert_eq!(report.actions[0].lost, (10, 50));
    assert_eq!(report.actions[0].new_segment, Some(50));

    let log = EmbeddedLog::open(cfg()).unwrap();
    let kept: Vec<(u64, String)> = (0..10).map(|i| (i, vals[i as usize].clone())).collect();
    assert_eq!(
        append_next(&log).await,
        50,
        "no offset up to the highest assigned is reused"
    );
    let mut all = kept;
    all.push((50, "next".into()));
    assert_eq!(read_back(&log, 11).await, all);
}

#[tokio::test]
async fn closed_segment_cut_at_a_frame_boundary_stops_startup() {
    let dir = tempfile::tempdir().unwrap();
    let vals = fill(small(dir.path()), 100).await;
    let segs = segments(dir.path());
    // Keep only the first frame of the second segment: a clean file, records missing.
    let bytes = std::fs::read(&segs[1]).unwrap();
    let first = 8 + u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&segs[1])
        .unwrap()
        .set_len(first as u64)
        .unwrap();
    assert_names_file_and_repair(&open_err(small(dir.path())), &segs[1]);

    let report = repair(dir.path(), false).unwrap();
    assert_eq!(report.actions.len(), 1);
    let (from, to) = report.actions[0].lost;
    assert!(from < to);
    assert_eq!(report.actions[0].moved_to, None, "nothing damaged to move");
    let log = EmbeddedLog::open(small(dir.path())).unwrap();
    let n = 100 - (to - from) as usize;
    let got = read_back(&log, n).await;
    assert_eq!(got.len(), n);
    assert!(got.iter().all(|(o, v)| *v == vals[*o as usize]));
}
