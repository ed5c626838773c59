//! Parsing and validating query parameters. Nothing here trusts its input: every failure is
//! a 400 that names the parameter.

use std::collections::HashMap;

use crate::error::{ApiError, ApiResult};

/// Raw query parameters.
pub type Params = HashMap<String, String>;

/// Rejects parameters the endpoint does not know (a typo must not be silently ignored).
pub fn only(params: &Params, allowed: &[&'static str]) -> ApiResult<()> {
    for key in params.keys() {
        if !allowed.contains(&key.as_str()) {
            // `param` must be static: name the first allowed one only in the message.
            return Err(ApiError::BadParam {
                param: "query",
                message: format!(
                    "unknown query parameter `{key}`; allowed: {}",
                    allowed.join(", ")
                ),
            });
        }
    }
    Ok(())
}

/// A time parameter: RFC 3339 (`2024-05-01T12:00:00Z`) or milliseconds since the epoch.
/// Returns nanoseconds since the epoch.
pub fn time(params: &Params, name: &'static str) -> ApiResult<Option<i64>> {
    let Some(raw) = params.get(name) else {
        return Ok(None);
    };
    let raw = raw.trim();
    let ns = match raw.parse::<i64>() {
        Ok(ms) => ms.checked_mul(1_000_000),
        Err(_) => parse_rfc3339(raw),
    };
    match ns {
        // 1970 to 2200: anything else is a mistake, and keeps arithmetic on times in range.
        Some(ns) if (0..=7_258_118_400_000_000_000).contains(&ns) => Ok(Some(ns)),
        Some(_) => Err(ApiError::bad(
            name,
            format!("`{name}` must be between 1970 and 2200, got `{raw}`"),
        )),
        None => Err(ApiError::bad(
            name,
            format!("`{name}` must be an RFC 3339 time or epoch milliseconds, got `{raw}`"),
        )),
    }
}

const MIN: i64 = 60_000_000_000;
/// Candle intervals, finest first, with their length in nanoseconds.
pub const INTERVALS: [(&str, i64); 6] = [
    ("1m", MIN),
    ("5m", 5 * MIN),
    ("15m", 15 * MIN),
    ("1h", 60 * MIN),
    ("4h", 240 * MIN),
    ("1d", 1440 * MIN),
];

/// An interval such as `1m`, `5m`, `1h`, `1d`, from a fixed list; returns (label, nanoseconds).
pub fn interval(
    params: &Params,
    name: &'static str,
    default: &'static str,
) -> ApiResult<(&'static str, i64)> {
    let raw = params.get(name).map_or(default, |s| s.as_str());
    INTERVALS
        .iter()
        .find(|(label, _)| *label == raw)
        .copied()
        .ok_or_else(|| {
            ApiError::bad(
                name,
                format!("`{name}` must be one of 1m, 5m, 15m, 1h, 4h, 1d; got `{raw}`"),
            )
        })
}

/// `interval=` as [`interval`] does, or `auto` (also when absent): the finest interval giving
/// at most [`AUTO_POINTS`] bins over `span_ns`.
pub fn interval_or_auto(
    params: &Params,
    name: &'static str,
    span_ns: i64,
) -> ApiResult<(&'static str, i64)> {
    if params.get(name).is_none_or(|v| v == "auto") {
        return Ok(INTERVALS
            .iter()
            .find(|(_, ns)| span_ns / ns <= AUTO_POINTS)
            .copied()
            .unwrap_or(INTERVALS[INTERVALS.len() - 1]));
    }
    interval(params, name, "1m")
}

/// The consumers' window width that bins of `every_ns` are built from: hourly and coarser
/// bins from the 1-hour windows (60 times fewer rows), finer ones from the 1-minute windows.
pub fn source_window(every_ns: i64) -> &'static str {
    if every_ns >= HOUR_NS { "1h" } else { "1m" }
}

/// Most bins `interval=auto` gives.
pub const AUTO_POINTS: i64 = 500;

/// A coin id: CoinGecko ids are lowercase letters, digits and dashes.
pub fn coin_id(raw: &str, name: &'static str) -> ApiResult<String> {
    let valid = !raw.is_empty()
        && raw.len() <= 100
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if valid {
        Ok(raw.to_string())
    } else {
        Err(ApiError::bad(
            name,
            format!(
                "`{name}` must be a coin id such as `bitcoin` (lowercase letters, digits, dashes)"
            ),
        ))
    }
}

/// A positive integer no larger than `max`, or `default`.
pub fn limit(params: &Params, name: &'static str, default: usize, max: usize) -> ApiResult<usize> {
    match params.get(name) {
        None => Ok(default),
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::bad(
                name,
                format!("`{name}` must be an integer from 1 to {max}, got `{raw}`"),
            )),
        },
    }
}

/// Checks `from < to` when both are set.
pub fn ordered(from: Option<i64>, to: Option<i64>) -> ApiResult<()> {
    match (from, to) {
        (Some(f), Some(t)) if f >= t => Err(ApiError::bad("from", "`from` must be before `to`")),
        _ => Ok(()),
    }
}

/// One of a fixed list of values, or `default`.
pub fn choice(
    params: &Params,
    name: &'static str,
    allowed: &[&'static str],
    default: &'static str,
) -> ApiResult<&'static str> {
    let raw = params.get(name).map_or(default, String::as_str);
    allowed.iter().find(|a| **a == raw).copied().ok_or_else(|| {
        ApiError::bad(
            name,
            format!(
                "`{name}` must be one of {}; got `{raw}`",
                allowed.join(", ")
            ),
        )
    })
}

/// A value from a fixed list when present.
pub fn optional_choice(
    params: &Params,
    name: &'static str,
    allowed: &[&'static str],
) -> ApiResult<Option<&'static str>> {
    match params.get(name) {
        None => Ok(None),
        Some(_) => choice(params, name, allowed, "").map(Some),
    }
}

/// A non-negative integer no larger than `max` (default 0).
pub fn offset(params: &Params, name: &'static str, max: usize) -> ApiResult<usize> {
    match params.get(name) {
        None => Ok(0),
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if n <= max => Ok(n),
            _ => Err(ApiError::bad(
                name,
                format!("`{name}` must be an integer from 0 to {max}, got `{raw}`"),
            )),
        },
    }
}

/// `true`/`false` (also `1`/`0`), default false.
pub fn flag(params: &Params, name: &'static str) -> ApiResult<bool> {
    match params.get(name).map(String::as_str) {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(raw) => Err(ApiError::bad(
            name,
            format!("`{name}` must be true or false, got `{raw}`"),
        )),
    }
}

/// A comma-separated list of coin ids (deduplicated, order kept), at most `max`.
pub fn coin_ids(params: &Params, name: &'static str, max: usize) -> ApiResult<Option<Vec<String>>> {
    let Some(raw) = params.get(name) else {
        return Ok(None);
    };
    let mut ids: Vec<String> = Vec::new();
    for part in raw.split(',') {
        let id = coin_id(part.trim(), name)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.len() > max {
        return Err(ApiError::bad(
            name,
            format!("`{name}` takes at most {max} ids"),
        ));
    }
    Ok(Some(ids))
}

/// Ranges accepted by `range=`, with their length in nanoseconds.
pub const RANGES: [(&str, i64); 5] = [
    ("1h", HOUR_NS),
    ("24h", 24 * HOUR_NS),
    ("7d", 7 * DAY_NS),
    ("30d", 30 * DAY_NS),
    ("1y", 365 * DAY_NS),
];
/// An hour in nanoseconds.
pub const HOUR_NS: i64 = 3_600_000_000_000;
/// A day in nanoseconds.
pub const DAY_NS: i64 = 24 * HOUR_NS;

/// The time span a request asks for: `from`/`to`, or `range` ending at `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Explicit start.
    pub from: Option<i64>,
    /// Explicit end.
    pub to: Option<i64>,
    /// Length asked with `range=`.
    pub range: Option<i64>,
}

impl Span {
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

/// Reads `from`, `to` and `range` (exclusive with `from`), checking their order.
pub fn span(params: &Params) -> ApiResult<Span> {
    let from = time(params, "from")?;
    let to = time(params, "to")?;
    ordered(from, to)?;
    let range = match params.get("range") {
        None => None,
        Some(raw) => Some(
            RANGES
                .iter()
                .find(|(label, _)| *label == raw)
                .map(|(_, ns)| *ns)
                .ok_or_else(|| {
                    ApiError::bad(
                        "range",
                        format!("`range` must be one of 1h, 24h, 7d, 30d, 1y; got `{raw}`"),
                    )
                })?,
        ),
    };
    if range.is_some() && from.is_some() {
        return Err(ApiError::bad(
            "range",
            "give either `range` or `from`, not both",
        ));
    }
    Ok(Span { from, to, range })
}

/// Times as served: the contract's format (RFC 3339 with milliseconds, UTC).
pub use cryptoviz_measurements::time::{parse_rfc3339, rfc3339};

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn times_parse_rfc3339_and_epoch_ms() {
        let params = p(&[("from", "2024-01-01T00:00:00Z"), ("to", "1704067260000")]);
        assert_eq!(
            time(&params, "from").unwrap(),
            Some(1_704_067_200_000_000_000)
        );
        assert_eq!(
            time(&params, "to").unwrap(),
            Some(1_704_067_260_000_000_000)
        );
        assert_eq!(time(&params, "absent").unwrap(), None);
    }

    #[test]
    fn bad_values_name_their_parameter() {
        let params = p(&[("from", "yesterday"), ("interval", "7m"), ("limit", "0")]);
        let param = |e: ApiError| match e {
            ApiError::BadParam { param, .. } => param,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(param(time(&params, "from").unwrap_err()), "from");
        assert_eq!(
            param(interval(&params, "interval", "1m").unwrap_err()),
            "interval"
        );
        assert_eq!(
            param(limit(&params, "limit", 10, 100).unwrap_err()),
            "limit"
        );
        assert_eq!(param(coin_id("BTC'; drop", "id").unwrap_err()), "id");
        assert_eq!(param(ordered(Some(2), Some(1)).unwrap_err()), "from");
    }
}
