//! One segment: its `.log` of frames and its sparse `.index` (the codec of both is in
//! [`super::frame`]), tail recovery, inspection for repair, and the writer of the active
//! segment.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, ErrorKind, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tracing::warn;

use crate::Record;
use crate::error::{Error, IoContext, Result};

pub(crate) use super::frame::*;

pub(crate) fn log_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.log"))
}
pub(crate) fn index_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.index"))
}

/// The readable view of a segment, shared with readers under the partition's state lock.
#[derive(Debug)]
pub(crate) struct Segment {
    pub base: u64,
    pub log_path: PathBuf,
    pub index_path: PathBuf,
    pub file: Arc<File>,
    pub index: Vec<IndexEntry>,
    /// Bytes of whole frames written (the writer may be ahead of consumers' visibility).
    pub size: u64,
    /// One past the last record's offset (`base` when empty).
    pub next_offset: u64,
    /// Largest timestamp in the segment (`i64::MIN` when empty).
    pub max_ts: i64,
}

/// The append side of the active segment.
#[derive(Debug)]
pub(crate) struct SegmentWriter {
    pub base: u64,
    pub log_path: PathBuf,
    pub file: Arc<File>,
    pub index_file: File,
    pub index_path: PathBuf,
    pub index_len: u64,
    pub size: u64,
    pub next_offset: u64,
    pub max_ts: i64,
    pub last_index_pos: u64,
}

fn open_rw(path: &Path, truncate: bool) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(truncate)
        .open(path)
        .at(path)
}

impl Segment {
    /// Creates an empty segment (truncating stale files of the same name).
    pub(crate) fn create(dir: &Path, base: u64) -> Result<(Segment, SegmentWriter)> {
        let (lp, ip) = (log_path(dir, base), index_path(dir, base));
        let file = Arc::new(open_rw(&lp, true)?);
        let index_file = open_rw(&ip, true)?;
        Ok(Self::pair(
            base,
            lp,
            ip,
            file,
            index_file,
            Vec::new(),
            0,
            base,
            i64::MIN,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn pair(
        base: u64,
        log_path: PathBuf,
        index_path: PathBuf,
        file: Arc<File>,
        index_file: File,
        index: Vec<IndexEntry>,
        size: u64,
        next_offset: u64,
        max_ts: i64,
    ) -> (Segment, SegmentWriter) {
        let last_index_pos = index.last().map_or(0, |e| u64::from(e.pos));
        let writer = SegmentWriter {
            base,
            log_path: log_path.clone(),
            file: file.clone(),
            index_file,
            index_path: index_path.clone(),
            index_len: (index.len() * INDEX_ENTRY) as u64,
            size,
            next_offset,
            max_ts,
            last_index_pos,
        };
        let seg = Segment {
            base,
            log_path,
            index_path,
            file,
            index,
            size,
            next_offset,
            max_ts,
        };
        (seg, writer)
    }

    /// Opens an existing segment: keeps the valid prefix of its index, re-scans the log from
    /// the last index entry that points at a good frame and rewrites the index if anything was
    /// dropped or missing.
    ///
    /// A bad tail is truncated only when it can be nothing but the unacknowledged end of the
    /// last write: in the active segment, with no intact frame after it. A closed segment was
    /// fsynced before its successor was created, so damage there (and damage followed by
    /// intact records in the active segment) is reported as [`Error::Corrupt`] naming the
    /// file, and left untouched for `cryptoviz log repair`.
    pub(crate) fn recover(dir: &Path, base: u64, role: Role) -> Result<(Segment, SegmentWriter)> {
        let (lp, ip) = (log_path(dir, base), index_path(dir, base));
        let file = open_rw(&lp, false)?;
        let file_len = file.metadata().at(&lp)?.len();
        let index_file = open_rw(&ip, false)?;
        let mut raw = Vec::new();
        (&index_file).read_to_end(&mut raw).at(&ip)?;

        let mut index: Vec<IndexEntry> = Vec::with_capacity(raw.len() / INDEX_ENTRY);
        for chunk in raw.chunks(INDEX_ENTRY) {
            let Some(e) = IndexEntry::decode(chunk) else {
                break;
            };
            let ordered = index.last().is_none_or(|p| {
                e.rel > p.rel && e.pos > p.pos && e.max_ts_before >= p.max_ts_before
            });
            if !ordered || u64::from(e.pos) >= file_len {
                break;
            }
            index.push(e);
        }
        let index_was_clean = index.len() * INDEX_ENTRY == raw.len();

        // Scan from the last entry whose frame decodes with the expected offset.
        let scan = loop {
            let (pos, expected, max_ts) = index.last().map_or((0, base, i64::MIN), |e| {
                (u64::from(e.pos), base + u64::from(e.rel), e.max_ts_before)
            });
            let scan = scan_from(&file, &lp, pos, expected, max_ts)?;
            if scan.frames == 0 && !index.is_empty() {
                index.pop();
                continue;
            }
            break scan;
        };
        let mut added = 0;
        for e in &scan.entries {
            // scan_from emits entries relative to its own start; the first scanned frame
            // sits at an existing entry (or at 0), so entries never duplicate.
            index.push(IndexEntry {
                rel: (e.0 - base) as u32,
                pos: e.1 as u32,
                max_ts_before: e.2,
            });
            added += 1;
        }
        if scan.valid_end < file_len {
            let bad = |detail: String| Error::Corrupt {
                path: lp.clone(),
                reason: format!(
                    "{} at byte {} of {file_len}: {detail}; records from offset {} on cannot be \
                     read. Stop the pipeline and run `cryptoviz log repair` to move the damaged \
                     part aside (docs/deployment.md, \"Log recovery and repair\")",
                    scan.stop_reason, scan.valid_end, scan.next_offset
                ),
            };
            if role == Role::Closed {
                return Err(bad(
                    "this closed segment was fsynced before the next one began, so this is not \
                     a torn write"
                        .into(),
                ));
            }
            if let Some(h) = highest_intact_after(&file, &lp, scan.valid_end, scan.next_offset)? {
                return Err(bad(format!(
                    "intact records up to offset {h} follow it, so this is not a torn write"
                )));
            }
            warn!(
                segment = %lp.display(),
                valid_bytes = scan.valid_end,
                dropped_bytes = file_len - scan.valid_end,
                next_offset = scan.next_offset,
                reason = scan.stop_reason,
                "truncating torn or corrupt segment tail"
            );
            file.set_len(scan.valid_end).at(&lp)?;
            file.sync_all().at(&lp)?;
        }
        if !index_was_clean || added > 0 {
            if !index_was_clean {
                warn!(index = %ip.display(), kept_entries = index.len() - added, "rebuilding sparse index");
            }
            let mut buf = Vec::with_capacity(index.len() * INDEX_ENTRY);
            for e in &index {
                e.encode(&mut buf);
            }
            index_file.set_len(0).at(&ip)?;
            index_file.write_all_at(&buf, 0).at(&ip)?;
            index_file.sync_all().at(&ip)?;
        }
        Ok(Self::pair(
            base,
            lp,
            ip,
            Arc::new(file),
            index_file,
            index,
            scan.valid_end,
            scan.next_offset,
            scan.max_ts,
        ))
    }

    /// Byte position to start scanning for `offset` (the last index entry at or before it).
    pub(crate) fn locate(&self, offset: u64) -> u64 {
        let rel = offset.saturating_sub(self.base);
        let i = self.index.partition_point(|e| u64::from(e.rel) <= rel);
        if i == 0 {
            0
        } else {
            u64::from(self.index[i - 1].pos)
        }
    }

    /// Byte position to start scanning for the first record with timestamp `>= ts`.
    pub(crate) fn locate_ts(&self, ts: i64) -> u64 {
        let i = self.index.partition_point(|e| e.max_ts_before < ts);
        if i == 0 {
            0
        } else {
            u64::from(self.index[i - 1].pos)
        }
    }
}

struct Scan {
    frames: u64,
    valid_end: u64,
    next_offset: u64,
    max_ts: i64,
    /// New index entries: (offset, position, max_ts_before).
    entries: Vec<(u64, u64, i64)>,
    stop_reason: &'static str,
}

fn scan_from(file: &File, path: &Path, pos: u64, expected: u64, max_ts: i64) -> Result<Scan> {
    let mut r = BufReader::with_capacity(1 << 20, file);
    r.seek(SeekFrom::Start(pos)).at(path)?;
    let mut s = Scan {
        frames: 0,
        valid_end: pos,
        next_offset: expected,
        max_ts,
        entries: Vec::new(),
        stop_reason: "end of file",
    };
    let mut last_index_pos = pos;
    let mut frame = Vec::new();
    loop {
        frame.resize(FRAME_HEADER, 0);
        let n = read_full(&mut r, &mut frame).map_err(|e| Error::io(path, e))?;
        if n < FRAME_HEADER {
            if n > 0 {
                s.stop_reason = "torn frame header";
            }
            break;
        }
        let need = match decode_frame(&frame) {
            Decoded::Incomplete(n) => n,
            Decoded::Corrupt(why) => {
                s.stop_reason = why;
                break;
            }
            Decoded::Frame(_) => unreachable!("a header alone never decodes"),
        };
        frame.resize(need, 0);
        let n = read_full(&mut r, &mut frame[FRAME_HEADER..]).map_err(|e| Error::io(path, e))?;
        if n < need - FRAME_HEADER {
            s.stop_reason = "torn frame body";
            break;
        }
        let f = match decode_frame(&frame) {
            Decoded::Frame(f) if f.offset == s.next_offset => f,
            Decoded::Frame(_) => {
                s.stop_reason = "unexpected offset";
                break;
            }
            Decoded::Corrupt(why) => {
                s.stop_reason = why;
                break;
            }
            Decoded::Incomplete(_) => {
                s.stop_reason = "inconsistent frame length";
                break;
            }
        };
        if s.valid_end - last_index_pos >= INDEX_INTERVAL {
            s.entries.push((f.offset, s.valid_end, s.max_ts));
            last_index_pos = s.valid_end;
        }
        s.frames += 1;
        s.valid_end += f.len as u64;
        s.next_offset = f.offset + 1;
        s.max_ts = s.max_ts.max(f.timestamp_ms);
    }
    Ok(s)
}

/// Where a segment sits in its partition, which decides what recovery may truncate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Followed by another segment: complete and fsynced when the next one was created.
    Closed,
    /// The last segment, which appends go to: its tail may be a torn, unacknowledged write.
    Active,
}

/// Highest offset `>= from` of any intact frame in `[pos, EOF)` of `file`, found by trying
/// every byte position (cheap checks first: a length in range, then a plausible offset,
/// and only then the CRC). Tells a torn tail (nothing intact follows) from damage in the
/// middle of written data.
pub(crate) fn highest_intact_after(
    file: &File,
    path: &Path,
    pos: u64,
    from: u64,
) -> Result<Option<u64>> {
    let len = file.metadata().at(path)?.len();
    if len <= pos {
        return Ok(None);
    }
    let mut buf = vec![0u8; (len - pos) as usize];
    file.read_exact_at(&mut buf, pos).at(path)?;
    // A frame is at least FRAME_HEADER + BODY_FIXED bytes, so the region cannot hold
    // offsets further than this past `from`.
    let reach = from.saturating_add(buf.len() as u64 / (FRAME_HEADER + BODY_FIXED) as u64 + 1);
    let mut highest = None;
    for at in 0..buf.len().saturating_sub(FRAME_HEADER + BODY_FIXED - 1) {
        let body_len = le_u32(&buf, at) as usize;
        if !(BODY_FIXED..=MAX_BODY).contains(&body_len) || at + FRAME_HEADER + body_len > buf.len()
        {
            continue;
        }
        let offset = le_u64(&buf, at + FRAME_HEADER);
        if !(from..reach).contains(&offset) {
            continue;
        }
        if let Decoded::Frame(f) = decode_frame(&buf[at..]) {
            highest = Some(highest.map_or(f.offset, |h: u64| h.max(f.offset)));
        }
    }
    Ok(highest)
}

/// A read-only, full check of one segment file (the repair tool's view).
#[derive(Debug)]
pub(crate) struct Inspection {
    pub file_len: u64,
    /// Bytes of the intact prefix (whole frames with consecutive offsets from the base).
    pub valid_end: u64,
    /// One past the last offset of the intact prefix.
    pub next_offset: u64,
    /// Why the scan stopped (`"end of file"` when the whole file is intact).
    pub stop_reason: &'static str,
    /// Highest offset of an intact frame after the damage (none when the file is intact).
    pub intact_after: Option<u64>,
    /// Highest offset an intact index entry names, when the file is damaged: offsets up to
    /// it were handed out even if their frames are gone.
    pub indexed_max: Option<u64>,
}

/// Scans the whole segment `base` in `dir` from byte 0, ignoring its index.
pub(crate) fn inspect(dir: &Path, base: u64) -> Result<Inspection> {
    let lp = log_path(dir, base);
    let file = File::open(&lp).at(&lp)?;
    let file_len = file.metadata().at(&lp)?.len();
    let scan = scan_from(&file, &lp, 0, base, i64::MIN)?;
    let (mut intact_after, mut indexed_max) = (None, None);
    if scan.valid_end < file_len {
        intact_after = highest_intact_after(&file, &lp, scan.valid_end, scan.next_offset)?;
        if let Ok(raw) = std::fs::read(index_path(dir, base)) {
            indexed_max = raw
                .chunks(INDEX_ENTRY)
                .filter_map(IndexEntry::decode)
                .map(|e| base + u64::from(e.rel))
                .max();
        }
    }
    Ok(Inspection {
        file_len,
        valid_end: scan.valid_end,
        next_offset: scan.next_offset,
        stop_reason: scan.stop_reason,
        intact_after,
        indexed_max,
    })
}

/// Reads until `buf` is full or EOF; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// A batch being encoded for the active segment; applied with [`SegmentWriter::write`].
#[derive(Debug)]
pub(crate) struct Batch {
    pub buf: Vec<u8>,
    pub index: Vec<IndexEntry>,
    pub size: u64,
    pub next_offset: u64,
    pub max_ts: i64,
    last_index_pos: u64,
    base: u64,
}

impl Batch {
    /// Whether a frame of `len` bytes still fits under `segment_bytes` (a lone oversize
    /// frame always fits an empty segment).
    pub(crate) fn fits(&self, len: usize, segment_bytes: u64) -> bool {
        self.size == 0 || self.size + len as u64 <= segment_bytes
    }

    pub(crate) fn push(&mut self, r: &Record) {
        if self.size - self.last_index_pos >= INDEX_INTERVAL {
            self.index.push(IndexEntry {
                rel: (self.next_offset - self.base) as u32,
                pos: self.size as u32,
                max_ts_before: self.max_ts,
            });
            self.last_index_pos = self.size;
        }
        let before = self.buf.len();
        encode_frame(&mut self.buf, self.next_offset, r);
        self.size += (self.buf.len() - before) as u64;
        self.next_offset += 1;
        self.max_ts = self.max_ts.max(r.timestamp_ms);
    }
}

impl SegmentWriter {
    /// Starts a batch at the current end, reusing `buf`'s allocation.
    pub(crate) fn begin(&self, mut buf: Vec<u8>) -> Batch {
        buf.clear();
        Batch {
            buf,
            index: Vec::new(),
            size: self.size,
            next_offset: self.next_offset,
            max_ts: self.max_ts,
            last_index_pos: self.last_index_pos,
            base: self.base,
        }
    }

    /// Writes the batch with one `pwrite` (plus one for its index entries). On error nothing
    /// is published: the next write overwrites any partial bytes, and recovery truncates them.
    pub(crate) fn write(&mut self, b: &Batch) -> Result<()> {
        if b.buf.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.file.write_all_at(&b.buf, self.size) {
            // A short write (a full disk) leaves part of the batch behind the end. Cut it off
            // now, so no later append follows a half-written frame and this segment, once
            // closed, stays intact; shrinking a file needs no free space.
            if let Err(t) = self.file.set_len(self.size) {
                warn!(segment = %self.log_path.display(), error = %t,
                    "could not cut a partial write; recovery will truncate it");
            }
            return Err(Error::io(&self.log_path, e));
        }
        if !b.index.is_empty() {
            let mut ib = Vec::with_capacity(b.index.len() * INDEX_ENTRY);
            for e in &b.index {
                e.encode(&mut ib);
            }
            // The index is advisory (validated and rebuilt on open): a failure here only
            // costs recovery time, so it must not fail an append whose data is written.
            match self.index_file.write_all_at(&ib, self.index_len) {
                Ok(()) => self.index_len += ib.len() as u64,
                Err(e) => {
                    let _ = self.index_file.set_len(self.index_len);
                    warn!(index = %self.index_path.display(), error = %e, "index write failed")
                }
            }
        }
        self.size = b.size;
        self.next_offset = b.next_offset;
        self.max_ts = b.max_ts;
        self.last_index_pos = b.last_index_pos;
        Ok(())
    }

    /// fsyncs the log (data only) and the index.
    pub(crate) fn sync(&self) -> Result<()> {
        self.file.sync_data().at(&self.log_path)?;
        self.index_file.sync_data().at(&self.index_path)
    }
}
