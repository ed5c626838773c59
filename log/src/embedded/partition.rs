//! One partition: an ordered list of segments, the append path (with group commit), reads,
//! and consumer wake-ups.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime};

use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;
use tracing::{error, info, warn};

use super::health::{Stalled, is_disk_full};
use super::read::{self, ReadSpec};
use super::repair::{REPAIRS_FILE, Repairs};
use super::segment::{self, Batch, Role, Segment, SegmentWriter};
use super::{FsyncPolicy, sync_dir};
use crate::error::{Error, IoContext, Result};
use crate::{ConsumedRecord, Record};

/// Bytes read per partition per fetch.
const FETCH_BYTES: usize = 1 << 20;

/// Settings a partition needs from the log config.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PartitionConfig {
    pub segment_bytes: u64,
    pub fsync: FsyncPolicy,
}

#[derive(Debug)]
struct State {
    /// Oldest first; the last one is the active segment. Never empty.
    segments: Vec<Segment>,
    /// One past the last offset consumers may read (acknowledged records only).
    visible_end: u64,
}

/// A partition of a topic.
#[derive(Debug)]
pub(crate) struct Partition {
    pub topic: Arc<str>,
    pub id: u32,
    dir: PathBuf,
    cfg: PartitionConfig,
    state: RwLock<State>,
    /// Serializes appends; owns the active segment's files.
    writer: Mutex<SegmentWriter>,
    /// Serializes fsyncs: a batch whose data an earlier fsync already covered skips its own.
    sync_lock: Mutex<()>,
    synced_end: AtomicU64,
    dirty: AtomicBool,
    waiters: Mutex<HashMap<u64, Weak<Notify>>>,
    /// Set while appends wait for disk space.
    stall: Mutex<Option<Stalled>>,
}

/// First and longest wait between attempts of a write that found the disk full.
const STALL_RETRY_FIRST: Duration = Duration::from_millis(50);
const STALL_RETRY_MAX: Duration = Duration::from_secs(2);
/// How often a continuing stall is logged again.
const STALL_REMIND: Duration = Duration::from_secs(60);

/// Result of [`Partition::read`].
#[derive(Debug)]
pub(crate) struct PartitionRead {
    pub records: Vec<ConsumedRecord>,
    /// Position to read from next time.
    pub next: u64,
}

impl Partition {
    /// Opens (recovering) or creates the partition directory.
    pub(crate) fn open(
        dir: PathBuf,
        topic: Arc<str>,
        id: u32,
        cfg: PartitionConfig,
    ) -> Result<Self> {
        fs::create_dir_all(&dir).at(&dir)?;
        let mut bases = Vec::new();
        let mut indexes = Vec::new();
        for entry in fs::read_dir(&dir).at(&dir)? {
            let path = entry.at(&dir)?.path();
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let base = stem.parse::<u64>().ok().filter(|_| stem.len() == 20);
            match (path.extension().and_then(|e| e.to_str()), base) {
                (Some("log"), Some(b)) => bases.push(b),
                (Some("index"), Some(b)) => indexes.push(b),
                _ if path.file_name().is_some_and(|n| n == REPAIRS_FILE) => {}
                _ => warn!(file = %path.display(), "ignoring unexpected file in partition dir"),
            }
        }
        bases.sort_unstable();
        for b in indexes {
            if bases.binary_search(&b).is_err() {
                // Left behind by a retention deletion interrupted by a crash.
                let p = segment::index_path(&dir, b);
                fs::remove_file(&p).at(&p)?;
            }
        }
        let mut segments = Vec::with_capacity(bases.len().max(1));
        let mut writer = None;
        let repairs = Repairs::load(&dir)?;
        for (i, &base) in bases.iter().enumerate() {
            let role = if i + 1 == bases.len() {
                Role::Active
            } else {
                Role::Closed
            };
            let (seg, w) = Segment::recover(&dir, base, role)?;
            if let Some(prev) = segments.last() {
                if prev_overlaps(prev, &seg) {
                    return Err(Error::Corrupt {
                        path: seg.log_path,
                        reason: "segment overlaps the previous one".into(),
                    });
                }
                // A segment is created at the next offset of the one it closes, so a gap
                // means a closed segment lost records at its end (truncated at a frame
                // boundary), unless `cryptoviz log repair` recorded the gap.
                if prev.next_offset < seg.base && !repairs.covers(prev.next_offset, seg.base) {
                    return Err(Error::Corrupt {
                        path: prev.log_path.clone(),
                        reason: format!(
                            "this closed segment ends at offset {} but the next one starts at \
                             {}: records {}..{} are missing (was the file truncated?). Stop \
                             the pipeline and run `cryptoviz log repair` to record the loss \
                             (docs/deployment.md, \"Log recovery and repair\")",
                            prev.next_offset, seg.base, prev.next_offset, seg.base
                        ),
                    });
                }
            }
            segments.push(seg);
            if i + 1 == bases.len() {
                writer = Some(w);
            }
        }
        let writer = match writer {
            Some(w) => w,
            None => {
                let (seg, w) = Segment::create(&dir, 0)?;
                sync_dir(&dir)?;
                segments.push(seg);
                w
            }
        };
        let end = writer.next_offset;
        Ok(Self {
            topic,
            id,
            dir,
            cfg,
            state: RwLock::new(State {
                segments,
                visible_end: end,
            }),
            writer: Mutex::new(writer),
            sync_lock: Mutex::new(()),
            synced_end: AtomicU64::new(end),
            dirty: AtomicBool::new(false),
            waiters: Mutex::new(HashMap::new()),
            stall: Mutex::new(None),
        })
    }

    /// Why appends to this partition are waiting, if they are.
    pub(crate) fn stalled(&self) -> Option<Stalled> {
        self.stall.lock().clone()
    }

    /// Runs `op` until it succeeds or fails with anything but a full disk. A full disk
    /// stalls the caller (and, through the writer lock, every append to this partition):
    /// `op` is retried with back-off, an ERROR is logged and [`Partition::stalled`] reports
    /// it until space returns. `op` must leave no partial effect behind when it fails.
    fn until_space<T>(&self, what: &str, mut op: impl FnMut() -> Result<T>) -> Result<T> {
        let mut delay = STALL_RETRY_FIRST;
        let mut since: Option<Instant> = None;
        let mut last_log = Instant::now();
        loop {
            match op() {
                Ok(v) => {
                    if let Some(t) = since {
                        *self.stall.lock() = None;
                        info!(topic = %self.topic, partition = self.id,
                            stalled_ms = t.elapsed().as_millis() as u64,
                            "disk space is back: appends resumed");
                    }
                    return Ok(v);
                }
                Err(e) if is_disk_full(&e) => {
                    let first = since.is_none();
                    if first {
                        since = Some(Instant::now());
                        *self.stall.lock() = Some(Stalled {
                            topic: self.topic.to_string(),
                            partition: self.id,
                            since: SystemTime::now(),
                            error: e.to_string(),
                        });
                    }
                    if first || last_log.elapsed() >= STALL_REMIND {
                        last_log = Instant::now();
                        error!(topic = %self.topic, partition = self.id, error = %e, step = what,
                            "disk full: appends to this partition are stalled, nothing is \
                             acknowledged until space is freed; retrying");
                    }
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(STALL_RETRY_MAX);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `[earliest retained, next to be read by consumers)`.
    pub(crate) fn offsets(&self) -> (u64, u64) {
        let s = self.state.read();
        (s.segments[0].base, s.visible_end)
    }

    /// Appends records (all checked to fit `max_record_bytes` by the caller), rolling segments
    /// as needed. Returns the first offset; the records get consecutive offsets. Blocking.
    pub(crate) fn append(&self, records: &[&Record], scratch: &mut Vec<u8>) -> Result<u64> {
        let mut w = self.writer.lock();
        let first = w.next_offset;
        let mut batch = w.begin(std::mem::take(scratch));
        for r in records {
            let len = segment::frame_len(r);
            if !batch.fits(len, self.cfg.segment_bytes) {
                self.write_and_publish(&mut w, &batch)?;
                self.roll(&mut w)?;
                batch = w.begin(batch.buf);
            }
            batch.push(r);
        }
        self.write_and_publish(&mut w, &batch)?;
        *scratch = batch.buf;
        self.dirty.store(true, Ordering::Release);
        Ok(first)
    }

    fn write_and_publish(&self, w: &mut SegmentWriter, batch: &Batch) -> Result<()> {
        // A failed write publishes nothing and cuts its partial bytes, so retrying it is
        // exact; the records keep the offsets they were encoded with.
        self.until_space("write", || w.write(batch))?;
        let visible = {
            let mut s = self.state.write();
            let seg = s
                .segments
                .last_mut()
                .expect("a partition always has a segment");
            seg.size = w.size;
            seg.next_offset = w.next_offset;
            seg.max_ts = w.max_ts;
            seg.index.extend_from_slice(&batch.index);
            if self.cfg.fsync != FsyncPolicy::Always {
                s.visible_end = w.next_offset;
                true
            } else {
                false
            }
        };
        if visible {
            self.wake();
        }
        Ok(())
    }

    /// Closes the active segment and starts a new one at the next offset. The closed segment
    /// is fsynced first (except with `FsyncPolicy::Never`) so later fsyncs of the active
    /// segment alone cover every acknowledged record.
    fn roll(&self, w: &mut SegmentWriter) -> Result<()> {
        if self.cfg.fsync != FsyncPolicy::Never {
            w.sync()?;
        }
        // Creating the files again after a failure is harmless (they are truncated).
        let (seg, new_writer) =
            self.until_space("roll", || Segment::create(&self.dir, w.next_offset))?;
        if self.cfg.fsync != FsyncPolicy::Never {
            self.until_space("roll", || sync_dir(&self.dir))?;
        }
        *w = new_writer;
        self.state.write().segments.push(seg);
        Ok(())
    }

    /// Makes everything written so far durable, sharing fsyncs between concurrent callers,
    /// then publishes it to consumers. Blocking.
    pub(crate) fn sync(&self) -> Result<()> {
        let target = self.writer.lock().next_offset;
        if self.synced_end.load(Ordering::Acquire) >= target {
            return Ok(());
        }
        let _g = self.sync_lock.lock();
        if self.synced_end.load(Ordering::Acquire) >= target {
            return Ok(()); // another caller's fsync covered our batch: group commit
        }
        let (file, path, end) = {
            let w = self.writer.lock();
            (w.file.clone(), w.log_path.clone(), w.next_offset)
        };
        file.sync_data().at(&path)?;
        self.synced_end.store(end, Ordering::Release);
        let advanced = {
            let mut s = self.state.write();
            let adv = end > s.visible_end;
            s.visible_end = s.visible_end.max(end);
            adv
        };
        if advanced {
            self.wake();
        }
        Ok(())
    }

    /// Interval-policy flush: fsyncs if anything was written since the last call.
    pub(crate) fn sync_if_dirty(&self) -> Result<()> {
        if self.dirty.swap(false, Ordering::AcqRel) {
            self.sync()?;
        }
        Ok(())
    }

    /// Full flush: log, index and directory.
    pub(crate) fn flush(&self) -> Result<()> {
        self.sync()?;
        self.writer.lock().sync()?;
        sync_dir(&self.dir)
    }

    /// Reads up to `max` records from `from` (reset to the earliest retained offset if it fell
    /// behind retention). Blocking.
    pub(crate) fn read(&self, mut from: u64, max: usize) -> Result<PartitionRead> {
        loop {
            let (file, path, pos, end, limit, next_base) = {
                let s = self.state.read();
                from = from.max(s.segments[0].base);
                if from >= s.visible_end || max == 0 {
                    return Ok(PartitionRead {
                        records: Vec::new(),
                        next: from.min(s.visible_end),
                    });
                }
                let i = s.segments.partition_point(|g| g.base <= from) - 1;
                let g = &s.segments[i];
                let next_base = s.segments.get(i + 1).map(|n| n.base);
                (
                    g.file.clone(),
                    g.log_path.clone(),
                    g.locate(from),
                    g.size,
                    s.visible_end,
                    next_base,
                )
            };
            let r = read::read_records(
                &ReadSpec {
                    file: &file,
                    path: &path,
                    pos,
                    end,
                    from,
                    limit,
                    max_records: max,
                    max_bytes: FETCH_BYTES,
                },
                &self.topic,
                self.id,
            )?;
            if let Some(last) = r.records.last() {
                let next = last.offset + 1;
                return Ok(PartitionRead {
                    records: r.records,
                    next,
                });
            }
            match next_base {
                // Nothing at or after `from` in this segment: continue in the next one.
                Some(b) if r.end_pos >= end => from = from.max(b),
                _ => {
                    return Ok(PartitionRead {
                        records: Vec::new(),
                        next: from,
                    });
                }
            }
        }
    }

    /// Earliest offset whose timestamp is `>= ts`, or the end if none. Blocking.
    pub(crate) fn offset_for_timestamp(&self, ts: i64) -> Result<u64> {
        let (candidates, limit) = {
            let s = self.state.read();
            let c: Vec<_> = s
                .segments
                .iter()
                .filter(|g| g.max_ts >= ts)
                .map(|g| (g.file.clone(), g.log_path.clone(), g.locate_ts(ts), g.size))
                .collect();
            (c, s.visible_end)
        };
        for (file, path, pos, end) in candidates {
            if let Some(o) = read::find_timestamp(&file, &path, pos, end, ts, limit)? {
                return Ok(o);
            }
        }
        Ok(limit)
    }

    /// Removes closed segments from the front while `expired(segment, partition_bytes)` says
    /// so, then deletes their files. Returns (segments, bytes) deleted. Blocking.
    pub(crate) fn truncate_front(
        &self,
        mut expired: impl FnMut(&Segment, u64) -> bool,
    ) -> Result<(usize, u64)> {
        let removed: Vec<Segment> = {
            let mut s = self.state.write();
            let mut total: u64 = s.segments.iter().map(|g| g.size).sum();
            let mut n = 0;
            while n + 1 < s.segments.len() && expired(&s.segments[n], total) {
                total -= s.segments[n].size;
                n += 1;
            }
            s.segments.drain(..n).collect()
        };
        let bytes = removed.iter().map(|g| g.size).sum();
        // Unlinking is safe with readers mid-segment: they hold their own open handle.
        for g in &removed {
            fs::remove_file(&g.log_path).at(&g.log_path)?;
            if let Err(e) = fs::remove_file(&g.index_path) {
                warn!(index = %g.index_path.display(), error = %e, "could not remove index");
            }
        }
        if !removed.is_empty() {
            sync_dir(&self.dir)?;
        }
        Ok((removed.len(), bytes))
    }

    /// Registers a consumer to be woken when records become visible.
    pub(crate) fn add_waiter(&self, id: u64, notify: &Arc<Notify>) {
        self.waiters.lock().insert(id, Arc::downgrade(notify));
    }

    pub(crate) fn remove_waiter(&self, id: u64) {
        self.waiters.lock().remove(&id);
    }

    fn wake(&self) {
        self.waiters.lock().retain(|_, w| match w.upgrade() {
            Some(n) => {
                // notify_one stores a permit if the consumer is not waiting yet, so a wake-up
                // between its empty read and its wait is never lost.
                n.notify_one();
                true
            }
            None => false,
        });
    }
}

fn prev_overlaps(prev: &Segment, next: &Segment) -> bool {
    prev.next_offset > next.base
}

#[cfg(test)]
#[path = "recovery_fuzz.rs"]
mod recovery_fuzz;
