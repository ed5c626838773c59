//! The live side of the API: a [`Hub`] of recent events that SSE clients follow, and the
//! [`feed`] tasks that fill it from the log (ticks, articles) and from the store (windows,
//! anomalies, sentiment).

pub mod feed;
mod hub;

pub use hub::{Event, EventKind, Hub, Resume, Subscription};
