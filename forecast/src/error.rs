//! The crate's error: bad input, named.

/// What went wrong, naming the input at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Not enough data for what was asked.
    #[error("too few rows: {what} needs at least {needed}, got {got}")]
    TooFewRows {
        /// What needs the rows, e.g. `the 1h backtest (periods)`.
        what: String,
        /// The least number that works.
        needed: usize,
        /// The number given.
        got: usize,
    },
    /// A price that is zero, negative or not a number.
    #[error("row {row}: price {price} is not a positive number")]
    NonPositivePrice {
        /// 0-based index of the row.
        row: usize,
        /// The price as given.
        price: f64,
    },
    /// Two rows at the same time.
    #[error("row {row}: duplicate time {time_ms} ms (one candle per time)")]
    DuplicateTime {
        /// 0-based index of the second row.
        row: usize,
        /// The repeated time.
        time_ms: i64,
    },
    /// A row earlier than the one before it.
    #[error(
        "row {row}: time {time_ms} ms is before the previous row's {previous_ms} ms (rows must be sorted by time)"
    )]
    UnsortedTime {
        /// 0-based index of the row.
        row: usize,
        /// Its time.
        time_ms: i64,
        /// The previous row's time.
        previous_ms: i64,
    },
    /// A parameter out of its range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The data cannot identify the model (e.g. constant series: a singular regression).
    #[error("{model}: the data cannot identify the model ({reason})")]
    Degenerate {
        /// The model.
        model: &'static str,
        /// Why.
        reason: String,
    },
}

/// The crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A [`Error::TooFewRows`] unless `got >= needed`.
pub(crate) fn need(what: impl FnOnce() -> String, needed: usize, got: usize) -> Result<()> {
    if got < needed {
        return Err(Error::TooFewRows {
            what: what(),
            needed,
            got,
        });
    }
    Ok(())
}
