//! Parsing and validating query parameters. Nothing here trusts its input: every failure is
//! a 400 that names the parameter.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};

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
    if let Ok(ms) = raw.parse::<i64>() {
        return ms
            .checked_mul(1_000_000)
            .map(Some)
            .ok_or_else(|| ApiError::bad(name, format!("`{name}` is out of range")));
    }
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad(
                name,
                format!("`{name}` must be an RFC 3339 time or epoch milliseconds, got `{raw}`"),
            )
        })
}

/// An interval such as `1m`, `5m`, `1h`, `1d`, from a fixed list; returns (label, nanoseconds).
pub fn interval(
    params: &Params,
    name: &'static str,
    default: &'static str,
) -> ApiResult<(&'static str, i64)> {
    const MIN: i64 = 60_000_000_000;
    const ALLOWED: [(&str, i64); 6] = [
        ("1m", MIN),
        ("5m", 5 * MIN),
        ("15m", 15 * MIN),
        ("1h", 60 * MIN),
        ("4h", 240 * MIN),
        ("1d", 1440 * MIN),
    ];
    let raw = params.get(name).map_or(default, |s| s.as_str());
    ALLOWED
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

/// Nanoseconds since the epoch as RFC 3339 with milliseconds, UTC.
pub fn rfc3339(ns: i64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(ns).to_rfc3339_opts(SecondsFormat::Millis, true)
}

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
