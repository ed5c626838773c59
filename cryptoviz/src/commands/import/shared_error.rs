//! An error every row shares is the file's (or the flags'), not the rows': say it once, with
//! the fix, instead of dead-lettering millions of lines one by one.
//!
//! The reader watches the first [`SAME_ERROR_ROWS`] rows (or all of them, when the file has
//! fewer). Should every one of them fail, and fail the same way ([`class`]), the import stops
//! before anything is published or dead-lettered. A good row among them, or two different
//! errors, and rows are judged one by one as always, each bad one reported with its line.

use cryptoviz_producers::sources::history::{Format, RowError};

/// Rows looked at before an error they all share is taken for the file's.
pub(crate) const SAME_ERROR_ROWS: u64 = 1_000;

/// Watches the first rows of a file.
#[derive(Debug, Default)]
pub(crate) struct FirstRows {
    /// Rows seen so far, while undecided.
    seen: u64,
    /// The first bad row, while every row so far failed the same way.
    first: Option<RowError>,
    /// Rows are judged one by one from now on.
    decided: bool,
}

impl FirstRows {
    /// Notes a row (`Err` with its error); `Some(error)` when the first [`SAME_ERROR_ROWS`]
    /// rows all failed the same way, and the import should stop with it.
    pub(crate) fn row(&mut self, row: Result<(), &RowError>, format: Format) -> Option<String> {
        if self.decided {
            return None;
        }
        self.seen += 1;
        match (row, &self.first) {
            (Ok(()), _) => self.decided = true,
            (Err(bad), None) => self.first = Some(bad.clone()),
            (Err(bad), Some(first)) if class(&bad.reason) != class(&first.reason) => {
                self.decided = true;
            }
            (Err(_), Some(_)) => {}
        }
        if self.seen >= SAME_ERROR_ROWS {
            return self.end(format);
        }
        None
    }

    /// At the end of a file shorter than [`SAME_ERROR_ROWS`] rows: the error all its rows
    /// share, if they do.
    pub(crate) fn end(&mut self, format: Format) -> Option<String> {
        if self.decided {
            return None;
        }
        self.decided = true;
        let first = self.first.as_ref()?;
        Some(message(first, self.seen, format))
    }
}

/// What an error is about, without the values of its line: the text before the first `:`
/// (`missing field `source``, `column `open``, `invalid JSON`, `price_usd`).
fn class(reason: &str) -> &str {
    reason.split(':').next().unwrap_or(reason).trim()
}

/// The error of the whole file: what every row lacks and how to supply it.
fn message(first: &RowError, rows: u64, format: Format) -> String {
    let all = if rows >= SAME_ERROR_ROWS {
        format!("the first {rows} rows all fail")
    } else if rows == 1 {
        "its only row fails".to_string()
    } else {
        format!("all {rows} rows fail")
    };
    let fix = match first
        .reason
        .strip_prefix("missing field `")
        .and_then(|f| f.strip_suffix('`'))
    {
        Some("source") => {
            "no line has a `source`: give the one they share with `--source NAME` (e.g. \
             `--source binance`); it fills in every line that has none"
                .to_string()
        }
        Some("crypto_id") => "no line has a `crypto_id`: give the coin with `--coin ID` (e.g. \
                              `--coin bitcoin`); it fills in every line that has none"
            .to_string(),
        Some("symbol") => "no line has a `symbol`: give it with `--symbol TICKER` (e.g. \
                           `--symbol BTC`), or give `--coin` with a known coin id"
            .to_string(),
        Some(field) => format!(
            "no line has a `{field}`, which no flag can supply: is this the file meant, and \
             is `--format {format}` its format?"
        ),
        None => format!(
            "check that `--format {format}` is the file's format (`cryptoviz import --help` \
             lists them)"
        ),
    };
    format!(
        "{all} the same way ({first}); {fix}. Nothing was imported or dead-lettered. \
         (Rows are reported one by one, and the good ones imported, unless the first {} all \
         fail alike.)",
        SAME_ERROR_ROWS
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(line: u64, reason: &str) -> RowError {
        RowError {
            line,
            reason: reason.into(),
            raw: String::new(),
        }
    }

    #[test]
    fn a_missing_source_on_every_row_stops_at_the_limit_with_the_flag() {
        let mut first = FirstRows::default();
        for line in 1..SAME_ERROR_ROWS {
            let row = bad(line, "missing field `source`");
            assert_eq!(first.row(Err(&row), Format::Jsonl), None);
        }
        let row = bad(SAME_ERROR_ROWS, "missing field `source`");
        let err = first.row(Err(&row), Format::Jsonl).unwrap();
        assert!(
            err.contains("`source`") && err.contains("--source NAME"),
            "{err}"
        );
        assert!(
            err.contains("first 1000 rows") && err.contains("line 1:"),
            "{err}"
        );
        // Decided: no second report.
        assert_eq!(first.row(Err(&row), Format::Jsonl), None);
        assert_eq!(first.end(Format::Jsonl), None);
    }

    #[test]
    fn a_short_file_is_judged_at_its_end() {
        let mut first = FirstRows::default();
        for line in 1..=3 {
            let row = bad(line, &format!("column `open`: `x{line}` is not a number"));
            assert_eq!(first.row(Err(&row), Format::KrakenOhlcvt), None);
        }
        let err = first.end(Format::KrakenOhlcvt).unwrap();
        assert!(
            err.contains("all 3 rows") && err.contains("--format kraken-ohlcvt"),
            "{err}"
        );
        // An empty file is not an error of this kind.
        assert_eq!(FirstRows::default().end(Format::Jsonl), None);
    }

    #[test]
    fn one_good_row_or_two_kinds_of_error_keep_the_per_line_reports() {
        let mut first = FirstRows::default();
        first.row(Err(&bad(1, "missing field `source`")), Format::Jsonl);
        first.row(Ok(()), Format::Jsonl);
        for line in 3..=2 * SAME_ERROR_ROWS {
            let row = bad(line, "missing field `source`");
            assert_eq!(first.row(Err(&row), Format::Jsonl), None);
        }
        assert_eq!(first.end(Format::Jsonl), None);
        let mut first = FirstRows::default();
        first.row(Err(&bad(1, "missing field `source`")), Format::Jsonl);
        first.row(Err(&bad(2, "missing field `price_usd`")), Format::Jsonl);
        assert_eq!(first.end(Format::Jsonl), None);
    }
}
