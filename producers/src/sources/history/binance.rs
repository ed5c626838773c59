//! Binance kline CSV: `open_time,open,high,low,close,volume`, then any further columns
//! (Binance's own dumps add close_time, quote volume, trades, … — ignored).
//!
//! A first line whose first field is not a time is a header: columns are then found by name
//! (`open_time`, `open time`, `timestamp`, `time` or `date` for the time; `open`, `high`,
//! `low`, `close`, `volume`), in any order. Without a header the first six columns are taken
//! in the order above. `open_time` is ISO-8601 (with or without an offset; none means UTC) or
//! an epoch number in seconds, milliseconds or — Binance's dumps since 2025 — microseconds,
//! told apart by magnitude.

use cryptoviz_schemas::CryptoPrice;

use super::{Candle, LineError, Series, fields, number, time, time_in};

/// Column names, in the headerless order.
const COLUMNS: [&str; 6] = ["open_time", "open", "high", "low", "close", "volume"];

/// The parser's state: where each column is, once the first line has told.
#[derive(Debug, Default)]
pub(super) struct Klines {
    /// Index of each of [`COLUMNS`] in a row.
    columns: Option<[usize; 6]>,
}

impl Klines {
    /// The record of one line; `None` for the header.
    pub(super) fn parse(
        &mut self,
        line: &str,
        series: &Series,
    ) -> Result<Option<CryptoPrice>, LineError> {
        let columns = match self.columns {
            Some(c) => c,
            None => {
                let first = fields(line).next().unwrap_or_default();
                if time::parse_time(first).is_err() {
                    self.columns = Some(header(line).map_err(LineError::File)?);
                    return Ok(None);
                }
                *self.columns.insert([0, 1, 2, 3, 4, 5])
            }
        };
        let row: Vec<&str> = fields(line).collect();
        let needed = columns.iter().max().map_or(0, |m| m + 1);
        if row.len() < needed {
            return Err(LineError::Row(format!(
                "expected at least {needed} columns, got {}",
                row.len()
            )));
        }
        let value = |i: usize| number(COLUMNS[i], row[columns[i]]);
        let candle = Candle {
            open_time_ms: time_in(COLUMNS[0], row[columns[0]])?,
            open: value(1)?,
            high: value(2)?,
            low: value(3)?,
            close: value(4)?,
            volume: value(5)?,
        };
        Ok(Some(series.candle(candle)))
    }
}

/// Where each of [`COLUMNS`] is in a header line.
fn header(line: &str) -> Result<[usize; 6], String> {
    let names: Vec<String> = fields(line)
        .map(|f| {
            f.chars()
                .filter(|c| !matches!(c, ' ' | '_' | '-'))
                .flat_map(char::to_lowercase)
                .collect()
        })
        .collect();
    let find = |aliases: &[&str]| names.iter().position(|n| aliases.contains(&n.as_str()));
    let aliases: [&[&str]; 6] = [
        &["opentime", "timestamp", "time", "date", "datetime"],
        &["open"],
        &["high"],
        &["low"],
        &["close"],
        &["volume"],
    ];
    let mut columns = [0; 6];
    for (i, a) in aliases.iter().enumerate() {
        columns[i] = find(a).ok_or_else(|| {
            format!(
                "the header `{line}` has no `{}` column (expected {})",
                COLUMNS[i],
                COLUMNS.join(",")
            )
        })?;
    }
    Ok(columns)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::{Format, HistoryReader, RowError};
    use super::*;

    const T: i64 = 1_677_628_800_000; // 2023-03-01T00:00:00Z

    fn candles(text: &str) -> Vec<Result<CryptoPrice, RowError>> {
        read(Format::BinanceKlines, btc(), text)
    }

    #[test]
    fn a_header_row_is_detected_and_skipped() {
        let rows = candles(
            "open_time,open,high,low,close,volume\n\
             2023-03-01 00:00:00+00:00,23140.48,23150.77,23128.52,23142.31,2.131777\n\
             2023-03-01 00:01:00+00:00,23143.89,23148.8,23137.61,23137.77,0.881378\n",
        );
        assert_eq!(rows.len(), 2);
        let c = rows[0].as_ref().unwrap();
        assert_eq!(c.timestamp_ms, T);
        assert_eq!(c.open_usd, Some(23140.48));
        assert_eq!(c.high_usd, Some(23150.77));
        assert_eq!(c.low_usd, Some(23128.52));
        assert_eq!(c.price_usd, 23142.31);
        assert_eq!(c.volume, Some(2.131777));
        assert_eq!(c.volume_24h, None);
        assert_eq!(
            (
                c.crypto_id.as_str(),
                c.symbol.as_str(),
                c.name.as_str(),
                c.source.as_str()
            ),
            ("bitcoin", "BTC", "Bitcoin", "binanceus")
        );
        assert_eq!(rows[1].as_ref().unwrap().timestamp_ms, T + 60_000);
    }

    #[test]
    fn header_columns_are_found_by_name_in_any_order() {
        let rows = candles(
            "\"Volume\",\"Close\",\"Low\",\"High\",\"Open\",\"Open time\"\n\
             2,1.5,0.5,2,1,1677628800000\n",
        );
        let c = rows[0].as_ref().unwrap();
        assert_eq!(c.ohlc(), (1.0, 2.0, 0.5, 1.5));
        assert_eq!((c.volume, c.timestamp_ms), (Some(2.0), T));
    }

    #[test]
    fn a_header_without_a_needed_column_stops_the_import() {
        let err = HistoryReader::new(
            "time,open,high,low,close\n1,2,3,4,5\n".as_bytes(),
            Format::BinanceKlines,
            btc(),
            NOW,
        )
        .collect::<std::io::Result<Vec<_>>>()
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 1"), "{err}");
        assert!(err.contains("`volume`"), "{err}");
    }

    #[test]
    fn headerless_binance_dumps_in_s_ms_and_us() {
        // Binance's 12-column dump rows: the extra columns are ignored.
        let rows = candles(
            "1677628800,1,2,0.5,1.5,10,1677628859999,15,7,5,7.5,0\n\
             1677628860000,1,2,0.5,1.5,10,1677628919999,15,7,5,7.5,0\n\
             1677628920000000,1,2,0.5,1.5,10,1677628979999999,15,7,5,7.5,0\n",
        );
        let times: Vec<i64> = rows
            .iter()
            .map(|r| r.as_ref().unwrap().timestamp_ms)
            .collect();
        assert_eq!(times, vec![T, T + 60_000, T + 120_000]);
    }

    #[test]
    fn iso_times_with_offsets() {
        let rows = candles(
            "2023-03-01T01:00:00+01:00,1,2,0.5,1.5,10\n2023-03-01T00:01:00Z,1,2,0.5,1.5,10\n",
        );
        assert_eq!(rows[0].as_ref().unwrap().timestamp_ms, T);
        assert_eq!(rows[1].as_ref().unwrap().timestamp_ms, T + 60_000);
    }

    #[test]
    fn bad_rows_carry_their_line_numbers_and_good_rows_still_load() {
        let rows = candles(
            "open_time,open,high,low,close,volume\n\
             2023-03-01T00:00:00Z,1,2,0.5,1.5,10\n\
             2023-03-01T00:01:00Z,1,2,0.5\n\
             2023-03-01T00:02:00Z,1,abc,0.5,1.5,10\n\
             2023-03-01T00:03:00Z,1,0.5,2,1.5,10\n\
             not-a-time,1,2,0.5,1.5,10\n\
             2023-03-01T00:05:00Z,1,2,0.5,1.5,-1\n\
             2023-03-01T00:06:00Z,1,2,0.5,1.5,10\n",
        );
        assert_eq!(rows.len(), 7);
        assert_eq!(bad_lines(&rows), vec![3, 4, 5, 6, 7]);
        let reasons: Vec<String> = rows
            .iter()
            .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
            .collect();
        assert!(reasons[0].contains("at least 6 columns"), "{}", reasons[0]);
        assert!(
            reasons[1].contains("`high`") && reasons[1].contains("abc"),
            "{}",
            reasons[1]
        );
        // high < low: the candle check names the field.
        assert!(
            reasons[2].contains("low_usd") || reasons[2].contains("high_usd"),
            "{}",
            reasons[2]
        );
        assert!(reasons[3].contains("`open_time`"), "{}", reasons[3]);
        assert!(reasons[4].contains("volume"), "{}", reasons[4]);
        assert_eq!(rows[6].as_ref().unwrap().timestamp_ms, T + 360_000);
        let e = rows[1].as_ref().unwrap_err();
        assert_eq!(e.raw, "2023-03-01T00:01:00Z,1,2,0.5");
    }

    #[test]
    fn a_time_in_the_future_or_before_2009_is_a_bad_row() {
        let rows = candles("1000000000,1,2,0.5,1.5,10\n4102444800,1,2,0.5,1.5,10\n");
        assert_eq!(bad_lines(&rows), vec![1, 2]);
    }
}
