//! Replays: re-runs of the consumers over part of the log's history
//! (`cryptoviz replay`, `POST /api/v1/replays`), to recompute analytics after a fix or fill a
//! new store.
//!
//! A replay reads every partition of its topics from a start point to an end point fixed when
//! it begins, so it terminates even while producers keep appending:
//!
//! * **From** the beginning, an offset (the same on every partition), or an event time. A time
//!   is aligned down to a whole hour (the widest window), so the first windows rebuilt are
//!   complete and overwrite stored ones with equal or better values; reading starts
//!   `allowed_lateness` earlier, because ticks that arrived late sit before the first tick
//!   of that hour in the log. Indicator histories and anomaly baselines are warmed up from
//!   the candles stored before that hour, so they continue exactly.
//! * **To** the log's end when the replay starts, an offset (exclusive, per partition), or an
//!   event time, aligned up to a whole hour; windows ending by then are closed normally.
//!
//! Offsets have no relation to window edges: a replay bounded by offsets rebuilds its first
//! and last windows from the ticks in range only. Prefer time bounds to recompute.
//!
//! Stored points are identified by (measurement, tags, time), so writing a window again
//! replaces it: running the same replay twice leaves the store identical.
//!
//! [`bounds`] holds the range and what is kept; [`run`](mod@run) drives both consumer groups over it
//! (the `cryptoviz replay` command and the API's `/api/v1/replays` jobs share it).

pub mod bounds;
pub mod run;

pub use bounds::{ALIGN_MS, ReplayBounds, ReplayFrom, ReplayTo, align_down, align_up};
pub use run::{
    ProgressSnapshot, ReplayEnd, ReplayProgress, ReplaySpec, SpecError, TOPICS, run, start,
};
