//! Query parameters, declared once per endpoint.
//!
//! Each endpoint's query is one `#[derive(Deserialize, IntoParams)]` struct next to its
//! handler, with `#[serde(deny_unknown_fields)]`; its fields have the types of [`values`]
//! (bounded integers, times, coin ids, flags) and [`choices`] (closed sets as enums). A field
//! is therefore the whole declaration of a parameter: its name, default, bounds and
//! validation, and its OpenAPI entry (`params(ThatStruct)` in the handler's `utoipa::path`).
//!
//! Handlers extract them with [`Params<T>`]: axum's `Query` behind `axum_extra`'s
//! `WithRejection`, whose rejection becomes an [`ApiError`] here. Nothing trusts its input:
//! a bad value, an unknown parameter (a typo must not be silently ignored) or a repeated one
//! is a 400 that names it. What spans several parameters (`from` before `to`, `range` or
//! `from`) is checked by [`Span::new`] and [`ordered`].

pub mod choices;
pub mod values;

use std::borrow::Cow;

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum_extra::extract::WithRejection;
use serde::Deserialize;
use utoipa::IntoParams;

pub use choices::{Choice, CoinSort, Interval, Order, Range, Window};
pub use values::{CoinId, CoinIds, Flag, Limit, Offset, SourceName, Timestamp};

use crate::error::{ApiError, ApiResult};

/// Times as served: the contract's format (RFC 3339 with milliseconds, UTC).
pub use cryptoviz_measurements::time::{parse_rfc3339, rfc3339};

/// A handler's query parameters: `WithRejection(Query(q), _): Params<SomeQuery>`.
pub type Params<T> = WithRejection<Query<T>, ApiError>;

/// The query of an endpoint that takes no parameters (any parameter is a 400).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NoParams {}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        // The deserialiser's error as axum renders it below its own prefix:
        // `{parameter}: {message}`, or only the message for what concerns the whole query.
        let text = std::error::Error::source(&rejection)
            .map_or_else(|| rejection.body_text(), ToString::to_string);
        rejected(&text)
    }
}

/// The 400 for a query that did not deserialise, from the error's text.
///
/// The types of [`values`] and [`choices`] give a message that follows the parameter's name
/// (`must be an integer from 1 to 250, got `0``); serde gives the unknown, repeated and
/// missing ones.
fn rejected(text: &str) -> ApiError {
    // `deny_unknown_fields`: `{key}: unknown field `{key}`, expected one of ...` (the key is
    // anything the client sent, so it is found where the text repeats it).
    for (at, _) in text.match_indices(": unknown field `") {
        let key = &text[..at];
        let rest = &text[at + ": unknown field `".len()..];
        if let Some(expected) = rest.strip_prefix(key).and_then(|r| r.strip_prefix("`, ")) {
            let expected = expected.replace("there are no fields", "this endpoint takes none");
            return ApiError::bad(
                "query",
                format!("unknown query parameter `{key}`; {expected}"),
            );
        }
    }
    let named = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix('`'))
            .map(|name| Cow::Owned(name.to_string()))
    };
    if let Some(param) = named("duplicate field `") {
        let message = format!("`{param}` is given more than once");
        return ApiError::BadParam { param, message };
    }
    if let Some(param) = named("missing field `") {
        let message = format!("`{param}` is required");
        return ApiError::BadParam { param, message };
    }
    match text.split_once(": ") {
        Some((param, message)) => ApiError::BadParam {
            message: format!("`{param}` {message}"),
            param: Cow::Owned(param.to_string()),
        },
        None => ApiError::bad("query", format!("invalid query string: {text}")),
    }
}

/// Checks `from < to` when both are set.
pub fn ordered(from: Option<Timestamp>, to: Option<Timestamp>) -> ApiResult<()> {
    match (from, to) {
        (Some(f), Some(t)) if f >= t => Err(ApiError::bad("from", "`from` must be before `to`")),
        _ => Ok(()),
    }
}

/// The consumers' window width that bins of `every_ns` are built from: hourly and coarser
/// bins from the 1-hour windows (60 times fewer rows), finer ones from the 1-minute windows.
pub fn source_window(every_ns: i64) -> Window {
    if every_ns >= HOUR_NS {
        Window::H1
    } else {
        Window::M1
    }
}

/// A minute in nanoseconds.
pub const MINUTE_NS: i64 = 60_000_000_000;
/// An hour in nanoseconds.
pub const HOUR_NS: i64 = 60 * MINUTE_NS;
/// A day in nanoseconds.
pub const DAY_NS: i64 = 24 * HOUR_NS;

/// Most bins `interval=auto` gives.
pub const AUTO_POINTS: i64 = 500;

/// A coin id (a path segment or a body field) checked as [`CoinId`] checks a parameter.
pub fn coin_id(raw: &str, name: &'static str) -> ApiResult<String> {
    CoinId::parse(raw)
        .map(|id| id.0)
        .map_err(|message| ApiError::bad(name, format!("`{name}` {message}")))
}

/// The time span a request asks for: `from`/`to`, or `range` ending at `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Explicit start (ns).
    pub from: Option<i64>,
    /// Explicit end (ns).
    pub to: Option<i64>,
    /// Length asked with `range=` (ns).
    pub range: Option<i64>,
}

impl Span {
    /// The span of `from`, `to` and `range`: `from` before `to`, `range` exclusive with `from`.
    pub fn new(
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        range: Option<Range>,
    ) -> ApiResult<Span> {
        ordered(from, to)?;
        if range.is_some() && from.is_some() {
            return Err(ApiError::bad(
                "range",
                "give either `range` or `from`, not both",
            ));
        }
        Ok(Span {
            from: from.map(|t| t.0),
            to: to.map(|t| t.0),
            range: range.map(Range::nanos),
        })
    }

    /// `[from, to)` with `to` defaulting to `default_to` and the start to `to - range`, else
    /// `to - default_len`.
    pub fn resolve(&self, default_to: i64, default_len: i64) -> (i64, i64) {
        let to = self.to.unwrap_or(default_to);
        let from = self
            .from
            .unwrap_or_else(|| to.saturating_sub(self.range.unwrap_or(default_len)));
        (from, to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Q {
        from: Option<Timestamp>,
        #[serde(default)]
        interval: Interval,
        #[serde(default)]
        limit: Limit<10, 100>,
    }

    fn query(text: &str) -> Result<Q, ApiError> {
        let uri: axum::http::Uri = format!("/x?{text}").parse().unwrap();
        Query::<Q>::try_from_uri(&uri)
            .map(|q| q.0)
            .map_err(ApiError::from)
    }

    fn param(e: ApiError) -> (String, String) {
        match e {
            ApiError::BadParam { param, message } => (param.into_owned(), message),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn times_parse_rfc3339_and_epoch_ms() {
        let q = query("from=2024-01-01T00:00:00Z").unwrap();
        assert_eq!(q.from, Some(Timestamp(1_704_067_200_000_000_000)));
        let q = query("from=1704067260000").unwrap();
        assert_eq!(q.from, Some(Timestamp(1_704_067_260_000_000_000)));
        assert_eq!(query("").unwrap().from, None);
        assert_eq!(query("").unwrap().limit.get(), 10);
    }

    #[test]
    fn bad_values_name_their_parameter() {
        for (text, name, message) in [
            (
                "from=yesterday",
                "from",
                "`from` must be an RFC 3339 time or epoch milliseconds, got `yesterday`",
            ),
            (
                "interval=7m",
                "interval",
                "`interval` must be one of 1m, 5m, 15m, 1h, 4h, 1d, auto; got `7m`",
            ),
            (
                "limit=0",
                "limit",
                "`limit` must be an integer from 1 to 100, got `0`",
            ),
            (
                "colour=blue",
                "query",
                "unknown query parameter `colour`; expected one of `from`, `interval`, `limit`",
            ),
            (
                "a%3A%20b=1",
                "query",
                "unknown query parameter `a: b`; expected one of `from`, `interval`, `limit`",
            ),
            (
                "limit=1&limit=2",
                "limit",
                "`limit` is given more than once",
            ),
        ] {
            assert_eq!(
                param(query(text).unwrap_err()),
                (name.to_string(), message.to_string()),
                "{text}"
            );
        }
        assert_eq!(
            param(coin_id("BTC'; drop", "id").unwrap_err()).0,
            "id".to_string()
        );
        assert_eq!(
            param(ordered(Some(Timestamp(2)), Some(Timestamp(1))).unwrap_err()).0,
            "from"
        );
    }

    #[test]
    fn auto_picks_the_finest_width_within_the_cap() {
        assert_eq!(Interval::Auto.resolve(DAY_NS, 500).0, Interval::M5);
        assert_eq!(Interval::Auto.resolve(HOUR_NS, 500).0, Interval::M1);
        assert_eq!(Interval::Auto.resolve(1000 * DAY_NS, 500).0, Interval::D1);
        assert_eq!(
            Interval::H4.resolve(DAY_NS, 500),
            (Interval::H4, 4 * HOUR_NS)
        );
    }

    #[test]
    fn a_span_takes_range_or_from() {
        let day = Some(Range::H24);
        let span = Span::new(None, Some(Timestamp(DAY_NS * 3)), day).unwrap();
        assert_eq!(span.resolve(0, HOUR_NS), (DAY_NS * 2, DAY_NS * 3));
        let e = Span::new(Some(Timestamp(1)), None, day).unwrap_err();
        assert_eq!(param(e).0, "range");
    }
}
