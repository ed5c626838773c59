//! A replay as the API serves it and the consumers run it: what to replay ([`ReplaySpec`]),
//! how it ended ([`ReplayEnd`]) and how far it got ([`ProgressSnapshot`]).
//!
//! These are not measurements, but they are the other shape both sides share: the API
//! validates a request into a [`ReplaySpec`] and hands it to a runner injected by the binary
//! (the consumers' `replay::run`), so the API does not depend on the consumers.

use cryptoviz_schemas::topics;
use serde::Serialize;

/// Topics a replay can read.
pub const TOPICS: [&str; 3] = [topics::PRICES, topics::NEWS, topics::SENTIMENT];

/// Where a replay starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayFrom {
    /// The earliest retained record of every partition.
    Beginning,
    /// This offset of every partition.
    Offset(u64),
    /// This event time (Unix ms), aligned down to the hour.
    Time(i64),
}

/// Where a replay stops (exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayTo {
    /// This offset of every partition.
    Offset(u64),
    /// This event time (Unix ms), aligned up to the hour.
    Time(i64),
}

impl std::str::FromStr for ReplayFrom {
    type Err = String;

    /// `beginning`, an offset or an RFC 3339 time.
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "beginning" {
            return Ok(ReplayFrom::Beginning);
        }
        parse_point(s)
            .map(|p| match p {
                Point::Offset(o) => ReplayFrom::Offset(o),
                Point::Time(t) => ReplayFrom::Time(t),
            })
            .map_err(|e| format!("{e}, or `beginning`"))
    }
}

impl std::str::FromStr for ReplayTo {
    type Err = String;

    /// An offset or an RFC 3339 time.
    fn from_str(s: &str) -> Result<Self, String> {
        parse_point(s).map(|p| match p {
            Point::Offset(o) => ReplayTo::Offset(o),
            Point::Time(t) => ReplayTo::Time(t),
        })
    }
}

enum Point {
    Offset(u64),
    Time(i64),
}

fn parse_point(s: &str) -> Result<Point, String> {
    if let Ok(offset) = s.parse::<u64>() {
        return Ok(Point::Offset(offset));
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| Point::Time(t.timestamp_millis()))
        .map_err(|_| {
            format!("`{s}` is neither an offset nor an RFC 3339 time (e.g. 2026-11-20T00:00:00Z)")
        })
}

/// An invalid replay request; [`SpecError::param`] names the argument at fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    /// Not one of [`TOPICS`].
    #[error(
        "unknown topic `{0}` (expected one of crypto-prices, crypto-news, crypto-market-sentiment)"
    )]
    UnknownTopic(String),
    /// A time range whose end is not after its start.
    #[error("the end must be after the start")]
    EmptyRange,
}

impl SpecError {
    /// The argument at fault: `topic` or `to`.
    pub fn param(&self) -> &'static str {
        match self {
            SpecError::UnknownTopic(_) => "topic",
            SpecError::EmptyRange => "to",
        }
    }
}

/// What to replay: topics and range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplaySpec {
    topics: Vec<&'static str>,
    /// Start.
    pub from: ReplayFrom,
    /// End (exclusive); `None`: the log's end when the replay starts.
    pub to: Option<ReplayTo>,
}

impl ReplaySpec {
    /// A replay of `topics` (all three when empty; repeats ignored) over `from..to`.
    pub fn new<S: AsRef<str>>(
        topics: &[S],
        from: ReplayFrom,
        to: Option<ReplayTo>,
    ) -> Result<Self, SpecError> {
        let mut chosen: Vec<&'static str> = Vec::new();
        for t in topics {
            let t = t.as_ref();
            match TOPICS.iter().find(|k| **k == t) {
                Some(k) if !chosen.contains(k) => chosen.push(k),
                Some(_) => {}
                None => return Err(SpecError::UnknownTopic(t.to_string())),
            }
        }
        if chosen.is_empty() {
            chosen = TOPICS.to_vec();
        }
        if let (ReplayFrom::Time(from), Some(ReplayTo::Time(to))) = (from, to)
            && to <= from
        {
            return Err(SpecError::EmptyRange);
        }
        Ok(Self {
            topics: chosen,
            from,
            to,
        })
    }

    /// The topics, in the order first given.
    pub fn topics(&self) -> &[&'static str] {
        &self.topics
    }
}

/// A copy of a replay's progress.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ProgressSnapshot {
    /// Records between the start and end offsets (for a time start, an upper bound).
    pub total: u64,
    /// Records read in range.
    pub kept: u64,
    /// Records read outside the range.
    pub skipped: u64,
    /// Price ticks stored.
    pub ticks: u64,
    /// Window points written.
    pub windows: u64,
    /// Anomaly episode updates written.
    pub anomalies: u64,
    /// Ticks whose window had closed.
    pub late_rows: u64,
    /// News and sentiment records written.
    pub records: u64,
    /// Records that did not decode (sent to the DLQ).
    pub dead_letters: u64,
}

/// How a replay ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayEnd {
    /// Every partition was read to its end; the last windows were emitted.
    Completed,
    /// Cancelled: what was read and closed is stored, open windows were dropped (the stored
    /// ones stay as they were).
    Cancelled,
}
