//! Kraken OHLCVT CSV (Kraken's downloadable history): headerless
//! `epoch,open,high,low,close,volume,trades`, the time in epoch seconds (milliseconds are
//! recognised too, by magnitude). The trade count is checked but not kept: the schema has no
//! field for it.

use cryptoviz_schemas::CryptoPrice;

use super::{Candle, Series, fields, number, time_in};

const COLUMNS: [&str; 7] = ["epoch", "open", "high", "low", "close", "volume", "trades"];

/// The record of one line.
pub(super) fn parse(line: &str, series: &Series) -> Result<CryptoPrice, String> {
    let mut row = [""; 7];
    let mut n = 0;
    for f in fields(line) {
        if n < row.len() {
            row[n] = f;
        }
        n += 1;
    }
    if n != COLUMNS.len() {
        return Err(format!(
            "expected 7 columns ({}), got {n}",
            COLUMNS.join(",")
        ));
    }
    let open_time_ms = time_in(COLUMNS[0], row[0])?;
    let value = |i: usize| number(COLUMNS[i], row[i]);
    let candle = Candle {
        open_time_ms,
        open: value(1)?,
        high: value(2)?,
        low: value(3)?,
        close: value(4)?,
        volume: value(5)?,
    };
    let trades = value(6)?;
    if !(trades >= 0.0 && trades.fract() == 0.0) {
        return Err(format!(
            "column `trades`: `{}` is not a count of trades",
            row[6]
        ));
    }
    Ok(series.candle(candle))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::{Format, RowError};
    use super::*;

    fn candles(text: &str) -> Vec<Result<CryptoPrice, RowError>> {
        read(
            Format::KrakenOhlcvt,
            Series::for_coin("ethereum", "kraken", None, None),
            text,
        )
    }

    #[test]
    fn seven_columns_make_a_candle() {
        let rows = candles("1677628800,1600.5,1610,1590.25,1605,12.5,42\n");
        let c = rows[0].as_ref().unwrap();
        assert_eq!(c.timestamp_ms, 1_677_628_800_000);
        assert_eq!(c.ohlc(), (1600.5, 1610.0, 1590.25, 1605.0));
        assert_eq!(c.volume, Some(12.5));
        assert_eq!(
            (c.crypto_id.as_str(), c.symbol.as_str(), c.source.as_str()),
            ("ethereum", "ETH", "kraken")
        );
    }

    #[test]
    fn wrong_column_counts_and_bad_values_are_bad_rows() {
        let rows = candles(
            "1677628800,1,2,0.5,1.5,10,3\n\
             1677628860,1,2,0.5,1.5,10\n\
             1677628920,1,2,0.5,1.5,10,3,9\n\
             1677628980,1,2,0.5,1.5,10,2.5\n\
             1677629040,1,2,3,1.5,10,3\n\
             1677629100,1,2,0.5,x,10,3\n\
             1677629160,1,2,0.5,1.5,10,3\n",
        );
        assert_eq!(bad_lines(&rows), vec![2, 3, 4, 5, 6]);
        let reason = |i: usize| rows[i].as_ref().unwrap_err().reason.clone();
        assert!(reason(1).contains("expected 7 columns") && reason(1).contains("got 6"));
        assert!(reason(2).contains("got 8"));
        assert!(reason(3).contains("trades"));
        assert!(reason(4).contains("low_usd"), "{}", reason(4));
        assert!(reason(5).contains("`close`"));
        assert!(rows[6].is_ok());
    }

    #[test]
    fn a_header_is_just_a_bad_first_row() {
        let rows = candles("time,open,high,low,close,volume,trades\n1677628800,1,2,0.5,1.5,10,3\n");
        assert_eq!(bad_lines(&rows), vec![1]);
        assert!(rows[1].is_ok());
    }
}
