//! The read side: typed queries per area over the store seam, shared by the routes and the
//! live feed.
//!
//! Each area is a small value over `Arc<dyn Store>` ([`Market`], [`Analytics`],
//! [`Anomalies`], [`News`], [`Sentiment`], [`Trades`]; [`crate::AppState`] hands them out) whose methods
//! take typed arguments (validated parameters, closed sets as enums) and return the
//! contract's rows (`cryptoviz-measurements`) or, for what a query computes (candles,
//! normalised series, publisher counts), the API's own row types. The store's query
//! language stays here: a route extracts and validates its parameters, calls one of these and
//! shapes the answer; the live feed asks the same methods for the latest rows it publishes.
//!
//! A stored row that does not match its declared shape is an error
//! ([`ApiError::Internal`](crate::error::ApiError::Internal), a 500 for a route), never a
//! silently different answer.

mod analytics;
mod anomalies;
mod market;
mod news;
mod sentiment;
mod trades;

pub use analytics::{Analytics, CandleQuery, Close, WindowQuery};
pub use anomalies::{Anomalies, AnomalyQuery};
pub use market::{Market, Snapshot, sort as sort_coins};
pub use news::{News, NewsQuery};
pub use sentiment::Sentiment;
pub use trades::Trades;

use cryptoviz_store::TimeRange;
use datafusion::arrow::array::RecordBatch;
use serde::de::DeserializeOwned;

use crate::error::ApiResult;
use crate::json::rows;
use crate::model::from_row;
use crate::params::{Timestamp, ordered};

/// Every row of `batches` as `T`.
fn decode<T: DeserializeOwned>(batches: &[RecordBatch]) -> ApiResult<Vec<T>> {
    rows(batches).into_iter().map(from_row).collect()
}

/// A tag filter.
fn tag(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_string(), value.into())
}

/// `[from, to)` where either end may be open (nanoseconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Between {
    /// Inclusive start.
    pub from: Option<i64>,
    /// Exclusive end.
    pub to: Option<i64>,
}

impl Between {
    /// The span `[from, to)` of two time parameters, checking their order (400 naming `from`).
    pub fn of(from: Option<Timestamp>, to: Option<Timestamp>) -> ApiResult<Self> {
        ordered(from, to)?;
        Ok(Between {
            from: from.map(|t| t.0),
            to: to.map(|t| t.0),
        })
    }

    /// `[from, to)`.
    pub fn closed(from: i64, to: i64) -> Self {
        Between {
            from: Some(from),
            to: Some(to),
        }
    }

    fn range(self) -> TimeRange {
        TimeRange {
            start_ns: self.from,
            end_ns: self.to,
        }
    }
}
