//! `cryptoviz log repair`: the offline fix for damage that start-up refuses to truncate.
//!
//! Start-up truncates only a torn, unacknowledged tail of a partition's active segment. Any
//! other damage stops it with [`Error::Corrupt`] naming the file: a CRC-failing or cut
//! closed segment, or damage in the active segment followed by intact records. [`repair`]
//! scans every segment in full and, for each damaged one:
//!
//! 1. records the offsets it gives up as a gap in the partition's `repairs.json` (start-up
//!    accepts a gap between segments only when it is recorded there);
//! 2. copies the whole file to `<dir>/quarantine/<topic>/<partition>/` (nothing is deleted);
//! 3. truncates the segment in place to its intact prefix (the index is rebuilt on open);
//! 4. for the active segment, starts a new empty segment after the highest offset ever
//!    assigned there (the highest intact frame after the damage or the highest offset the
//!    index names), so no offset a consumer may have seen is handed out again.
//!
//! Every step is idempotent: a repair cut short by a crash is finished by running it again.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tracing::warn;

use super::group::write_atomic;
use super::segment::{self, Segment};
use super::sync_dir;
use crate::error::{Error, IoContext, Result};

/// Per-partition record of the offset ranges a repair gave up.
pub(crate) const REPAIRS_FILE: &str = "repairs.json";

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Repairs {
    gaps: Vec<Gap>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Gap {
    /// First offset given up.
    from: u64,
    /// One past the last offset given up.
    to: u64,
    /// The segment file that lost them.
    segment: String,
    /// Where the original file was copied.
    moved_to: Option<String>,
    reason: String,
    at_ms: i64,
}

impl Repairs {
    pub(super) fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(REPAIRS_FILE);
        match fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| Error::Corrupt {
                path,
                reason: format!("unreadable repair record: {e}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Whether `[from, to)` was given up by a repair.
    pub(super) fn covers(&self, from: u64, to: u64) -> bool {
        self.gaps.iter().any(|g| g.from <= from && g.to >= to)
    }

    fn store(&self, dir: &Path) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self).expect("repairs serialize");
        write_atomic(&dir.join(REPAIRS_FILE), &bytes)
    }
}

/// What [`repair`] found and did.
#[derive(Debug, Default)]
pub struct RepairReport {
    /// Partitions scanned.
    pub partitions: usize,
    /// Segment files scanned in full.
    pub segments: usize,
    /// One entry per damaged segment.
    pub actions: Vec<RepairAction>,
}

/// One damaged segment and what was (or, in a dry run, would be) done about it.
#[derive(Debug, Clone)]
pub struct RepairAction {
    /// The segment file.
    pub segment: PathBuf,
    /// What is wrong with it.
    pub problem: String,
    /// Offsets kept: `[base, end)`.
    pub kept: (u64, u64),
    /// Offsets given up: `[from, to)` (empty when nothing is lost).
    pub lost: (u64, u64),
    /// Bytes cut from the segment (still in the quarantined copy).
    pub bytes_moved: u64,
    /// Where the original file was copied.
    pub moved_to: Option<PathBuf>,
    /// Base of the new active segment started after the highest assigned offset.
    pub new_segment: Option<u64>,
}

impl std::fmt::Display for RepairAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}; kept offsets {}..{}",
            self.segment.display(),
            self.problem,
            self.kept.0,
            self.kept.1
        )?;
        if self.lost.0 < self.lost.1 {
            write!(f, ", gave up offsets {}..{}", self.lost.0, self.lost.1)?;
        }
        if let Some(to) = &self.moved_to {
            write!(
                f,
                ", {} damaged bytes kept in {}",
                self.bytes_moved,
                to.display()
            )?;
        }
        if let Some(b) = self.new_segment {
            write!(f, ", appends continue at offset {b}")?;
        }
        Ok(())
    }
}

/// Scans every segment of the embedded log in `dir` and moves damaged parts aside (see the
/// module docs); with `dry_run`, only reports. Takes the directory's lock, so it fails with
/// [`Error::Locked`] while the log is open elsewhere.
pub fn repair(dir: &Path, dry_run: bool) -> Result<RepairReport> {
    let lock_path = dir.join(".lock");
    if !lock_path.exists() && !dir.join("topics").exists() {
        return Err(Error::InvalidArgument(format!(
            "{} holds no embedded log",
            dir.display()
        )));
    }
    let lock = super::lock_dir(dir)?;
    let mut report = RepairReport::default();
    let topics_dir = dir.join("topics");
    for topic in sorted_dirs(&topics_dir)? {
        let name = topic.file_name().map(|n| n.to_string_lossy().into_owned());
        let mut parts: Vec<(u32, PathBuf)> = sorted_dirs(&topic)?
            .into_iter()
            .filter_map(|p| Some((p.file_name()?.to_str()?.parse().ok()?, p)))
            .collect();
        parts.sort_unstable_by_key(|(n, _)| *n);
        for (n, pdir) in parts {
            let quarantine = dir
                .join("quarantine")
                .join(name.as_deref().unwrap_or("_"))
                .join(n.to_string());
            report.partitions += 1;
            repair_partition(&pdir, &quarantine, dry_run, &mut report)?;
        }
    }
    drop(lock);
    Ok(report)
}

fn sorted_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    match fs::read_dir(dir) {
        Ok(entries) => {
            for e in entries {
                let e = e.at(dir)?;
                if e.file_type().at(dir)?.is_dir() {
                    out.push(e.path());
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(dir, e)),
    }
    out.sort();
    Ok(out)
}

fn segment_bases(dir: &Path) -> Result<Vec<u64>> {
    let mut bases = Vec::new();
    for entry in fs::read_dir(dir).at(dir)? {
        let path = entry.at(dir)?.path();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if path.extension().is_some_and(|e| e == "log")
            && stem.len() == 20
            && let Ok(b) = stem.parse::<u64>()
        {
            bases.push(b);
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

fn repair_partition(
    dir: &Path,
    quarantine: &Path,
    dry_run: bool,
    report: &mut RepairReport,
) -> Result<()> {
    let bases = segment_bases(dir)?;
    let mut repairs = Repairs::load(dir)?;
    for (i, &base) in bases.iter().enumerate() {
        report.segments += 1;
        let ins = segment::inspect(dir, base)?;
        let damaged = ins.valid_end < ins.file_len;
        let why = format!(
            "{} at byte {} of {}",
            ins.stop_reason, ins.valid_end, ins.file_len
        );
        let (problem, lost_to, new_segment) = match bases.get(i + 1) {
            Some(&next) if ins.next_offset > next => {
                return Err(Error::Corrupt {
                    path: segment::log_path(dir, base),
                    reason: format!(
                        "holds offsets up to {} but the next segment starts at {next}: \
                         overlapping segments are not repaired automatically",
                        ins.next_offset - 1
                    ),
                });
            }
            Some(&next) if damaged => (format!("closed segment damaged: {why}"), next, None),
            Some(&next) if ins.next_offset < next && !repairs.covers(ins.next_offset, next) => (
                format!(
                    "closed segment ends at offset {} (cut short)",
                    ins.next_offset
                ),
                next,
                None,
            ),
            Some(_) => continue,
            None => match ins.intact_after {
                // Damage followed by intact records: not a torn write.
                Some(h) if damaged => {
                    let highest = ins.indexed_max.map_or(h, |x| x.max(h));
                    let next = highest + 1;
                    (
                        format!("active segment damaged before intact records: {why}"),
                        next,
                        Some(next),
                    )
                }
                // A torn tail (or nothing): start-up truncates it by itself.
                _ => continue,
            },
        };
        let log_path = segment::log_path(dir, base);
        let mut action = RepairAction {
            segment: log_path.clone(),
            problem,
            kept: (base, ins.next_offset),
            lost: (ins.next_offset, lost_to.max(ins.next_offset)),
            bytes_moved: ins.file_len - ins.valid_end,
            moved_to: None,
            new_segment,
        };
        if !dry_run {
            apply(dir, quarantine, base, &ins, &mut action, &mut repairs)?;
        }
        report.actions.push(action);
    }
    Ok(())
}

fn apply(
    dir: &Path,
    quarantine: &Path,
    base: u64,
    ins: &segment::Inspection,
    action: &mut RepairAction,
    repairs: &mut Repairs,
) -> Result<()> {
    let log_path = segment::log_path(dir, base);
    if ins.valid_end < ins.file_len {
        fs::create_dir_all(quarantine).at(quarantine)?;
        let dest = free_name(quarantine, &log_path);
        fs::copy(&log_path, &dest).at(&dest)?;
        File::open(&dest).and_then(|f| f.sync_all()).at(&dest)?;
        sync_dir(quarantine)?;
        action.moved_to = Some(dest);
    }
    // Record the gap before cutting anything: a crash in between leaves a damaged file that
    // start-up still refuses and a rerun repairs.
    if action.lost.0 < action.lost.1 {
        repairs.gaps.push(Gap {
            from: action.lost.0,
            to: action.lost.1,
            segment: log_path.display().to_string(),
            moved_to: action.moved_to.as_ref().map(|p| p.display().to_string()),
            reason: action.problem.clone(),
            at_ms: super::retention::now_ms(),
        });
        repairs.store(dir)?;
    }
    if ins.valid_end < ins.file_len {
        let f = fs::OpenOptions::new()
            .write(true)
            .open(&log_path)
            .at(&log_path)?;
        f.set_len(ins.valid_end).at(&log_path)?;
        f.sync_all().at(&log_path)?;
        let index = segment::index_path(dir, base);
        if let Err(e) = fs::remove_file(&index)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            warn!(index = %index.display(), error = %e, "could not remove index; rebuilt on open");
        }
    }
    if let Some(next) = action.new_segment {
        let (seg, w) = Segment::create(dir, next)?;
        seg.file.sync_all().at(&seg.log_path)?;
        drop((seg, w));
    }
    sync_dir(dir)
}

/// `dir/<file name>`, or with `.1`, `.2`, ... appended when taken (repeated repairs).
fn free_name(dir: &Path, file: &Path) -> PathBuf {
    let name = file
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    let mut dest = dir.join(&name);
    let mut n = 1;
    while dest.exists() {
        let mut s = name.clone();
        s.push(format!(".{n}"));
        dest = dir.join(s);
        n += 1;
    }
    dest
}
