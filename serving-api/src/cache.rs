//! The response cache, on `moka`: answers computed once per period and shared by requests
//! ([`Caches`]), a value loaded once per period ([`TtlCell`]) and serialised answers by request
//! with stale-while-revalidate ([`ResponseCache`]). Both load single-flight: concurrent misses
//! of one key wait for one computation (`try_get_with`) and all get its answer, or its error.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use moka::Expiry;
use moka::future::Cache;
use parking_lot::Mutex;

use crate::error::ApiError;
use crate::model::Coin;

/// Entries the response cache keeps; beyond that moka evicts the least useful (TinyLFU).
const RESPONSE_CACHE_ENTRIES: u64 = 4096;

/// A cached value with the time it was computed and how long it stays fresh.
#[derive(Clone)]
struct Timed<V> {
    at: Instant,
    ttl: Duration,
    value: V,
}

impl<V> Timed<V> {
    fn now(ttl: Duration, value: V) -> Self {
        Timed {
            at: Instant::now(),
            ttl,
            value,
        }
    }

    fn is_fresh(&self) -> bool {
        self.at.elapsed() < self.ttl
    }
}

/// Each entry lives `keep × ttl` after it was written (its own ttl: one cache serves answers
/// of different lifetimes).
struct KeepFor(u32);

impl<K, V> Expiry<K, Timed<V>> for KeepFor {
    fn expire_after_create(&self, _: &K, v: &Timed<V>, _: Instant) -> Option<Duration> {
        Some(v.ttl * self.0)
    }
}

/// A value loaded at most once per `ttl`; concurrent callers of an expired cell wait for one
/// load.
pub struct TtlCell<T> {
    slot: Cache<(), Timed<Arc<T>>>,
}

impl<T: Send + Sync + 'static> Default for TtlCell<T> {
    fn default() -> Self {
        TtlCell {
            slot: Cache::builder()
                .max_capacity(1)
                .expire_after(KeepFor(1))
                .build(),
        }
    }
}

impl<T: Send + Sync + 'static> TtlCell<T> {
    /// The value if it is younger than `ttl`, else `load`'s (errors are not kept).
    pub async fn get_or_load<F>(&self, ttl: Duration, load: F) -> Result<Arc<T>, ApiError>
    where
        F: Future<Output = Result<T, ApiError>>,
    {
        if let Some(hit) = self.slot.get(&()).await.filter(|t| t.is_fresh()) {
            return Ok(hit.value);
        }
        let loaded = self
            .slot
            .try_get_with((), async { Ok(Timed::now(ttl, Arc::new(load.await?))) })
            .await;
        Ok(loaded.map_err(ApiError::from)?.value)
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
pub struct ResponseCache {
    entries: Cache<String, Timed<Bytes>>,
    /// Keys whose background refresh is running (one at a time per key).
    refreshing: Mutex<HashSet<String>>,
}

impl Default for ResponseCache {
    fn default() -> Self {
        ResponseCache {
            entries: Cache::builder()
                .max_capacity(RESPONSE_CACHE_ENTRIES)
                .expire_after(KeepFor(2))
                .build(),
            refreshing: Mutex::default(),
        }
    }
}

impl ResponseCache {
    /// The answer for `key` if it is younger than `ttl`; else `compute`'s, serialised to
    /// JSON and kept (in the background while a younger-than-`2 × ttl` answer is served).
    /// Errors are not cached.
    pub async fn json<T, F>(
        self: &Arc<Self>,
        key: String,
        ttl: Duration,
        compute: F,
    ) -> Result<Response, ApiError>
    where
        T: serde::Serialize + Send + 'static,
        F: Future<Output = Result<T, ApiError>> + Send + 'static,
    {
        let respond =
            |bytes: Bytes| ([(header::CONTENT_TYPE, "application/json")], bytes).into_response();
        if let Some(hit) = self.entries.get(&key).await {
            if !hit.is_fresh() {
                self.refresh(key, ttl, compute);
            }
            return Ok(respond(hit.value));
        }
        let answer = self
            .entries
            .try_get_with(key, async move {
                Ok::<_, ApiError>(Timed::now(ttl, serialise(&compute.await?)?))
            })
            .await
            .map_err(ApiError::from)?;
        Ok(respond(answer.value))
    }

    /// Recomputes `key` in the background unless that is already under way.
    fn refresh<T, F>(self: &Arc<Self>, key: String, ttl: Duration, compute: F)
    where
        T: serde::Serialize + Send + 'static,
        F: Future<Output = Result<T, ApiError>> + Send + 'static,
    {
        if !self.refreshing.lock().insert(key.clone()) {
            return;
        }
        let cache = self.clone();
        tokio::spawn(async move {
            match compute.await.and_then(|v| serialise(&v)) {
                Ok(bytes) => {
                    cache
                        .entries
                        .insert(key.clone(), Timed::now(ttl, bytes))
                        .await
                }
                Err(e) => tracing::warn!(key, error = %e, "refreshing a cached answer failed"),
            }
            cache.refreshing.lock().remove(&key);
        });
    }
}

fn serialise<T: serde::Serialize>(value: &T) -> Result<Bytes, ApiError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Answers computed once per period and shared by requests.
#[derive(Default)]
pub struct Caches {
    /// Serialised answers of the market endpoints, by request.
    pub responses: Arc<ResponseCache>,
    /// Every coin's latest snapshot (for `/coins` and `/global`).
    pub coins: TtlCell<Vec<Coin>>,
    /// Half-hourly closes per coin.
    pub sparklines: TtlCell<HashMap<String, Vec<f64>>>,
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    /// A computation that counts its runs and takes a moment, so that callers overlap.
    fn counted(
        runs: &Arc<AtomicUsize>,
        answer: u32,
    ) -> impl Future<Output = Result<u32, ApiError>> + Send + 'static {
        let runs = runs.clone();
        async move {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(answer)
        }
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_computation() {
        let cache = Arc::new(ResponseCache::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let calls =
            (0..8).map(|_| cache.json("/k".into(), Duration::from_secs(60), counted(&runs, 7)));
        for response in futures::future::join_all(calls).await {
            assert_eq!(body(response.unwrap()).await, "7");
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_shared_error_reaches_every_waiter_and_is_not_kept() {
        let cache = Arc::new(ResponseCache::default());
        let failing = || async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Err::<u32, _>(ApiError::bad("interval", "no such interval"))
        };
        let calls = (0..3).map(|_| cache.json("/e".into(), Duration::from_secs(60), failing()));
        for result in futures::future::join_all(calls).await {
            match result {
                Err(ApiError::BadParam { param, .. }) => assert_eq!(param, "interval"),
                other => panic!("expected the shared 400, got {:?}", other.map(|_| ())),
            }
        }
        let runs = Arc::new(AtomicUsize::new(0));
        let ok = cache
            .json("/e".into(), Duration::from_secs(60), counted(&runs, 1))
            .await;
        assert_eq!(body(ok.unwrap()).await, "1");
        assert_eq!(runs.load(Ordering::SeqCst), 1, "the error was not cached");
    }

    #[tokio::test]
    async fn a_stale_answer_is_served_while_one_refresh_runs() {
        let cache = Arc::new(ResponseCache::default());
        let ttl = Duration::from_millis(100);
        let runs = Arc::new(AtomicUsize::new(0));
        let first = cache
            .json("/s".into(), ttl, counted(&runs, 1))
            .await
            .unwrap();
        assert_eq!(body(first).await, "1");
        tokio::time::sleep(ttl + Duration::from_millis(10)).await;
        // Stale: both callers get the old answer at once, and one refresh starts.
        for _ in 0..2 {
            let stale = cache
                .json("/s".into(), ttl, counted(&runs, 2))
                .await
                .unwrap();
            assert_eq!(body(stale).await, "1");
        }
        tokio::time::sleep(Duration::from_millis(80)).await;
        let fresh = cache
            .json("/s".into(), ttl, counted(&runs, 3))
            .await
            .unwrap();
        assert_eq!(body(fresh).await, "2");
        assert_eq!(
            runs.load(Ordering::SeqCst),
            2,
            "one first load and one refresh"
        );
    }

    #[tokio::test]
    async fn an_answer_older_than_twice_its_ttl_is_recomputed_before_answering() {
        let cache = Arc::new(ResponseCache::default());
        let ttl = Duration::from_millis(40);
        let runs = Arc::new(AtomicUsize::new(0));
        cache
            .json("/o".into(), ttl, counted(&runs, 1))
            .await
            .unwrap();
        tokio::time::sleep(ttl * 2 + Duration::from_millis(20)).await;
        let answer = cache
            .json("/o".into(), ttl, counted(&runs, 2))
            .await
            .unwrap();
        assert_eq!(body(answer).await, "2");
    }

    #[tokio::test]
    async fn a_cell_loads_once_per_period() {
        let cell: TtlCell<u32> = TtlCell::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let ttl = Duration::from_millis(80);
        let loads = (0..4).map(|_| cell.get_or_load(ttl, counted(&runs, 5)));
        for value in futures::future::join_all(loads).await {
            assert_eq!(*value.unwrap(), 5);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        tokio::time::sleep(ttl + Duration::from_millis(10)).await;
        assert_eq!(*cell.get_or_load(ttl, counted(&runs, 6)).await.unwrap(), 6);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }
}
