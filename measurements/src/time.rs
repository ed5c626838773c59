//! Times as stored (nanoseconds since the epoch, UTC) and as served (RFC 3339, milliseconds).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Nanoseconds since the epoch as RFC 3339 with milliseconds, e.g. `2026-11-20T00:00:00.000Z`.
pub fn rfc3339(ns: i64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(ns).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An RFC 3339 time as nanoseconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
}

/// Milliseconds to nanoseconds.
pub fn ms_to_ns(ms: i64) -> i64 {
    ms.saturating_mul(1_000_000)
}

/// A point's time: the `time` column (`Timestamp(Nanosecond, "UTC")`), served as RFC 3339.
/// Read from an RFC 3339 string (a stored row as JSON) or from nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(pub i64);

/// A time stored as an `Int64` field of nanoseconds (e.g. `window_end`), served as RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Nanos(pub i64);

impl Time {
    /// The time at `ms` milliseconds since the epoch.
    pub fn from_ms(ms: i64) -> Self {
        Time(ms_to_ns(ms))
    }
}

impl Nanos {
    /// The time at `ms` milliseconds since the epoch.
    pub fn from_ms(ms: i64) -> Self {
        Nanos(ms_to_ns(ms))
    }
}

fn serialize_ns<S: Serializer>(ns: i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(ns))
}

fn deserialize_ns<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Ns(i64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Ns(ns) => Ok(ns),
        Raw::Text(t) => parse_rfc3339(&t)
            .ok_or_else(|| serde::de::Error::custom(format!("`{t}` is not an RFC 3339 time"))),
    }
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_ns(self.0, s)
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_ns(d).map(Time)
    }
}

impl Serialize for Nanos {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_ns(self.0, s)
    }
}

impl<'de> Deserialize<'de> for Nanos {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_ns(d).map(Nanos)
    }
}
