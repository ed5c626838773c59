//! Alert rules: created, listed and deleted through the API, stored durably, evaluated as
//! events reach the [`Hub`](crate::live::Hub), delivered on the live stream and to webhooks.
//!
//! - [`rules`]: the rule shapes, their validation and the durable rule book.
//! - [`engine`]: evaluation (fire once when a condition becomes true, re-arm when it becomes
//!   false).
//! - [`webhook`]: delivery with retries, guarded against requests to internal hosts, bounded
//!   in concurrency; webhook URLs masked wherever they are shown.

pub mod engine;
pub mod rules;
pub mod webhook;

pub use rules::{Fired, NewRule, Rule, RuleBook, RuleKind};
pub use webhook::Webhooks;
