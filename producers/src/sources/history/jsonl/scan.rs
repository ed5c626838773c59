//! The fast path of a JSONL line: one pass over a flat object whose keys and strings have no
//! escapes and whose values are strings, numbers, `null` or booleans — every line an export
//! or `scripts/gen-jsonl.py` writes. serde_json's derived struct visitor spends about 480 ns
//! on such a line; this, about a quarter of that.
//!
//! It yields exactly the [`Line`] serde_json would (numbers are parsed by the standard
//! library, which rounds correctly like serde_json with `float_roundtrip`, enabled in this
//! workspace), or `None` for anything else: escapes, nested values, a duplicate key, a value of
//! the wrong type, a number out of range, bad syntax. Such a line goes to serde_json, which
//! reads it or says what is wrong with it, so errors keep serde_json's wording and columns.
//! A differential test holds the two to the same answers.

use std::borrow::Cow;

use super::super::time;
use super::{Line, Text, Timestamp};

/// The line as serde_json would read it, if it is of the simple kind.
pub(super) fn scan(line: &[u8]) -> Option<Line<'_>> {
    let text = std::str::from_utf8(line).ok()?;
    let mut s = Scanner { text, i: 0 };
    let mut out = Line::default();
    let mut seen = 0u32;
    s.skip_ws();
    s.expect(b'{')?;
    s.skip_ws();
    if s.peek() == Some(b'}') {
        s.i += 1;
    } else {
        loop {
            let key = s.string()?;
            s.skip_ws();
            s.expect(b':')?;
            s.skip_ws();
            match field(key) {
                Some(f) => {
                    // A repeated field (or `timestamp` with `timestamp_ms`) is an error to
                    // serde_json: let it say so.
                    let bit = 1 << f as u32;
                    if seen & bit != 0 {
                        return None;
                    }
                    seen |= bit;
                    s.value(f, &mut out)?;
                }
                None => s.skip_scalar()?,
            }
            s.skip_ws();
            match s.bump()? {
                b',' => s.skip_ws(),
                b'}' => break,
                _ => return None,
            }
        }
    }
    s.skip_ws();
    (s.i == text.len()).then_some(out)
}

/// The fields of [`Line`], as their position in the bit set of fields seen.
#[derive(Debug, Clone, Copy)]
enum Field {
    CryptoId,
    Symbol,
    Name,
    Source,
    PriceUsd,
    MarketCap,
    Volume24h,
    Change1h,
    Change24h,
    Change7d,
    Ath,
    Atl,
    CirculatingSupply,
    Timestamp,
    Volume,
    OpenUsd,
    HighUsd,
    LowUsd,
}

fn field(key: &str) -> Option<Field> {
    Some(match key {
        "crypto_id" => Field::CryptoId,
        "symbol" => Field::Symbol,
        "name" => Field::Name,
        "source" => Field::Source,
        "price_usd" => Field::PriceUsd,
        "market_cap" => Field::MarketCap,
        "volume_24h" => Field::Volume24h,
        "change_1h" => Field::Change1h,
        "change_24h" => Field::Change24h,
        "change_7d" => Field::Change7d,
        "ath" => Field::Ath,
        "atl" => Field::Atl,
        "circulating_supply" => Field::CirculatingSupply,
        "timestamp" | "timestamp_ms" => Field::Timestamp,
        "volume" => Field::Volume,
        "open_usd" => Field::OpenUsd,
        "high_usd" => Field::HighUsd,
        "low_usd" => Field::LowUsd,
        _ => return None,
    })
}

/// A JSON number as written: its text, and whether it is an integer (no fraction, no
/// exponent).
struct Number<'a> {
    text: &'a str,
    integer: bool,
}

struct Scanner<'a> {
    text: &'a str,
    i: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.i).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        (self.bump()? == c).then_some(())
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// A string without escapes (or raw control characters, which JSON forbids).
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.i;
        loop {
            match self.bump()? {
                b'"' => return Some(&self.text[start..self.i - 1]),
                b'\\' | 0..=0x1f => return None,
                _ => {}
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        self.i - start
    }

    /// A number by JSON's grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<Number<'a>> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let int_start = self.i;
        let int_digits = self.digits();
        if int_digits == 0 || (int_digits > 1 && self.text.as_bytes()[int_start] == b'0') {
            return None;
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
            integer = false;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
            integer = false;
        }
        Some(Number {
            text: &self.text[start..self.i],
            integer,
        })
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        let rest = &self.text.as_bytes()[self.i..];
        rest.starts_with(word.as_bytes())
            .then(|| self.i += word.len())
    }

    /// `null` (then `None`) or what `read` makes of the value.
    fn nullable<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.peek() == Some(b'n') {
            self.literal("null")?;
            Some(None)
        } else {
            read(self).map(Some)
        }
    }

    /// A finite number as an `f64`; serde_json rejects what overflows.
    fn float(&mut self) -> Option<f64> {
        let n = self.number()?;
        n.text.parse::<f64>().ok().filter(|v| v.is_finite())
    }

    fn text(&mut self) -> Option<Text<'a>> {
        self.string().map(|s| Text(Cow::Borrowed(s)))
    }

    /// A time as the `Timestamp` visitor reads it; what it would reject, or read through a
    /// path not mirrored here (negative or out-of-range integers), is left to serde_json.
    fn timestamp(&mut self) -> Option<Timestamp> {
        if self.peek() == Some(b'"') {
            return time::parse_time(self.string()?).ok().map(Timestamp);
        }
        let n = self.number()?;
        if n.integer {
            let v: u64 = n.text.parse().ok()?;
            Some(Timestamp(time::epoch_int_to_ms(i64::try_from(v).ok()?)))
        } else {
            time::epoch_float_to_ms(n.text.parse().ok()?).map(Timestamp)
        }
    }

    fn value(&mut self, f: Field, out: &mut Line<'a>) -> Option<()> {
        let text = |s: &mut Self| s.nullable(Self::text);
        let float = |s: &mut Self| s.nullable(Self::float);
        match f {
            Field::CryptoId => out.crypto_id = text(self)?,
            Field::Symbol => out.symbol = text(self)?,
            Field::Name => out.name = text(self)?,
            Field::Source => out.source = text(self)?,
            Field::PriceUsd => out.price_usd = float(self)?,
            Field::MarketCap => out.market_cap = float(self)?,
            Field::Volume24h => out.volume_24h = float(self)?,
            Field::Change1h => out.change_1h = float(self)?,
            Field::Change24h => out.change_24h = float(self)?,
            Field::Change7d => out.change_7d = float(self)?,
            Field::Ath => out.ath = float(self)?,
            Field::Atl => out.atl = float(self)?,
            Field::CirculatingSupply => out.circulating_supply = float(self)?,
            Field::Timestamp => out.timestamp = self.nullable(Self::timestamp)?,
            Field::Volume => out.volume = float(self)?,
            Field::OpenUsd => out.open_usd = float(self)?,
            Field::HighUsd => out.high_usd = float(self)?,
            Field::LowUsd => out.low_usd = float(self)?,
        }
        Some(())
    }

    /// The value of a field nobody reads, if it is a scalar.
    fn skip_scalar(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'n' => self.literal("null"),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            _ => self.number().map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::seq::IndexedRandom;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// Whether the scanner read `line`; when it did, serde_json must read the same.
    fn agree(line: &[u8]) -> bool {
        let fast = scan(line);
        if let Some(fast) = &fast {
            let slow: Result<Line<'_>, _> = serde_json::from_slice(line);
            assert_eq!(
                Some(fast),
                slow.as_ref().ok(),
                "{}: {slow:?}",
                String::from_utf8_lossy(line)
            );
        }
        fast.is_some()
    }

    #[test]
    fn plain_lines_take_the_fast_path() {
        for line in [
            r#"{"crypto_id":"bitcoin","symbol":"BTC","name":"Bitcoin","source":"bench","price_usd":94990.277,"volume":0.024746,"timestamp":"2024-01-01T00:00:00.666Z"}"#,
            r#" { "crypto_id" : "x" , "price_usd" : 1e9 , "timestamp" : 1677628800123 } "#,
            r#"{"crypto_id":"x","symbol":null,"price_usd":-0,"change_7d":null,"timestamp_ms":1677628800}"#,
            r#"{"price_usd":2.5E-3,"timestamp":1677628800.5,"extra":"y","n":null,"t":true,"f":false,"z":-1.5e+2}"#,
            r#"{"name":"Ünïcødé €","timestamp":"2023-03-01 00:00:00+00:00"}"#,
            "{}",
        ] {
            assert!(agree(line.as_bytes()), "not scanned: {line}");
        }
    }

    #[test]
    fn what_it_does_not_mirror_is_left_to_serde_json() {
        for line in [
            r#"{"crypto_id":"b\u0069tcoin"}"#,
            r#"{"crypto\u005fid":"bitcoin"}"#,
            r#"{"extra":{"a":1}}"#,
            r#"{"extra":[1,2]}"#,
            r#"{"crypto_id":"a","crypto_id":"b"}"#,
            r#"{"timestamp":1677628800000,"timestamp_ms":1677628800000}"#,
            r#"{"price_usd":"1"}"#,
            r#"{"price_usd":true}"#,
            r#"{"symbol":1}"#,
            r#"{"price_usd":01}"#,
            r#"{"price_usd":1.}"#,
            r#"{"price_usd":.5}"#,
            r#"{"price_usd":+1}"#,
            r#"{"price_usd":1e400}"#,
            r#"{"price_usd":NaN}"#,
            r#"{"timestamp":-5}"#,
            r#"{"timestamp":9223372036854775808}"#,
            r#"{"timestamp":"yesterday"}"#,
            r#"{"price_usd":1} x"#,
            r#"{"price_usd":1,}"#,
            r#"{"price_usd" 1}"#,
            r#"{"price_usd":1"#,
            "{\"name\":\"a\tb\"}",
            "[1,2]",
            "",
        ] {
            assert!(scan(line.as_bytes()).is_none(), "scanned: {line}");
        }
        assert!(scan(b"{\"name\":\"\xff\"}").is_none());
    }

    const KEYS: &[&str] = &[
        "crypto_id",
        "symbol",
        "name",
        "source",
        "price_usd",
        "market_cap",
        "volume_24h",
        "change_1h",
        "change_24h",
        "change_7d",
        "ath",
        "atl",
        "circulating_supply",
        "timestamp",
        "timestamp_ms",
        "volume",
        "open_usd",
        "high_usd",
        "low_usd",
        "extra",
        "Price_usd",
        "crypto\\u005fid",
    ];

    const VALUES: &[&str] = &[
        "\"bitcoin\"",
        "\"\"",
        "\"Bitcoin Cash\"",
        "\"€\"",
        "\"a\\\"b\"",
        "\"2023-03-01T00:00:00Z\"",
        "\"2023-03-01T01:00:00.5+01:00\"",
        "\"1677628800000\"",
        "\"yesterday\"",
        "0",
        "-0",
        "1",
        "23142.31",
        "-1.5",
        "1e9",
        "1E-3",
        "2.5e+2",
        "01",
        "1.",
        ".5",
        "+1",
        "1e400",
        "-1e-400",
        "123456789012345678901234",
        "9007199254740993",
        "0.1000000000000000055511151231257827",
        "1677628800123",
        "1677628800",
        "1677628800.5",
        "1.6776288e12",
        "-5",
        "9223372036854775808",
        "18446744073709551616",
        "null",
        "true",
        "false",
        "[1]",
        "{}",
        "nul",
    ];

    const SPACE: &[&str] = &["", "", "", " ", "\t", "\r\n"];

    fn random_line(rng: &mut ChaCha8Rng) -> String {
        let mut line = String::from(*SPACE.choose(rng).unwrap());
        line.push('{');
        for i in 0..rng.random_range(0..8) {
            if i > 0 {
                line.push(',');
            }
            line.push_str(SPACE.choose(rng).unwrap());
            line.push('"');
            line.push_str(KEYS.choose(rng).unwrap());
            line.push('"');
            line.push_str(SPACE.choose(rng).unwrap());
            line.push(':');
            line.push_str(SPACE.choose(rng).unwrap());
            line.push_str(VALUES.choose(rng).unwrap());
            line.push_str(SPACE.choose(rng).unwrap());
        }
        line.push('}');
        line.push_str(SPACE.choose(rng).unwrap());
        line
    }

    #[test]
    fn the_scanner_reads_what_serde_json_reads_on_random_lines() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (mut scanned, mut total) = (0, 0);
        for _ in 0..20_000 {
            let line = random_line(&mut rng);
            total += 1;
            scanned += usize::from(agree(line.as_bytes()));
            // The same line with one byte cut out or doubled: mostly malformed.
            let mut bytes = line.into_bytes();
            let at = rng.random_range(0..bytes.len());
            if rng.random_bool(0.5) {
                bytes.remove(at);
            } else {
                bytes.insert(at, bytes[at]);
            }
            total += 1;
            scanned += usize::from(agree(&bytes));
        }
        // Both paths were taken, each many times.
        assert!(
            scanned > total / 10 && scanned < total * 9 / 10,
            "{scanned} of {total}"
        );
    }
}
