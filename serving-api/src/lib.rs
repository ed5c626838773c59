//! The serving API: the read side of the Lambda architecture.
//!
//! An axum [`Router`](axum::Router) over the store seam (`Arc<dyn Store>`) and, for the live
//! stream, the log seam (`Arc<dyn Log>`), so the same code serves the embedded backends in
//! `cryptoviz run` and Kafka + InfluxDB in the distributed mode. Every handler validates its
//! parameters before anything reaches the store (400 naming the parameter), answers 404 for
//! an unknown coin, and reports errors in one JSON shape: `{"error": {"code", "message",
//! "param"?}}` ([`error`]). docs/api.md describes every endpoint; `/api/v1/openapi.json` is
//! generated from the code ([`openapi`]).
//!
//! Data flow: requests → [`protect`] (rate limit, API key, time limit) → [`routes`] (one file
//! per resource: extract the [`params`], ask [`read`], answer a [`model`] shape) → [`read`]
//! (typed queries per area returning the contract's rows) → store. Live: [`live::feed`] (log
//! tail; store watch through [`read`]) → [`live::Hub`] → `/api/v1/stream` and the [`alerts`]
//! engine → stream + webhooks.
//!
//! Layout: [`state`] ([`AppState`]), [`serve`](mod@serve) ([`app`], [`serve()`], [`start_live`]),
//! [`cache`] (response cache), [`routes`], [`params`] (query parameters), [`read`], [`model`]
//! (answer types), [`body`] (JSON bodies), [`json`] (Arrow rows to JSON), [`live`],
//! [`alerts`], [`replays`] (replay jobs), [`protect`], [`limits`], [`metrics`], [`openapi`],
//! [`settings`], [`error`].

pub mod alerts;
pub mod body;
pub mod cache;
pub mod error;
pub mod json;
pub mod limits;
pub mod live;
pub mod metrics;
pub mod model;
pub mod openapi;
pub mod params;
pub mod protect;
pub mod read;
pub mod replays;
pub mod routes;
pub mod serve;
pub mod settings;
pub mod state;

pub use error::ApiError;
pub use serve::{app, serve, start_live};
pub use settings::{ApiKey, ApiSettings};
pub use state::{AppState, EnrichFn, ReadyFn, Shared, StageMetrics, StatusFn};
