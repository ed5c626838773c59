//! The response cache: answers computed once per period and shared by requests
//! ([`Caches`]), a value reused until it is too old ([`TtlCell`]) and serialised answers by
//! request with single-flight loads and stale-while-revalidate ([`ResponseCache`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::header;
use parking_lot::Mutex;

use crate::error::ApiError;
use crate::model::Coin;

/// A value reused until it is older than a given age.
pub struct TtlCell<T> {
    slot: Mutex<Option<(Instant, Arc<T>)>>,
}

impl<T> Default for TtlCell<T> {
    fn default() -> Self {
        TtlCell {
            slot: Mutex::new(None),
        }
    }
}

impl<T> TtlCell<T> {
    /// The value if it is younger than `ttl`.
    pub fn get(&self, ttl: Duration) -> Option<Arc<T>> {
        let slot = self.slot.lock();
        slot.as_ref()
            .filter(|(at, _)| at.elapsed() < ttl)
            .map(|(_, v)| v.clone())
    }

    /// Replaces the value.
    pub fn put(&self, value: Arc<T>) {
        *self.slot.lock() = Some((Instant::now(), value));
    }
}

/// Serialised answers by request (path and query), reused for a short time: a burst of
/// identical requests (a dashboard's refresh, many viewers of one chart) costs one store
/// query per period, and concurrent misses of one key wait for a single computation.
///
/// An answer older than its `ttl` but younger than twice that is served while one request's
/// recomputation runs in the background (stale-while-revalidate), so a busy endpoint never
/// makes its requests wait for the refresh; an older answer, or none, is computed before
/// answering. An answer is thus at most `2 × ttl` plus one computation old.
#[derive(Default)]
pub struct ResponseCache {
    entries: Mutex<HashMap<String, (Instant, Duration, axum::body::Bytes)>>,
    inflight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    refreshing: Mutex<std::collections::HashSet<String>>,
}

/// Entries kept before expired ones are dropped (and, if still full, all of them).
const RESPONSE_CACHE_ENTRIES: usize = 4096;

/// What the cache holds for a key.
enum Cached {
    Fresh(axum::body::Bytes),
    Stale(axum::body::Bytes),
    Missing,
}

impl ResponseCache {
    fn get(&self, key: &str) -> Cached {
        let entries = self.entries.lock();
        match entries.get(key) {
            Some((at, ttl, bytes)) if at.elapsed() < *ttl => Cached::Fresh(bytes.clone()),
            Some((at, ttl, bytes)) if at.elapsed() < *ttl * 2 => Cached::Stale(bytes.clone()),
            _ => Cached::Missing,
        }
    }

    fn put(&self, key: String, ttl: Duration, bytes: axum::body::Bytes) {
        let mut entries = self.entries.lock();
        if entries.len() >= RESPONSE_CACHE_ENTRIES {
            entries.retain(|_, (at, ttl, _)| at.elapsed() < *ttl * 2);
            if entries.len() >= RESPONSE_CACHE_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), ttl, bytes));
    }

    /// The answer for `key` if it is younger than `ttl`; else `compute`'s, serialised to
    /// JSON and kept (in the background while a younger-than-`2 × ttl` answer is served).
    /// Errors are not cached.
    pub async fn json<T, F>(
        self: &Arc<Self>,
        key: String,
        ttl: Duration,
        compute: F,
    ) -> Result<axum::response::Response, ApiError>
    where
        T: serde::Serialize + Send + 'static,
        F: std::future::Future<Output = Result<T, ApiError>> + Send + 'static,
    {
        use axum::response::IntoResponse;
        let respond = |bytes: axum::body::Bytes| {
            ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
        };
        match self.get(&key) {
            Cached::Fresh(hit) => return Ok(respond(hit)),
            Cached::Stale(hit) => {
                if self.refreshing.lock().insert(key.clone()) {
                    let cache = self.clone();
                    tokio::spawn(async move {
                        match compute.await.and_then(|v| serialise(&v)) {
                            Ok(bytes) => cache.put(key.clone(), ttl, bytes),
                            Err(e) => {
                                tracing::warn!(key, error = %e, "refreshing a cached answer failed")
                            }
                        }
                        cache.refreshing.lock().remove(&key);
                    });
                }
                return Ok(respond(hit));
            }
            Cached::Missing => {}
        }
        let gate = self.inflight.lock().entry(key.clone()).or_default().clone();
        let _turn = gate.lock().await;
        if let Cached::Fresh(hit) | Cached::Stale(hit) = self.get(&key) {
            return Ok(respond(hit));
        }
        let result = compute.await;
        self.inflight.lock().remove(&key);
        let bytes = serialise(&result?)?;
        self.put(key, ttl, bytes.clone());
        Ok(respond(bytes))
    }
}

fn serialise<T: serde::Serialize>(value: &T) -> Result<axum::body::Bytes, ApiError> {
    serde_json::to_vec(value)
        .map(axum::body::Bytes::from)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Answers computed once per period and shared by requests.
#[derive(Default)]
pub struct Caches {
    /// Serialised answers of the market endpoints, by request.
    pub responses: Arc<ResponseCache>,
    /// Every coin's latest snapshot (for `/coins` and `/global`).
    pub coins: TtlCell<Vec<Coin>>,
    /// One request at a time recomputes the snapshot; the others wait for it.
    pub coins_refresh: tokio::sync::Mutex<()>,
    /// Half-hourly closes per coin.
    pub sparklines: TtlCell<HashMap<String, Vec<f64>>>,
}
