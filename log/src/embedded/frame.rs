//! The record frame codec and the sparse index entry of a segment file.
//!
//! Frame (little-endian): `len:u32 | crc32(body):u32 | body`, where
//! `body = offset:u64 | ts:i64 | key_len:i32 (-1 = null) | key | value_len:u32 | value`.
//! Index entry: `relative_offset:u32 | position:u32 | max_ts_before:i64 | crc32:u32`, written
//! at the first frame starting `INDEX_INTERVAL` bytes or more after the previous entry;
//! `max_ts_before` is the largest timestamp of the segment's frames before `position`.

use crate::Record;

/// Bytes before the body: length and CRC.
pub(crate) const FRAME_HEADER: usize = 8;
/// Fixed part of the body: offset, timestamp, key length, value length.
pub(crate) const BODY_FIXED: usize = 24;
/// Sparse index density.
pub(crate) const INDEX_INTERVAL: u64 = 4096;
/// Size of an index entry.
pub(crate) const INDEX_ENTRY: usize = 20;
/// Hard cap on a frame body, so a corrupt length never triggers a huge allocation.
pub(crate) const MAX_BODY: usize = 256 << 20;

/// Encoded size of a record's frame.
pub(crate) fn frame_len(r: &Record) -> usize {
    FRAME_HEADER + BODY_FIXED + r.key.as_ref().map_or(0, |k| k.len()) + r.value.len()
}

/// Appends the frame of `r` at `offset` to `buf`.
pub(crate) fn encode_frame(buf: &mut Vec<u8>, offset: u64, r: &Record) {
    let start = buf.len();
    let body_len = frame_len(r) - FRAME_HEADER;
    buf.extend_from_slice(&(body_len as u32).to_le_bytes());
    buf.extend_from_slice(&[0; 4]);
    buf.extend_from_slice(&offset.to_le_bytes());
    buf.extend_from_slice(&r.timestamp_ms.to_le_bytes());
    match &r.key {
        Some(k) => {
            buf.extend_from_slice(&(k.len() as i32).to_le_bytes());
            buf.extend_from_slice(k);
        }
        None => buf.extend_from_slice(&(-1i32).to_le_bytes()),
    }
    buf.extend_from_slice(&(r.value.len() as u32).to_le_bytes());
    buf.extend_from_slice(&r.value);
    let crc = crc32fast::hash(&buf[start + FRAME_HEADER..]);
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// A decoded frame; key and value are byte ranges of the decoded buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    pub offset: u64,
    pub timestamp_ms: i64,
    pub key: Option<std::ops::Range<usize>>,
    pub value: std::ops::Range<usize>,
    /// Total frame length including the header.
    pub len: usize,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    Frame(Frame),
    /// Need this many bytes (from the frame start) to decode.
    Incomplete(usize),
    Corrupt(&'static str),
}

pub(crate) fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
pub(crate) fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Decodes the frame at the start of `buf`, checking every length before slicing.
pub(crate) fn decode_frame(buf: &[u8]) -> Decoded {
    if buf.len() < FRAME_HEADER {
        return Decoded::Incomplete(FRAME_HEADER);
    }
    let body_len = le_u32(buf, 0) as usize;
    if !(BODY_FIXED..=MAX_BODY).contains(&body_len) {
        return Decoded::Corrupt("frame length out of range");
    }
    let len = FRAME_HEADER + body_len;
    if buf.len() < len {
        return Decoded::Incomplete(len);
    }
    let body = &buf[FRAME_HEADER..len];
    if crc32fast::hash(body) != le_u32(buf, 4) {
        return Decoded::Corrupt("CRC mismatch");
    }
    let offset = le_u64(body, 0);
    let timestamp_ms = le_u64(body, 8) as i64;
    let key_len = le_u32(body, 16) as i32;
    let (key, value_at) = if key_len == -1 {
        (None, 20)
    } else if key_len < 0 || 20 + key_len as usize + 4 > body_len {
        return Decoded::Corrupt("key length out of range");
    } else {
        let k = FRAME_HEADER + 20..FRAME_HEADER + 20 + key_len as usize;
        (Some(k), 20 + key_len as usize)
    };
    let value_len = le_u32(body, value_at) as usize;
    if value_at + 4 + value_len != body_len {
        return Decoded::Corrupt("value length disagrees with frame length");
    }
    let v = FRAME_HEADER + value_at + 4;
    Decoded::Frame(Frame {
        offset,
        timestamp_ms,
        key,
        value: v..v + value_len,
        len,
    })
}

/// One sparse index entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub rel: u32,
    pub pos: u32,
    pub max_ts_before: i64,
}

impl IndexEntry {
    pub(crate) fn encode(&self, buf: &mut Vec<u8>) {
        let start = buf.len();
        buf.extend_from_slice(&self.rel.to_le_bytes());
        buf.extend_from_slice(&self.pos.to_le_bytes());
        buf.extend_from_slice(&self.max_ts_before.to_le_bytes());
        let crc = crc32fast::hash(&buf[start..]);
        buf.extend_from_slice(&crc.to_le_bytes());
    }

    pub(crate) fn decode(b: &[u8]) -> Option<Self> {
        if b.len() != INDEX_ENTRY || crc32fast::hash(&b[..16]) != le_u32(b, 16) {
            return None;
        }
        Some(Self {
            rel: le_u32(b, 0),
            pos: le_u32(b, 4),
            max_ts_before: le_u64(b, 8) as i64,
        })
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn rec(key: Option<&str>, value: &str, ts: i64) -> Record {
        Record {
            key: key.map(|k| Bytes::copy_from_slice(k.as_bytes())),
            value: Bytes::copy_from_slice(value.as_bytes()),
            timestamp_ms: ts,
        }
    }

    #[test]
    fn frame_roundtrip_and_validation() {
        let mut buf = Vec::new();
        encode_frame(&mut buf, 42, &rec(Some("BTC"), "hello", -5));
        encode_frame(&mut buf, 43, &rec(None, "", 7));
        let Decoded::Frame(f) = decode_frame(&buf) else {
            panic!()
        };
        assert_eq!((f.offset, f.timestamp_ms), (42, -5));
        assert_eq!(&buf[f.key.clone().unwrap()], b"BTC");
        assert_eq!(&buf[f.value.clone()], b"hello");
        let Decoded::Frame(g) = decode_frame(&buf[f.len..]) else {
            panic!()
        };
        assert_eq!((g.offset, g.key, g.value.len()), (43, None, 0));
        assert_eq!(f.len + g.len, buf.len());

        // Every strict prefix is incomplete, never a bogus frame.
        for cut in 0..f.len {
            assert!(
                matches!(decode_frame(&buf[..cut]), Decoded::Incomplete(_)),
                "cut {cut}"
            );
        }
        // Any flipped bit in the body is caught.
        for i in FRAME_HEADER..f.len {
            let mut bad = buf.clone();
            bad[i] ^= 0x10;
            assert!(
                matches!(decode_frame(&bad), Decoded::Corrupt(_)),
                "byte {i}"
            );
        }
        let mut huge = buf.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            decode_frame(&huge),
            Decoded::Corrupt("frame length out of range")
        );
    }

    #[test]
    fn index_entry_roundtrip() {
        let e = IndexEntry {
            rel: 7,
            pos: 4100,
            max_ts_before: -3,
        };
        let mut b = Vec::new();
        e.encode(&mut b);
        assert_eq!(IndexEntry::decode(&b), Some(e));
        b[3] ^= 1;
        assert_eq!(IndexEntry::decode(&b), None);
    }
}
