//! Semantic checks shared by the record types. The clock is a parameter so tests can pin it;
//! [`now_ms`] is the production clock.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::ValidationError;

/// 2009-01-03T00:00:00Z (the Bitcoin genesis block): nothing this pipeline sees is older.
pub const MIN_TIMESTAMP_MS: i64 = 1_230_940_800_000;

/// How far in the future an event time may be (clock skew between sources), in ms.
pub const MAX_CLOCK_SKEW_MS: i64 = 24 * 60 * 60 * 1000;

/// Milliseconds since the Unix epoch from the system clock (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

type Check = Result<(), ValidationError>;

pub(crate) fn non_empty(field: &'static str, v: &str) -> Check {
    if v.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    Ok(())
}

/// A value the store keeps as a tag (a coin id, a source, a symbol): non-empty, without
/// control characters (a newline ends an InfluxDB line-protocol point and cannot be escaped)
/// and without backslashes (line protocol's escape character: a tag value ending in one
/// swallows the separator after it). Identifiers never need either, so such a value is a
/// malformed record, dead-lettered before it can fail a store write for good.
pub(crate) fn tag_value(field: &'static str, v: &str) -> Check {
    non_empty(field, v)?;
    if let Some(c) = v.chars().find(|c| c.is_control() || *c == '\\') {
        return Err(ValidationError::new(
            field,
            format!(
                "{c:?} is not allowed in a tag value (no control characters or backslashes), got {v:?}"
            ),
        ));
    }
    Ok(())
}

pub(crate) fn finite(field: &'static str, v: f64) -> Check {
    if !v.is_finite() {
        return Err(ValidationError::new(
            field,
            format!("must be finite, got {v}"),
        ));
    }
    Ok(())
}

pub(crate) fn positive(field: &'static str, v: f64) -> Check {
    finite(field, v)?;
    if v <= 0.0 {
        return Err(ValidationError::new(field, format!("must be > 0, got {v}")));
    }
    Ok(())
}

pub(crate) fn opt_finite(field: &'static str, v: Option<f64>) -> Check {
    v.map_or(Ok(()), |v| finite(field, v))
}

pub(crate) fn opt_non_negative(field: &'static str, v: Option<f64>) -> Check {
    let Some(v) = v else { return Ok(()) };
    finite(field, v)?;
    if v < 0.0 {
        return Err(ValidationError::new(
            field,
            format!("must be >= 0, got {v}"),
        ));
    }
    Ok(())
}

pub(crate) fn in_range(field: &'static str, v: f64, min: f64, max: f64) -> Check {
    finite(field, v)?;
    if !(min..=max).contains(&v) {
        return Err(ValidationError::new(
            field,
            format!("must be within [{min}, {max}], got {v}"),
        ));
    }
    Ok(())
}

pub(crate) fn timestamp(field: &'static str, ts_ms: i64, now_ms: i64) -> Check {
    if ts_ms < MIN_TIMESTAMP_MS {
        return Err(ValidationError::new(
            field,
            format!("{ts_ms} ms is before 2009-01-03"),
        ));
    }
    if ts_ms > now_ms.saturating_add(MAX_CLOCK_SKEW_MS) {
        return Err(ValidationError::new(
            field,
            format!("{ts_ms} ms is more than a day after now ({now_ms} ms)"),
        ));
    }
    Ok(())
}
