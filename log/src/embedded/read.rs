//! Reading frames back from a segment file with positional reads (no shared cursor), so
//! consumers never contend with the writer or with each other.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use super::segment::{Decoded, FRAME_HEADER, decode_frame};
use crate::ConsumedRecord;
use crate::error::{Error, IoContext, Result};

/// What one read of a segment produced.
#[derive(Debug, Default)]
pub(crate) struct SegmentRead {
    pub records: Vec<ConsumedRecord>,
    /// Byte position after the last frame examined.
    pub end_pos: u64,
}

/// Where and what to read: `[pos, end)` of `file`, records with `from <= offset < limit`.
pub(crate) struct ReadSpec<'a> {
    pub file: &'a File,
    pub path: &'a Path,
    pub pos: u64,
    pub end: u64,
    pub from: u64,
    pub limit: u64,
    pub max_records: usize,
    pub max_bytes: usize,
}

/// Reads frames with one `pread` per chunk; keys and values are slices of the chunk.
pub(crate) fn read_records(
    spec: &ReadSpec<'_>,
    topic: &Arc<str>,
    partition: u32,
) -> Result<SegmentRead> {
    let mut out = SegmentRead {
        records: Vec::new(),
        end_pos: spec.pos,
    };
    let mut want = spec.max_bytes.max(FRAME_HEADER);
    while out.end_pos < spec.end && out.records.len() < spec.max_records {
        let len = (spec.end - out.end_pos).min(want as u64) as usize;
        let mut buf = vec![0u8; len];
        spec.file
            .read_exact_at(&mut buf, out.end_pos)
            .at(spec.path)?;
        let buf = Bytes::from(buf);
        let mut at = 0;
        while out.records.len() < spec.max_records {
            match decode_frame(&buf[at..]) {
                Decoded::Frame(f) => {
                    let start = at;
                    at += f.len;
                    if f.offset >= spec.limit {
                        return Ok(out);
                    }
                    out.end_pos += f.len as u64;
                    if f.offset >= spec.from {
                        out.records.push(ConsumedRecord {
                            topic: topic.clone(),
                            partition,
                            offset: f.offset,
                            timestamp_ms: f.timestamp_ms,
                            key: f.key.map(|k| buf.slice(start + k.start..start + k.end)),
                            value: buf.slice(start + f.value.start..start + f.value.end),
                        });
                    }
                }
                Decoded::Incomplete(need) => {
                    // The chunk ends inside a frame: return what we have, or, if nothing
                    // usable was found yet, read again with a chunk big enough for the frame.
                    if !out.records.is_empty() {
                        return Ok(out);
                    }
                    if at == 0 && need as u64 > spec.end - out.end_pos {
                        return Err(Error::Corrupt {
                            path: spec.path.to_owned(),
                            reason: format!(
                                "frame at byte {} runs past the segment end",
                                out.end_pos
                            ),
                        });
                    }
                    want = want.max(need);
                    break;
                }
                Decoded::Corrupt(why) => {
                    return Err(Error::Corrupt {
                        path: spec.path.to_owned(),
                        reason: format!("{why} at byte {}", out.end_pos),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// First offset `< limit` with timestamp `>= ts` in `[pos, end)`, if any.
pub(crate) fn find_timestamp(
    file: &File,
    path: &Path,
    mut pos: u64,
    end: u64,
    ts: i64,
    limit: u64,
) -> Result<Option<u64>> {
    let mut want = 1usize << 20;
    while pos < end {
        let len = (end - pos).min(want as u64) as usize;
        let mut buf = vec![0u8; len];
        file.read_exact_at(&mut buf, pos).at(path)?;
        let mut at = 0;
        loop {
            match decode_frame(&buf[at..]) {
                Decoded::Frame(f) => {
                    if f.offset >= limit {
                        return Ok(None);
                    }
                    if f.timestamp_ms >= ts {
                        return Ok(Some(f.offset));
                    }
                    at += f.len;
                    pos += f.len as u64;
                }
                Decoded::Incomplete(need) => {
                    if at == 0 && need as u64 > end - pos {
                        return Err(Error::Corrupt {
                            path: path.to_owned(),
                            reason: format!("frame at byte {pos} runs past the segment end"),
                        });
                    }
                    want = want.max(need);
                    break;
                }
                Decoded::Corrupt(why) => {
                    return Err(Error::Corrupt {
                        path: path.to_owned(),
                        reason: format!("{why} at byte {pos}"),
                    });
                }
            }
        }
    }
    Ok(None)
}
