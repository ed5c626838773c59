//! The serving API over a store the real pipeline's sinks filled (`common`): handler snapshots
//! (`api`), the guards (`security`), the `/sql` limits (`sql_limits`), the live stream, dead
//! letters and replays over a log (`stream`), and parameter fuzzing (`fuzz_params`).
//!
//! They live in the binary's crate, not in `serving-api`: the fixture is written by the
//! consumers' windows and sinks, and the API crate stands on the store alone (it does not
//! depend on the consumers, not even for its tests).

#![allow(dead_code)]

mod common;

mod api;
mod fuzz_params;
mod security;
mod sql_limits;
mod stream;
mod trades;
