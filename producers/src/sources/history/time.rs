//! Event times of imported rows: epoch numbers (unit guessed by magnitude) and ISO-8601.
//!
//! Hand-written rather than chrono's parsers: a JSONL import calls this once per line, and
//! the formats seen in exchange exports (`2023-03-01 00:00:00+00:00`, `…T…Z`, epoch seconds,
//! milliseconds or — Binance since 2025 — microseconds) are few and fixed.

/// Below this, an epoch number is in seconds (1e11 s is the year 5138).
const SECONDS_BELOW: u64 = 100_000_000_000;
/// Below this (and above [`SECONDS_BELOW`]), milliseconds.
const MILLIS_BELOW: u64 = 100_000_000_000_000;
/// Below this, microseconds; at or above, nanoseconds.
const MICROS_BELOW: u64 = 100_000_000_000_000_000;

/// An integer epoch time in ms, its unit (s, ms, µs or ns) guessed by magnitude: every
/// instant from 1973 to 5138 has a distinct reading in each unit, so the guess is exact for
/// any time this pipeline accepts (2009 onwards).
pub(super) fn epoch_int_to_ms(v: i64) -> i64 {
    let a = v.unsigned_abs();
    if a < SECONDS_BELOW {
        v.saturating_mul(1000)
    } else if a < MILLIS_BELOW {
        v
    } else if a < MICROS_BELOW {
        v.div_euclid(1000)
    } else {
        v.div_euclid(1_000_000)
    }
}

/// A fractional epoch time in ms (unit by magnitude, as [`epoch_int_to_ms`]), rounded to the
/// nearest ms; `None` if not finite.
pub(super) fn epoch_float_to_ms(v: f64) -> Option<i64> {
    if !v.is_finite() {
        return None;
    }
    let a = v.abs();
    let ms = if a < SECONDS_BELOW as f64 {
        v * 1000.0
    } else if a < MILLIS_BELOW as f64 {
        v
    } else if a < MICROS_BELOW as f64 {
        v / 1e3
    } else {
        v / 1e6
    };
    Some(ms.round() as i64)
}

/// A time as written in a file: an epoch number (see [`epoch_int_to_ms`]) or ISO-8601
/// (see [`parse_iso`]). The error says what was expected.
pub(super) fn parse_time(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let b = s.as_bytes();
    let numeric = !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'+' | b'e' | b'E'));
    // An ISO date has its first '-' at index 4; a number has at most a leading sign.
    let iso = b.len() >= 10 && b[4] == b'-';
    if numeric && !iso {
        if let Ok(v) = s.parse::<i64>() {
            return Ok(epoch_int_to_ms(v));
        }
        if let Some(ms) = s.parse::<f64>().ok().and_then(epoch_float_to_ms) {
            return Ok(ms);
        }
    }
    parse_iso(s).ok_or_else(|| {
        format!("`{s}` is neither an epoch number nor an ISO-8601 time (e.g. 2023-03-01T00:00:00Z)")
    })
}

/// ISO-8601 / RFC 3339 in ms since the epoch: `YYYY-MM-DD`, then optionally `T`, `t` or a
/// space and `HH:MM[:SS[.fraction]]`, then optionally `Z`, `±HH:MM`, `±HHMM` or `±HH`. A time
/// without an offset is taken as UTC (exchange exports are UTC); a date alone is its
/// midnight UTC. The fraction is cut to milliseconds.
pub(super) fn parse_iso(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let mut p = Cursor { b, i: 0 };
    let year = p.digits(4)?;
    p.expect(b'-')?;
    let month = p.digits(2)?;
    p.expect(b'-')?;
    let day = p.digits(2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let (mut secs, mut millis) = (0i64, 0i64);
    if p.i < b.len() && matches!(b[p.i], b'T' | b't' | b' ') {
        p.i += 1;
        let hour = p.digits(2)?;
        p.expect(b':')?;
        let minute = p.digits(2)?;
        let mut second = 0;
        if p.peek() == Some(b':') {
            p.i += 1;
            second = p.digits(2)?;
        }
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        if matches!(p.peek(), Some(b'.' | b',')) {
            p.i += 1;
            let start = p.i;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                if p.i - start < 3 {
                    millis = millis * 10 + i64::from(b[p.i] - b'0');
                }
                p.i += 1;
            }
            match p.i - start {
                0 => return None,
                1 => millis *= 100,
                2 => millis *= 10,
                _ => {}
            }
        }
        secs = hour * 3600 + minute * 60 + second;
        let offset = match p.peek() {
            None => 0,
            Some(b'Z' | b'z') => {
                p.i += 1;
                0
            }
            Some(sign @ (b'+' | b'-')) => {
                p.i += 1;
                let oh = p.digits(2)?;
                let mut om = 0;
                if p.peek() == Some(b':') {
                    p.i += 1;
                    om = p.digits(2)?;
                } else if p.peek().is_some_and(|c| c.is_ascii_digit()) {
                    om = p.digits(2)?;
                }
                if oh > 23 || om > 59 {
                    return None;
                }
                let off = oh * 3600 + om * 60;
                if sign == b'+' { off } else { -off }
            }
            Some(_) => return None,
        };
        secs -= offset;
    }
    if p.i != b.len() {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + secs) * 1000 + millis)
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    fn digits(&mut self, n: usize) -> Option<i64> {
        let s = self.b.get(self.i..self.i + n)?;
        let mut v = 0i64;
        for c in s {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        self.i += n;
        Some(v)
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_677_628_800_000; // 2023-03-01T00:00:00Z

    #[test]
    fn epoch_units_are_told_apart_by_magnitude() {
        assert_eq!(parse_time("1677628800"), Ok(T));
        assert_eq!(parse_time("1677628800000"), Ok(T));
        assert_eq!(parse_time("1677628800000000"), Ok(T));
        assert_eq!(parse_time("1677628800000000000"), Ok(T));
        assert_eq!(parse_time("1677628800.25"), Ok(T + 250));
        assert_eq!(parse_time(" 1677628800123 "), Ok(T + 123));
        assert_eq!(epoch_float_to_ms(1_677_628_800_000.0), Some(T));
        assert_eq!(epoch_float_to_ms(f64::NAN), None);
    }

    #[test]
    fn iso_forms_with_and_without_offsets() {
        for s in [
            "2023-03-01T00:00:00Z",
            "2023-03-01 00:00:00+00:00",
            "2023-03-01t00:00:00z",
            "2023-03-01T00:00:00.000Z",
            "2023-03-01T00:00",
            "2023-03-01",
            "2023-03-01T01:00:00+01:00",
            "2023-03-01T01:30:00+0130",
            "2023-02-28T19:00:00-05",
        ] {
            assert_eq!(parse_time(s), Ok(T), "{s}");
        }
        assert_eq!(parse_time("2023-03-01T00:00:00.5Z"), Ok(T + 500));
        assert_eq!(parse_time("2023-03-01T00:00:00.123456Z"), Ok(T + 123));
    }

    #[test]
    fn agrees_with_chrono() {
        for s in [
            "2009-01-03T18:15:05Z",
            "2020-02-29T23:59:59.999+05:30",
            "2024-12-31T00:00:00-11:00",
            "2100-03-01T12:00:00Z",
        ] {
            let want = chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .timestamp_millis();
            assert_eq!(parse_iso(s), Some(want), "{s}");
        }
    }

    #[test]
    fn nonsense_is_refused() {
        for s in [
            "",
            "yesterday",
            "2023-02-29T00:00:00Z",
            "2023-13-01",
            "2023-03-01T24:00:00Z",
            "2023-03-01T00:00:00Zjunk",
            "2023-03-01T00:00:00.Z",
            "2023-03-01T00:00:00+25:00",
            "12ab",
        ] {
            assert!(parse_time(s).is_err(), "{s}");
        }
    }
}
