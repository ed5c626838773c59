//! A tiny Avro binary writer and reader for the hot path.
//!
//! `apache_avro::to_avro_datum` builds a `Value` tree per record; at ~1M ticks/s that tree is
//! the bottleneck. These helpers write straight into a reused `Vec<u8>` and read straight from
//! a slice, allocating only the `String`s/`Vec`s of the decoded record. Byte-for-byte
//! equality with `apache-avro` is proven in `tests/compat.rs`.
//!
//! Every length is checked against the remaining input *before* anything is allocated, so a
//! garbage length of 2^62 costs an error, not memory.

use crate::error::{Error, Result};

/// Appends a zig-zag varint `long`.
#[inline]
pub(crate) fn put_long(out: &mut Vec<u8>, v: i64) {
    let mut n = ((v << 1) ^ (v >> 63)) as u64;
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Appends a zig-zag varint `int` (same encoding as `long`).
#[inline]
pub(crate) fn put_int(out: &mut Vec<u8>, v: i32) {
    put_long(out, i64::from(v));
}

/// Appends a little-endian `double`.
#[inline]
pub(crate) fn put_double(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends length-prefixed `bytes`.
#[inline]
pub(crate) fn put_bytes(out: &mut Vec<u8>, v: &[u8]) {
    // A slice never exceeds isize::MAX bytes, so the cast is lossless.
    put_long(out, v.len() as i64);
    out.extend_from_slice(v);
}

/// Appends a length-prefixed UTF-8 `string`.
#[inline]
pub(crate) fn put_str(out: &mut Vec<u8>, v: &str) {
    put_bytes(out, v.as_bytes());
}

/// Appends a `["null","double"]` union.
#[inline]
pub(crate) fn put_opt_double(out: &mut Vec<u8>, v: Option<f64>) {
    match v {
        None => out.push(0),
        Some(d) => {
            out.push(2); // branch 1, zig-zag encoded
            put_double(out, d);
        }
    }
}

/// Appends a `["null","string"]` union.
#[inline]
pub(crate) fn put_opt_str(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        None => out.push(0),
        Some(s) => {
            out.push(2);
            put_str(out, s);
        }
    }
}

/// Appends an array of strings as one block, as `apache-avro` does: `count items 0`.
pub(crate) fn put_str_array(out: &mut Vec<u8>, items: &[String]) {
    if !items.is_empty() {
        put_long(out, items.len() as i64);
        for s in items {
            put_str(out, s);
        }
    }
    out.push(0);
}

/// A cursor over one Avro datum.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Errors with `TrailingBytes` unless the whole datum was consumed.
    pub(crate) fn finish(&self) -> Result<()> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(Error::TrailingBytes(n)),
        }
    }

    /// Takes the next `n` bytes, checked.
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        let truncated = Error::Truncated { at: self.pos, what };
        let end = self.pos.checked_add(n).ok_or(truncated.clone())?;
        let bytes = self.buf.get(self.pos..end).ok_or(truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    pub(crate) fn long(&mut self, what: &'static str) -> Result<i64> {
        let mut n: u64 = 0;
        for i in 0..10 {
            let &b = self
                .buf
                .get(self.pos)
                .ok_or(Error::Truncated { at: self.pos, what })?;
            self.pos += 1;
            // The 10th byte may only carry the single top bit of a u64.
            if i == 9 && b > 1 {
                return Err(Error::IntOverflow { what });
            }
            n |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(((n >> 1) as i64) ^ -((n & 1) as i64));
            }
        }
        Err(Error::IntOverflow { what })
    }

    pub(crate) fn int(&mut self, what: &'static str) -> Result<i32> {
        i32::try_from(self.long(what)?).map_err(|_| Error::IntOverflow { what })
    }

    pub(crate) fn double(&mut self, what: &'static str) -> Result<f64> {
        let b = self.take(8, what)?;
        let arr: [u8; 8] = b
            .try_into()
            .map_err(|_| Error::Truncated { at: self.pos, what })?;
        Ok(f64::from_le_bytes(arr))
    }

    /// Reads a length prefix and checks it fits in the remaining input.
    pub(crate) fn length(&mut self, what: &'static str) -> Result<usize> {
        let at = self.pos;
        let len = self.long(what)?;
        let len = usize::try_from(len).map_err(|_| Error::NegativeLength { what })?;
        if len > self.remaining() {
            return Err(Error::Truncated { at, what });
        }
        Ok(len)
    }

    pub(crate) fn bytes_slice(&mut self, what: &'static str) -> Result<&'a [u8]> {
        let len = self.length(what)?;
        self.take(len, what)
    }

    pub(crate) fn bytes(&mut self, what: &'static str) -> Result<Vec<u8>> {
        Ok(self.bytes_slice(what)?.to_vec())
    }

    pub(crate) fn str_slice(&mut self, what: &'static str) -> Result<&'a str> {
        std::str::from_utf8(self.bytes_slice(what)?).map_err(|_| Error::InvalidUtf8 { what })
    }

    pub(crate) fn string(&mut self, what: &'static str) -> Result<String> {
        self.str_slice(what).map(str::to_owned)
    }

    /// Reads a string over `out`, keeping its allocation.
    pub(crate) fn string_into(&mut self, what: &'static str, out: &mut String) -> Result<()> {
        let s = self.str_slice(what)?;
        out.clear();
        out.push_str(s);
        Ok(())
    }

    /// Reads the branch index of a `["null", T]` union: `false` for null, `true` for `T`.
    pub(crate) fn union_present(&mut self, what: &'static str) -> Result<bool> {
        match self.long(what)? {
            0 => Ok(false),
            1 => Ok(true),
            index => Err(Error::BadUnionIndex { what, index }),
        }
    }

    pub(crate) fn opt_double(&mut self, what: &'static str) -> Result<Option<f64>> {
        Ok(if self.union_present(what)? {
            Some(self.double(what)?)
        } else {
            None
        })
    }

    pub(crate) fn opt_string(&mut self, what: &'static str) -> Result<Option<String>> {
        Ok(if self.union_present(what)? {
            Some(self.string(what)?)
        } else {
            None
        })
    }

    /// Reads the item count of the next array/map block; 0 ends the sequence.
    ///
    /// A negative count means "abs(count) items, preceded by the block size in bytes"; the size
    /// is read and ignored. Counts larger than the remaining bytes are rejected: every item the
    /// project's schemas put in arrays takes at least one byte, and this keeps a forged count
    /// from driving a huge allocation.
    pub(crate) fn block_count(&mut self, what: &'static str) -> Result<usize> {
        let at = self.pos;
        let count = self.long(what)?;
        let count = if count < 0 {
            let size = self.long(what)?;
            if size < 0 {
                return Err(Error::NegativeLength { what });
            }
            count.checked_neg().ok_or(Error::IntOverflow { what })?
        } else {
            count
        };
        let count = usize::try_from(count).map_err(|_| Error::IntOverflow { what })?;
        if count > self.remaining() {
            return Err(Error::Truncated { at, what });
        }
        Ok(count)
    }

    pub(crate) fn str_array(&mut self, what: &'static str) -> Result<Vec<String>> {
        let mut items = Vec::new();
        loop {
            let count = self.block_count(what)?;
            if count == 0 {
                return Ok(items);
            }
            items.reserve(count);
            for _ in 0..count {
                items.push(self.string(what)?);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_round_trips_edges() {
        let mut out = Vec::new();
        for v in [
            0,
            -1,
            1,
            63,
            -64,
            64,
            i64::from(i32::MAX),
            i64::MIN,
            i64::MAX,
        ] {
            out.clear();
            put_long(&mut out, v);
            let mut r = Reader::new(&out);
            assert_eq!(r.long("v"), Ok(v));
            assert_eq!(r.finish(), Ok(()));
        }
    }

    #[test]
    fn overlong_varint_is_rejected() {
        let bytes = [0xff; 11];
        assert_eq!(
            Reader::new(&bytes).long("v"),
            Err(Error::IntOverflow { what: "v" })
        );
        let mut ten = [0xff; 10];
        ten[9] = 0x02; // would overflow 64 bits
        assert_eq!(
            Reader::new(&ten).long("v"),
            Err(Error::IntOverflow { what: "v" })
        );
    }

    #[test]
    fn int_out_of_range_is_rejected() {
        let mut out = Vec::new();
        put_long(&mut out, i64::from(i32::MAX) + 1);
        assert_eq!(
            Reader::new(&out).int("v"),
            Err(Error::IntOverflow { what: "v" })
        );
    }

    #[test]
    fn huge_string_length_fails_before_allocating() {
        let mut out = Vec::new();
        put_long(&mut out, i64::MAX);
        out.extend_from_slice(b"abc");
        assert_eq!(
            Reader::new(&out).string("s"),
            Err(Error::Truncated { at: 0, what: "s" })
        );
    }

    #[test]
    fn negative_block_count_is_read() {
        let mut out = Vec::new();
        put_long(&mut out, -2); // two items
        put_long(&mut out, 4); // block size in bytes
        put_str(&mut out, "a");
        put_str(&mut out, "bc");
        put_long(&mut out, 1);
        put_str(&mut out, "d");
        out.push(0);
        let mut r = Reader::new(&out);
        assert_eq!(
            r.str_array("coins"),
            Ok(vec!["a".into(), "bc".into(), "d".into()])
        );
        assert_eq!(r.finish(), Ok(()));
    }
}
