//! Property-based fuzz test of recovery: a partition is written, its segment and index files
//! are truncated, bit-flipped, overwritten, zeroed, extended with garbage or deleted, and
//! then reopened. Whatever the damage, opening never panics; an intact segment never loses
//! a record; no read returns a record that differs from what was appended; damage to a
//! closed segment that start-up can see stops it, naming a damaged file; and the next
//! append never reuses an offset that can still be read.
//!
//! Cases: `PROPTEST_CASES` (default 10,000), fixed seed (`PROPTEST_RNG_SEED` to change it).
//! Long run: `PROPTEST_CASES=1000000 cargo test --release --workspace --lib -- recovery_fuzz`.

#[path = "../../../schemas/tests/common/fuzz.rs"]
mod fuzz;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};

use crate::Record;
use crate::embedded::FsyncPolicy;
use crate::embedded::partition::{Partition, PartitionConfig};
use crate::error::Error;

fn runner() -> TestRunner {
    fuzz::runner(0x106_5eed)
}

#[derive(Clone, Debug)]
enum Damage {
    Truncate { at: f64 },
    Flip { at: f64, mask: u8 },
    Overwrite { at: f64, bytes: Vec<u8> },
    Zero { at: f64, len: usize },
    Append { bytes: Vec<u8> },
    Delete,
}

/// (key, value, timestamp) of a record to append.
type Rec = (Option<Vec<u8>>, Vec<u8>, i64);

#[derive(Clone, Debug)]
struct Case {
    segment_bytes: u64,
    batches: Vec<Vec<Rec>>,
    /// (file chosen modulo the file count, damage)
    damage: Vec<(usize, Damage)>,
}

fn damage() -> impl Strategy<Value = Damage> {
    let at = 0.0..1.0f64;
    prop_oneof![
        at.clone().prop_map(|at| Damage::Truncate { at }),
        (at.clone(), 1..=255u8).prop_map(|(at, mask)| Damage::Flip { at, mask }),
        (at.clone(), prop::collection::vec(any::<u8>(), 1..24))
            .prop_map(|(at, bytes)| Damage::Overwrite { at, bytes }),
        (at, 1..600usize).prop_map(|(at, len)| Damage::Zero { at, len }),
        prop::collection::vec(any::<u8>(), 1..80).prop_map(|bytes| Damage::Append { bytes }),
        Just(Damage::Delete),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let record = (
        prop::option::of(prop::collection::vec(any::<u8>(), 0..8)),
        prop::collection::vec(any::<u8>(), 0..90),
        -1000i64..1000,
    );
    (
        prop_oneof![Just(200u64), Just(700), Just(6000)],
        prop::collection::vec(prop::collection::vec(record, 1..12), 1..10),
        prop::collection::vec((any::<usize>(), damage()), 1..3),
    )
        .prop_map(|(segment_bytes, batches, damage)| Case {
            segment_bytes,
            batches,
            damage,
        })
}

fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect()
}

fn base_of(p: &Path) -> u64 {
    p.file_stem().unwrap().to_str().unwrap().parse().unwrap()
}

fn is_log(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "log")
}

fn apply(path: &Path, d: &Damage) {
    let Ok(mut b) = std::fs::read(path) else {
        return; // deleted by an earlier damage
    };
    let pos = |at: f64, len: usize| ((at * len as f64) as usize).min(len);
    match d {
        Damage::Truncate { at } => b.truncate(pos(*at, b.len())),
        Damage::Flip { at, mask } => {
            if !b.is_empty() {
                let i = pos(*at, b.len() - 1);
                b[i] ^= mask;
            }
        }
        Damage::Overwrite { at, bytes } => {
            let i = pos(*at, b.len());
            let end = (i + bytes.len()).min(b.len());
            b[i..end].copy_from_slice(&bytes[..end - i]);
        }
        Damage::Zero { at, len } => {
            let i = pos(*at, b.len());
            let end = (i + len).min(b.len());
            b[i..end].fill(0);
        }
        Damage::Append { bytes } => b.extend_from_slice(bytes),
        Damage::Delete => {
            // Deleting a whole segment is a different failure (a lost file); the index is
            // only advisory, so deleting it must always be harmless.
            if !is_log(path) {
                std::fs::remove_file(path).unwrap();
            }
            return;
        }
    }
    std::fs::write(path, b).unwrap();
}

fn run(c: &Case) -> Result<(), TestCaseError> {
    let tmp = match std::fs::metadata("/dev/shm") {
        Ok(m) if m.is_dir() => tempfile::tempdir_in("/dev/shm").unwrap(),
        _ => tempfile::tempdir().unwrap(),
    };
    let dir = tmp.path().join("0");
    let topic: Arc<str> = Arc::from("t");
    let cfg = PartitionConfig {
        segment_bytes: c.segment_bytes,
        fsync: FsyncPolicy::Never,
    };
    let open = || Partition::open(dir.clone(), topic.clone(), 0, cfg);
    let originals: Vec<Record> = c
        .batches
        .iter()
        .flatten()
        .map(|(k, v, ts)| Record {
            key: k.as_ref().map(|k| Bytes::copy_from_slice(k)),
            value: Bytes::copy_from_slice(v),
            timestamp_ms: *ts,
        })
        .collect();
    {
        let p = open().unwrap();
        let mut scratch = Vec::new();
        let mut i = 0;
        for b in &c.batches {
            let refs: Vec<&Record> = originals[i..i + b.len()].iter().collect();
            p.append(&refs, &mut scratch).unwrap();
            i += b.len();
        }
    }
    let golden = files(&dir);
    let names: Vec<&PathBuf> = golden.keys().collect();
    for (f, d) in &c.damage {
        apply(names[f % names.len()], d);
    }
    let now = files(&dir);
    // Segments by base: (golden bytes, first differing byte if changed, index had entries).
    let logs: Vec<(u64, &PathBuf)> = golden
        .keys()
        .filter(|p| is_log(p))
        .map(|p| (base_of(p), p))
        .collect();
    let mut changed: BTreeMap<u64, usize> = BTreeMap::new();
    for (base, p) in &logs {
        let (g, n) = (&golden[*p], &now[*p]);
        if g != n {
            let first = g.iter().zip(n).position(|(a, b)| a != b);
            changed.insert(*base, first.unwrap_or(g.len().min(n.len())));
        }
    }
    let ends: Vec<u64> = logs
        .iter()
        .skip(1)
        .map(|(b, _)| *b)
        .chain([originals.len() as u64])
        .collect();
    let active = logs.last().unwrap().0;

    let p = match open() {
        Err(e) => {
            let Error::Corrupt { path, .. } = &e else {
                return Err(TestCaseError::fail(format!("unexpected error: {e}")));
            };
            prop_assert!(
                changed.contains_key(&base_of(path)),
                "start-up refused an intact segment: {e}"
            );
            return Ok(());
        }
        Ok(p) => p,
    };
    // Every damaged closed segment without index entries is scanned in full at start-up.
    for (base, path) in &logs {
        let indexed = golden[&path.with_extension("index")].len() >= 20;
        prop_assert!(
            *base == active || indexed || !changed.contains_key(base),
            "start-up accepted damaged closed segment {}",
            path.display()
        );
    }

    let mut seen = BTreeSet::new();
    for (i, (base, path)) in logs.iter().enumerate() {
        let end = ends[i];
        let mut from = *base;
        while from < end {
            match p.read(from, 1) {
                Ok(r) => {
                    let Some(rec) = r.records.first() else { break };
                    if rec.offset >= end {
                        break;
                    }
                    let o = &originals[rec.offset as usize];
                    prop_assert!(
                        rec.value == o.value
                            && rec.key == o.key
                            && rec.timestamp_ms == o.timestamp_ms,
                        "offset {} read back different from what was appended",
                        rec.offset
                    );
                    seen.insert(rec.offset);
                    from = r.next;
                }
                Err(e) => {
                    prop_assert!(
                        changed.contains_key(base),
                        "read of intact {} failed: {e}",
                        path.display()
                    );
                    break;
                }
            }
        }
        match changed.get(base) {
            None => {
                for o in *base..end {
                    prop_assert!(
                        seen.contains(&o),
                        "record {o} of intact {} lost",
                        path.display()
                    );
                }
            }
            Some(&first_diff) if *base == active => {
                // Records written entirely before the first damaged byte survive.
                let mut pos = 0usize;
                for o in *base..end {
                    pos += crate::embedded::segment::frame_len(&originals[o as usize]);
                    if pos > first_diff {
                        break;
                    }
                    prop_assert!(seen.contains(&o), "record {o} before the damage lost");
                }
            }
            Some(_) => {}
        }
    }
    let next = p
        .append(&[&originals[0]], &mut Vec::new())
        .map_err(|e| TestCaseError::fail(format!("append after recovery: {e}")))?;
    if let Some(&max) = seen.last() {
        prop_assert!(next > max, "offset {next} handed out again");
    }
    if changed.is_empty() {
        prop_assert_eq!(next, originals.len() as u64);
    }
    Ok(())
}

#[test]
fn recovery_fuzz_never_panics_or_loses_intact_records() {
    runner()
        .run(&case(), |c| run(&c))
        .unwrap_or_else(|e| panic!("{e}"));
}
