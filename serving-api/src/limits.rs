//! The limits the API enforces, as mechanisms without the HTTP around them (the middleware
//! in [`crate::protect`] and the handlers apply them): the per-client rate limit
//! ([`RateLimiter`]), the live-stream client slots ([`ClientSlots`]), who the client of a
//! request is ([`client_ip`]), and what `/sql` queries share ([`SqlGate`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use governor::Quota;
use governor::clock::{Clock, MonotonicClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;

use cryptoviz_store::SqlBudget;
use parking_lot::Mutex;
use tokio::sync::Semaphore;

use crate::settings::{ApiSettings, Networks};

/// Token buckets per client IP: `governor`'s keyed GCRA limiter (one lock-free cell per client
/// in a sharded map) behind the API's own shape — a rate in requests per second (fractional
/// allowed, `<= 0` lets everything in) and a refusal that says how many seconds to wait.
///
/// The clock is a type parameter so tests drive time (`FakeRelativeClock`) instead of sleeping.
pub struct RateLimiter<C: Clock = MonotonicClock> {
    per_second: f64,
    burst: u32,
    inner: Option<Keyed<C>>,
    clock: C,
    checks: AtomicU32,
}

/// `governor`'s limiter keyed by client address, on clock `C`.
type Keyed<C> = governor::RateLimiter<
    IpAddr,
    DashMapStateStore<IpAddr>,
    C,
    NoOpMiddleware<<C as Clock>::Instant>,
>;

impl<C: Clock> std::fmt::Debug for RateLimiter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("per_second", &self.per_second)
            .field("burst", &self.burst)
            .finish()
    }
}

/// Clients tracked before those whose bucket is full again are dropped.
const MAX_CLIENTS: usize = 100_000;

impl RateLimiter {
    /// `per_second` sustained with bursts of `burst`; `per_second <= 0` lets everything in.
    pub fn new(per_second: f64, burst: u32) -> Self {
        Self::with_clock(per_second, burst, MonotonicClock)
    }
}

impl<C: Clock + Clone> RateLimiter<C> {
    /// As [`RateLimiter::new`], reading time from `clock`.
    pub fn with_clock(per_second: f64, burst: u32, clock: C) -> Self {
        let burst = burst.max(1);
        let quota = (per_second > 0.0 && per_second.is_finite())
            .then(|| Quota::with_period(Duration::from_secs_f64(1.0 / per_second)))
            .flatten()
            .map(|q| q.allow_burst(NonZeroU32::new(burst).expect("burst is at least 1")));
        RateLimiter {
            per_second,
            burst,
            inner: quota.map(|q| governor::RateLimiter::dashmap_with_clock(q, clock.clone())),
            clock,
            checks: AtomicU32::new(0),
        }
    }

    /// Takes a token for `client`, or says how many whole seconds until one is free.
    pub fn check(&self, client: IpAddr) -> Result<(), u64> {
        let Some(limiter) = &self.inner else {
            return Ok(());
        };
        // `len` visits every shard: look now and then, not on every request.
        if self
            .checks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(1024)
            && limiter.len() >= MAX_CLIENTS
        {
            // A client whose bucket has refilled is the same as one never seen.
            limiter.retain_recent();
        }
        limiter.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            wait.as_secs_f64().ceil().max(1.0) as u64
        })
    }
}

/// The client a request comes from. The socket's peer, unless the peer is one of `trusted`
/// proxies: then `X-Forwarded-For` is read from the right (the entry the nearest proxy
/// added) past the trusted proxies, and the first address that is not one is the client, as
/// nginx's `real_ip_recursive` does. A client cannot choose its address by sending the
/// header itself: an untrusted peer's header is ignored, and the entries it wrote are to the
/// left of the one its proxy appended. An unparsable entry stops the walk at the address
/// before it.
pub fn client_ip(peer: IpAddr, headers: &axum::http::HeaderMap, trusted: &Networks) -> IpAddr {
    if trusted.is_empty() || !trusted.contains(peer) {
        return peer;
    }
    let mut client = peer;
    let entries = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect::<Vec<_>>();
    for entry in entries.iter().rev() {
        let Ok(ip) = entry.trim().parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !trusted.contains(ip) {
            break;
        }
    }
    client
}

/// Counts live stream clients, in total and per client address.
#[derive(Debug)]
pub struct ClientSlots {
    total_max: usize,
    per_ip_max: usize,
    held: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// Why a stream client was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SlotRefusal {
    /// Every slot is taken.
    Full,
    /// This client holds its share already.
    PerClient,
}

/// One stream client's slot, given back when dropped (the client disconnected).
#[derive(Debug)]
pub struct Slot {
    slots: Arc<ClientSlots>,
    ip: IpAddr,
}

impl ClientSlots {
    /// At most `total_max` clients, `per_ip_max` of them from one address.
    pub fn new(total_max: usize, per_ip_max: usize) -> Self {
        ClientSlots {
            total_max,
            per_ip_max,
            held: Mutex::new((0, HashMap::new())),
        }
    }

    /// A slot for a client at `ip`, if it may have one.
    pub fn take(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, SlotRefusal> {
        let mut held = self.held.lock();
        let (total, per_ip) = &mut *held;
        if *total >= self.total_max {
            return Err(SlotRefusal::Full);
        }
        let mine = per_ip.entry(ip).or_insert(0);
        if *mine >= self.per_ip_max {
            return Err(SlotRefusal::PerClient);
        }
        *mine += 1;
        *total += 1;
        Ok(Slot {
            slots: self.clone(),
            ip,
        })
    }

    /// Clients holding a slot.
    pub fn held(&self) -> usize {
        self.held.lock().0
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.slots.held.lock();
        let (total, per_ip) = &mut *held;
        *total -= 1;
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}

/// What `/sql` queries share: their memory pool and scan limit, and the permits that cap how
/// many run at once.
#[derive(Debug)]
pub struct SqlGate {
    budget: SqlBudget,
    permits: Arc<Semaphore>,
    max_concurrent: usize,
}

impl SqlGate {
    /// The gate of `settings` (`sql_memory_limit_bytes`, `sql_max_scan_rows`,
    /// `sql_max_concurrent`; zeros count as 1).
    pub fn new(settings: &ApiSettings) -> Self {
        let max_concurrent = settings.sql_max_concurrent.max(1);
        let budget = SqlBudget::new(
            settings.sql_memory_limit_bytes.max(1),
            settings.sql_max_scan_rows.max(1),
        )
        .expect("positive SQL limits are valid");
        SqlGate {
            budget,
            permits: Arc::new(Semaphore::new(max_concurrent)),
            max_concurrent,
        }
    }

    /// A permit to run one query now, held until its answer is built; `None` when
    /// [`SqlGate::max_concurrent`] queries are running.
    pub fn admit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.permits.clone().try_acquire_owned().ok()
    }

    /// Queries that may run at once.
    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }

    /// The memory pool and scan limit every query draws from.
    pub fn budget(&self) -> &SqlBudget {
        &self.budget
    }

    /// Bytes the running queries hold now (for tests and metrics).
    pub fn memory_reserved_bytes(&self) -> usize {
        self.budget.memory_reserved_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    #[test]
    fn a_burst_past_the_limit_waits_for_tokens() {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::with_clock(2.0, 3, clock.clone());
        let ip = IpAddr::from([10, 0, 0, 1]);
        for _ in 0..3 {
            assert!(limiter.check(ip).is_ok());
        }
        assert_eq!(limiter.check(ip), Err(1));
        // Another client has its own bucket.
        assert!(limiter.check(IpAddr::from([10, 0, 0, 2])).is_ok());
        // Half a second later one token is back.
        clock.advance(Duration::from_millis(500));
        assert!(limiter.check(ip).is_ok());
        assert!(limiter.check(ip).is_err());
        assert!(RateLimiter::new(0.0, 1).check(ip).is_ok());
    }

    #[test]
    fn a_slow_rate_says_how_long_to_wait() {
        let clock = FakeRelativeClock::default();
        // One request every 10 s.
        let limiter = RateLimiter::with_clock(0.1, 1, clock.clone());
        let ip = IpAddr::from([10, 0, 0, 1]);
        assert!(limiter.check(ip).is_ok());
        assert_eq!(limiter.check(ip), Err(10));
        clock.advance(Duration::from_millis(2_500));
        assert_eq!(limiter.check(ip), Err(8));
        clock.advance(Duration::from_millis(7_500));
        assert!(limiter.check(ip).is_ok());
    }

    fn forwarded(value: &str) -> axum::http::HeaderMap {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn forwarded_for_is_believed_from_trusted_proxies_only() {
        let proxy: IpAddr = "172.30.80.10".parse().unwrap();
        let trusted = Networks::parse(&["172.30.80.10", "10.0.0.0/8"]).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // No trusted proxy configured: the header is ignored.
        assert_eq!(
            client_ip(proxy, &forwarded("203.0.113.7"), &Networks::default()),
            proxy
        );
        // From the proxy: the address it appended.
        assert_eq!(
            client_ip(proxy, &forwarded("203.0.113.7"), &trusted),
            ip("203.0.113.7")
        );
        // A client's own forged entry is to the left of what the proxy appended.
        assert_eq!(
            client_ip(proxy, &forwarded("1.2.3.4, 203.0.113.7"), &trusted),
            ip("203.0.113.7")
        );
        // Chained trusted proxies are skipped.
        assert_eq!(
            client_ip(proxy, &forwarded("203.0.113.7, 10.1.2.3"), &trusted),
            ip("203.0.113.7")
        );
        // From an untrusted peer the header means nothing.
        let stranger = ip("198.51.100.9");
        assert_eq!(
            client_ip(stranger, &forwarded("203.0.113.7"), &trusted),
            stranger
        );
        // Garbage stops the walk; no header leaves the proxy itself.
        assert_eq!(
            client_ip(proxy, &forwarded("203.0.113.7, junk"), &trusted),
            proxy
        );
        assert_eq!(
            client_ip(proxy, &axum::http::HeaderMap::new(), &trusted),
            proxy
        );
    }

    #[test]
    fn stream_slots_are_capped_per_client_and_in_total() {
        let slots = Arc::new(ClientSlots::new(3, 2));
        let (a, b, c) = (
            IpAddr::from([10, 0, 0, 1]),
            IpAddr::from([10, 0, 0, 2]),
            IpAddr::from([10, 0, 0, 3]),
        );
        let a1 = slots.take(a).unwrap();
        let _a2 = slots.take(a).unwrap();
        assert_eq!(slots.take(a).unwrap_err(), SlotRefusal::PerClient);
        let _b1 = slots.take(b).unwrap();
        assert_eq!(slots.take(c).unwrap_err(), SlotRefusal::Full);
        drop(a1);
        assert_eq!(slots.held(), 2);
        let _c1 = slots.take(c).unwrap();
        assert_eq!(slots.take(a).unwrap_err(), SlotRefusal::Full);
    }
}
