//! History import: candles and ticks from files, as price records.
//!
//! A [`HistoryReader`] streams a file line by line (never the whole file in memory) and yields,
//! per line, a validated [`CryptoPrice`] or a [`RowError`] naming the line and what is wrong
//! with it, so one bad row never stops an import. The formats:
//!
//! - [`Format::BinanceKlines`] ([`binance`]): CSV `open_time,open,high,low,close,volume[,…]`,
//!   with or without a header line;
//! - [`Format::KrakenOhlcvt`] ([`kraken`]): headerless CSV `epoch,open,high,low,close,volume,trades`;
//! - [`Format::Jsonl`] ([`jsonl`]): one JSON object per line with the schema's field names.
//!
//! A candle becomes one record: `open_usd`/`high_usd`/`low_usd`, `price_usd` = close,
//! `volume` = base units traded, `timestamp_ms` = open time. The `cryptoviz import` command
//! publishes the records through the log, so the normal consumers window them exactly like
//! live data.

pub mod binance;
pub mod jsonl;
pub mod kraken;
mod time;

use std::fmt;
use std::io::{self, BufRead, Read};
use std::str::FromStr;

use cryptoviz_schemas::{CryptoPrice, Message};

use super::simulated::coins::top20;

/// A file format `cryptoviz import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Binance kline CSV (`open_time,open,high,low,close,volume`, extra columns ignored).
    BinanceKlines,
    /// Kraken OHLCVT CSV (`epoch,open,high,low,close,volume,trades`, no header).
    KrakenOhlcvt,
    /// One price record per line, as JSON with the schema's field names.
    Jsonl,
}

impl Format {
    /// Every format, in the order the CLI lists them.
    pub const ALL: [Format; 3] = [Format::BinanceKlines, Format::KrakenOhlcvt, Format::Jsonl];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::BinanceKlines => "binance-klines",
            Format::KrakenOhlcvt => "kraken-ohlcvt",
            Format::Jsonl => "jsonl",
        }
    }

    /// Whether the rows are candles of one series named from outside the file (`--coin`).
    pub fn is_candles(self) -> bool {
        !matches!(self, Format::Jsonl)
    }

    /// The record `source` when none is given: the exchange the format comes from.
    pub fn default_source(self) -> Option<&'static str> {
        match self {
            Format::BinanceKlines => Some("binance"),
            Format::KrakenOhlcvt => Some("kraken"),
            Format::Jsonl => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Format::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "unknown format `{s}` (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

/// Who the rows are about. Candle formats take every row's coin and source from here; JSONL
/// uses these as defaults for fields a line leaves out (empty = no default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Series {
    /// `crypto_id`, e.g. `bitcoin`.
    pub crypto_id: String,
    /// `symbol`, e.g. `BTC`.
    pub symbol: String,
    /// `name`, e.g. `Bitcoin`.
    pub name: String,
    /// `source`, e.g. `binanceus`.
    pub source: String,
}

impl Series {
    /// The series of `coin` from `source`. A missing symbol or name is taken from the known
    /// coins (CoinGecko ids of the top 20: `bitcoin` → `BTC`, `Bitcoin`), else the symbol is
    /// the id in upper case and the name the id.
    pub fn for_coin(coin: &str, source: &str, symbol: Option<&str>, name: Option<&str>) -> Series {
        let known = top20().into_iter().find(|c| c.id == coin);
        let symbol = symbol.map(str::to_string).unwrap_or_else(|| {
            known
                .as_ref()
                .map_or_else(|| coin.to_uppercase(), |c| c.symbol.clone())
        });
        let name = name.map(str::to_string).unwrap_or_else(|| {
            known
                .as_ref()
                .map_or_else(|| coin.to_string(), |c| c.name.clone())
        });
        Series {
            crypto_id: coin.to_string(),
            symbol,
            name,
            source: source.to_string(),
        }
    }

    /// A candle of this series.
    fn candle(&self, c: Candle) -> CryptoPrice {
        CryptoPrice {
            crypto_id: self.crypto_id.clone(),
            symbol: self.symbol.clone(),
            name: self.name.clone(),
            source: self.source.clone(),
            price_usd: c.close,
            timestamp_ms: c.open_time_ms,
            volume: Some(c.volume),
            open_usd: Some(c.open),
            high_usd: Some(c.high),
            low_usd: Some(c.low),
            ..CryptoPrice::default()
        }
    }
}

/// One OHLCV candle as read from a CSV row.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Candle {
    open_time_ms: i64,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
}

/// A line that could not become a valid record. The import goes on without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line number in the file.
    pub line: u64,
    /// What is wrong, naming the column or field.
    pub reason: String,
    /// The line as read (lossy UTF-8, at most [`RAW_MAX`] bytes), for the DLQ.
    pub raw: String,
}

/// Longest line kept in a [`RowError`].
pub const RAW_MAX: usize = 4096;

/// Longest line read: a longer one is a bad row (and never all in memory).
pub const MAX_LINE: usize = 1 << 20;

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for RowError {}

/// Why a line did not parse: this row only, or the whole file (a header without a needed
/// column: every row would fail the same way).
enum LineError {
    Row(String),
    File(String),
}

impl From<String> for LineError {
    fn from(reason: String) -> Self {
        LineError::Row(reason)
    }
}

enum Parser {
    Binance(binance::Klines),
    Kraken,
    Jsonl,
}

/// Reads a history file one line at a time, yielding per line a validated record or a
/// [`RowError`]. The outer `io::Result` is for what stops the whole import: a read error,
/// or a file-level format error (kind `InvalidData`, the message naming the problem).
pub struct HistoryReader<R> {
    input: R,
    parser: Parser,
    series: Series,
    now_ms: i64,
    line: u64,
    bytes_read: u64,
    buf: Vec<u8>,
    failed: bool,
}

impl<R: BufRead> HistoryReader<R> {
    /// A reader of `input` in `format`; records are validated as of `now_ms`.
    pub fn new(input: R, format: Format, series: Series, now_ms: i64) -> Self {
        let parser = match format {
            Format::BinanceKlines => Parser::Binance(binance::Klines::default()),
            Format::KrakenOhlcvt => Parser::Kraken,
            Format::Jsonl => Parser::Jsonl,
        };
        Self {
            input,
            parser,
            series,
            now_ms,
            line: 0,
            bytes_read: 0,
            buf: Vec::with_capacity(512),
            failed: false,
        }
    }

    /// Bytes consumed so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The number of the last line read.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The record of the current line written into `record`; `false` for a header.
    fn parse_line(&mut self, record: &mut CryptoPrice) -> Result<bool, LineError> {
        let mut bytes = self.buf.trim_ascii();
        if self.line == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let parsed = match &mut self.parser {
            Parser::Jsonl => return jsonl::parse_into(bytes, &self.series, record).map(|()| true),
            Parser::Binance(klines) => {
                let text = as_text(bytes)?;
                klines.parse(text, &self.series)?
            }
            Parser::Kraken => {
                let text = as_text(bytes)?;
                Some(kraken::parse(text, &self.series).map_err(LineError::Row)?)
            }
        };
        Ok(parsed.map(|p| *record = p).is_some())
    }

    /// The next line's record, written into `record` (reusing its strings' allocations), or
    /// the [`RowError`] of a bad line (`record` then holds no valid record); `None` at the end.
    /// The outer `io::Result` is as for the [`Iterator`] implementation.
    pub fn read_into(
        &mut self,
        record: &mut CryptoPrice,
    ) -> Option<io::Result<Result<(), RowError>>> {
        if self.failed {
            return None;
        }
        loop {
            self.buf.clear();
            let read = (&mut self.input)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut self.buf);
            let n = match read {
                Ok(0) => return None,
                Ok(n) => n,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            };
            self.bytes_read += n as u64;
            self.line += 1;
            if n == MAX_LINE && self.buf.last() != Some(&b'\n') {
                // No line of these formats is this long: skip the rest of it, unread.
                match skip_line(&mut self.input) {
                    Ok(skipped) => self.bytes_read += skipped,
                    Err(e) => {
                        self.failed = true;
                        return Some(Err(e));
                    }
                }
                return Some(Ok(Err(RowError {
                    line: self.line,
                    reason: format!("line longer than {} KiB", MAX_LINE / 1024),
                    raw: raw_line(&self.buf),
                })));
            }
            if self.buf.trim_ascii().is_empty() {
                continue;
            }
            let parsed = match self.parse_line(record) {
                Ok(false) => continue,
                Ok(true) => record.validate_at(self.now_ms).map_err(|e| e.to_string()),
                Err(LineError::Row(reason)) => Err(reason),
                Err(LineError::File(reason)) => {
                    self.failed = true;
                    let msg = format!("line {}: {reason}", self.line);
                    return Some(Err(io::Error::new(io::ErrorKind::InvalidData, msg)));
                }
            };
            return Some(Ok(parsed.map_err(|reason| RowError {
                line: self.line,
                reason,
                raw: raw_line(&self.buf),
            })));
        }
    }
}

impl<R: BufRead> Iterator for HistoryReader<R> {
    type Item = io::Result<Result<CryptoPrice, RowError>>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut record = CryptoPrice::default();
        self.read_into(&mut record)
            .map(|read| read.map(|row| row.map(|()| record)))
    }
}

/// Consumes `input` up to and including the next newline; returns the bytes skipped.
fn skip_line(input: &mut impl BufRead) -> io::Result<u64> {
    let mut skipped = 0;
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(skipped);
        }
        let (n, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        input.consume(n);
        skipped += n as u64;
        if done {
            return Ok(skipped);
        }
    }
}

fn as_text(bytes: &[u8]) -> Result<&str, LineError> {
    std::str::from_utf8(bytes).map_err(|e| LineError::Row(format!("not UTF-8 text: {e}")))
}

fn raw_line(buf: &[u8]) -> String {
    let b = buf.trim_ascii();
    let mut end = b.len().min(RAW_MAX);
    // Cut on a character boundary when the line is valid UTF-8 up to there.
    while end > 0 && end < b.len() && (b[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// The trimmed, unquoted fields of a CSV line (exchange exports quote nothing but a header
/// now and then; no field of these formats contains a comma).
fn fields(line: &str) -> impl Iterator<Item = &str> {
    line.split(',').map(|f| f.trim().trim_matches('"').trim())
}

/// A number in column `column`.
fn number(column: &str, field: &str) -> Result<f64, String> {
    field
        .parse::<f64>()
        .map_err(|_| format!("column `{column}`: `{field}` is not a number"))
}

/// A time in column `column`.
fn time_in(column: &str, field: &str) -> Result<i64, String> {
    time::parse_time(field).map_err(|e| format!("column `{column}`: {e}"))
}

#[cfg(test)]
pub(crate) mod test_util {
    use super::*;

    /// 2026-06-01: "now" for the tests, after every time they use.
    pub(crate) const NOW: i64 = 1_780_272_000_000;

    pub(crate) fn read(
        format: Format,
        series: Series,
        text: &str,
    ) -> Vec<Result<CryptoPrice, RowError>> {
        HistoryReader::new(text.as_bytes(), format, series, NOW)
            .collect::<io::Result<Vec<_>>>()
            .expect("no file-level error")
    }

    pub(crate) fn btc() -> Series {
        Series::for_coin("bitcoin", "binanceus", None, None)
    }

    pub(crate) fn bad_lines(rows: &[Result<CryptoPrice, RowError>]) -> Vec<u64> {
        rows.iter()
            .filter_map(|r| r.as_ref().err().map(|e| e.line))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::*;
    use super::*;

    #[test]
    fn formats_parse_from_their_cli_names() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>(), Ok(f));
        }
        let err = "csv".parse::<Format>().unwrap_err();
        assert!(err.contains("binance-klines"), "{err}");
    }

    #[test]
    fn series_names_come_from_the_known_coins() {
        let s = Series::for_coin("bitcoin", "binanceus", None, None);
        assert_eq!((s.symbol.as_str(), s.name.as_str()), ("BTC", "Bitcoin"));
        let s = Series::for_coin("pepe", "kraken", None, None);
        assert_eq!((s.symbol.as_str(), s.name.as_str()), ("PEPE", "pepe"));
        let s = Series::for_coin("bitcoin", "kraken", Some("XBT"), Some("Bitcoin (Kraken)"));
        assert_eq!(s.symbol, "XBT");
        assert_eq!(s.name, "Bitcoin (Kraken)");
    }

    #[test]
    fn blank_lines_are_skipped_but_counted() {
        let rows = read(
            Format::KrakenOhlcvt,
            btc(),
            "\n1677628800,1,2,0.5,1.5,3,4\r\n\n  \nbad\n",
        );
        assert_eq!(rows.len(), 2);
        assert!(rows[0].is_ok());
        assert_eq!(bad_lines(&rows), vec![5]);
    }

    #[test]
    fn a_read_error_stops_the_import() {
        struct Broken;
        impl io::Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let mut r = HistoryReader::new(io::BufReader::new(Broken), Format::Jsonl, btc(), NOW);
        assert!(r.next().unwrap().is_err());
        assert!(r.next().is_none());
    }

    #[test]
    fn an_overlong_line_is_a_bad_row_and_the_next_still_loads() {
        let text = format!(
            "{}\n1677628800,1,2,0.5,1.5,10,3\n",
            "9".repeat(MAX_LINE + 10)
        );
        let rows = read(Format::KrakenOhlcvt, btc(), &text);
        assert_eq!(bad_lines(&rows), vec![1]);
        assert!(rows[0].as_ref().unwrap_err().reason.contains("longer than"));
        assert_eq!(rows[1].as_ref().unwrap().timestamp_ms, 1_677_628_800_000);
    }

    #[test]
    fn long_raw_lines_are_cut() {
        let line = format!("{{\"crypto_id\": \"{}\"}}", "é".repeat(5000));
        let rows = read(Format::Jsonl, Series::default(), &line);
        let e = rows[0].as_ref().unwrap_err();
        assert!(e.raw.len() <= RAW_MAX);
        assert!(!e.raw.contains('\u{FFFD}'));
    }
}
