//! Webhook delivery, guarded against server-side request forgery.
//!
//! A rule's webhook is a URL a client chose, fetched by this server: without guards it can
//! reach what the client cannot (the loopback interface, the private network, a cloud's
//! metadata service at 169.254.169.254). So:
//!
//! - only `http://` and `https://` URLs, and a host that is not an internal address unless
//!   `api.webhook_allowed_networks` names it ([`check_url`] at creation, [`vet`] resolves too);
//! - at delivery, names are resolved by [`GuardedResolver`], which drops internal addresses
//!   before the connector sees them: the address checked is the address connected to, so a
//!   name that re-resolves to 127.0.0.1 after the check (DNS rebinding) gets nowhere. IP
//!   literals never reach a resolver, so [`Webhooks::deliver`] checks them itself;
//! - no redirects (a public URL answering `302 Location: http://169.254.169.254/` is an
//!   internal request by proxy) and no environment proxy (the proxy would resolve the name);
//! - at most `api.webhook_max_concurrent` deliveries in flight and a bounded queue behind
//!   them: a burst of alerts to a slow endpoint cannot grow tasks and sockets without end;
//! - the URL (it may hold a token: Slack's and Discord's do) is never logged nor shown:
//!   [`mask`] keeps the scheme and host.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::Semaphore;

use crate::settings::Networks;

/// Webhook attempts per fired alert (the first one plus retries at 1, 2 and 4 s).
const WEBHOOK_ATTEMPTS: u32 = 4;
/// Deliveries waiting for a slot, beyond those in flight; more are dropped with a warning.
const QUEUED_PER_SLOT: usize = 64;
/// How long [`vet`] waits for a name to resolve before leaving the check to delivery.
const VET_RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest webhook URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Whether `ip` is not a public unicast address: loopback, unspecified, private, shared
/// (CGNAT), link-local (cloud metadata), unique-local, multicast, broadcast, documentation,
/// benchmarking or reserved, including IPv4 addresses carried in IPv6 (mapped, NAT64, 6to4).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_loopback()
                || v4.is_unspecified()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
                || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
                || a >= 240 // reserved
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            let embedded_v4 = |hi: u16, lo: u16| {
                IpAddr::from([(hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8])
            };
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local (fc00::/7)
                || (seg[0] & 0xffc0) == 0xfe80 // link-local (fe80::/10)
                || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
                || (seg[0] == 0x0064 && seg[1] == 0xff9b && is_internal(embedded_v4(seg[6], seg[7]))) // NAT64
                || (seg[0] == 0x2002 && is_internal(embedded_v4(seg[1], seg[2]))) // 6to4
                || (seg[..6] == [0; 6] && is_internal(embedded_v4(seg[6], seg[7]))) // IPv4-compatible
        }
    }
}

/// Whether a webhook may connect to `ip`.
pub fn allowed(ip: IpAddr, allow: &Networks) -> bool {
    !is_internal(ip) || allow.contains(ip)
}

/// Parses and checks a webhook URL without resolving it: `http` or `https`, a host, at most
/// [`MAX_URL_LEN`] characters, and no internal IP literal (unless allowed) nor `localhost`.
pub fn check_url(raw: &str, allow: &Networks) -> Result<Url, String> {
    const SHAPE: &str =
        "`webhook_url` must be an http:// or https:// URL of at most 2048 characters";
    if raw.len() > MAX_URL_LEN || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(SHAPE.into());
    }
    let url = Url::parse(raw).map_err(|_| SHAPE.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SHAPE.into());
    }
    let refused = || {
        "`webhook_url` points to an internal address (loopback, private, link-local or \
         reserved); list its network in api.webhook_allowed_networks to allow it"
            .to_string()
    };
    match url.host() {
        None => Err(SHAPE.into()),
        Some(url::Host::Ipv4(ip)) if !allowed(ip.into(), allow) => Err(refused()),
        Some(url::Host::Ipv6(ip)) if !allowed(ip.into(), allow) => Err(refused()),
        Some(url::Host::Domain(name)) if is_localhost(name) => {
            let loopback = [Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()];
            if loopback.iter().all(|ip| !allow.contains(*ip)) {
                return Err(refused());
            }
            Ok(url)
        }
        Some(_) => Ok(url),
    }
}

fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// [`check_url`], then resolves a host name and refuses it when every address it resolves to
/// is internal and not allowed. A name that does not resolve (yet, or not from here) is
/// accepted: delivery checks again, address by address.
pub async fn vet(raw: &str, allow: &Networks) -> Result<(), String> {
    let url = check_url(raw, allow)?;
    let Some(url::Host::Domain(name)) = url.host() else {
        return Ok(());
    };
    let port = url.port_or_known_default().unwrap_or(80);
    let lookup = tokio::net::lookup_host((name, port));
    if let Ok(Ok(addrs)) = tokio::time::timeout(VET_RESOLVE_TIMEOUT, lookup).await {
        let addrs: Vec<SocketAddr> = addrs.collect();
        if !addrs.is_empty() && addrs.iter().all(|a| !allowed(a.ip(), allow)) {
            return Err(
                "`webhook_url`'s host resolves to internal addresses only; list their \
                 network in api.webhook_allowed_networks to allow it"
                    .into(),
            );
        }
    }
    Ok(())
}

/// The URL as it may be shown: scheme, host and port; the path, query and credentials (where
/// tokens live) replaced by `***`.
pub fn mask(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(url) => {
            let host = url.host_str().unwrap_or_default();
            match url.port() {
                Some(port) => format!("{}://{host}:{port}/***", url.scheme()),
                None => format!("{}://{host}/***", url.scheme()),
            }
        }
        Err(_) => "***".into(),
    }
}

/// A DNS resolver that keeps only the addresses a webhook may connect to, so the check and
/// the connection use the same answer.
#[derive(Debug)]
pub struct GuardedResolver {
    allow: Networks,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(guarded_lookup(
            name.as_str().to_string(),
            self.allow.clone(),
        ))
    }
}

async fn guarded_lookup(
    host: String,
    allow: Networks,
) -> Result<Addrs, Box<dyn std::error::Error + Send + Sync>> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
        .await?
        .filter(|a| allowed(a.ip(), &allow))
        .collect();
    if addrs.is_empty() {
        return Err(format!(
            "webhook host {host} resolves to no address outside the internal networks"
        )
        .into());
    }
    Ok(Box::new(addrs.into_iter()))
}

/// Delivers fired alerts to webhooks: guarded, bounded, retried.
#[derive(Clone)]
pub struct Webhooks {
    http: reqwest::Client,
    allow: Networks,
    /// Deliveries in flight.
    slots: Arc<Semaphore>,
    /// Deliveries in flight or waiting for a slot.
    admitted: Arc<Semaphore>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("allow", &self.allow)
            .field("free_slots", &self.slots.available_permits())
            .finish()
    }
}

impl Webhooks {
    /// Deliveries to public addresses and to `allow`, at most `max_concurrent` at once.
    pub fn new(allow: Networks, max_concurrent: usize) -> Self {
        let max_concurrent = max_concurrent.max(1);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                allow: allow.clone(),
            }))
            .build()
            .expect("a reqwest client with rustls and a resolver builds");
        Webhooks {
            http,
            allow,
            slots: Arc::new(Semaphore::new(max_concurrent)),
            admitted: Arc::new(Semaphore::new(max_concurrent * (1 + QUEUED_PER_SLOT))),
        }
    }

    /// Starts delivering `body` to `url` in the background; false (and a warning) when the
    /// queue is full or the URL is not (or no longer) allowed.
    pub fn deliver(&self, url: &str, rule_id: &str, body: String) -> bool {
        let url = match check_url(url, &self.allow) {
            Ok(url) => url,
            Err(reason) => {
                tracing::warn!(rule = %rule_id, reason, "alert webhook refused");
                return false;
            }
        };
        let Ok(admitted) = self.admitted.clone().try_acquire_owned() else {
            tracing::warn!(rule = %rule_id, "alert webhook queue full; delivery dropped");
            return false;
        };
        let (http, slots, rule_id) = (self.http.clone(), self.slots.clone(), rule_id.to_string());
        tokio::spawn(async move {
            let _admitted = admitted;
            let Ok(_slot) = slots.acquire_owned().await else {
                return;
            };
            send(&http, url, &rule_id, body).await;
        });
        true
    }
}

/// Why one webhook attempt did not deliver.
enum Undelivered {
    /// Worth another try: a refusal (non-2xx, non-3xx) or a failed request.
    Retry,
    /// A redirect: not followed (see the module docs), and asking again will not change it.
    Final,
}

/// POSTs a fired alert, retrying with backoff. The URL is never logged (it may hold a token).
async fn send(http: &reqwest::Client, url: Url, rule_id: &str, body: String) {
    let mut attempt = 0u32;
    let policy = ExponentialBuilder::new()
        .with_min_delay(Duration::from_secs(1))
        .with_max_times(WEBHOOK_ATTEMPTS as usize - 1);
    let result = (|| {
        attempt += 1;
        let attempt = attempt;
        let request = http
            .post(url.clone())
            .header("content-type", "application/json")
            .body(body.clone());
        async move {
            match request.send().await {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) if r.status().is_redirection() => {
                    tracing::warn!(rule = %rule_id, status = %r.status(), "alert webhook redirected; redirects are not followed");
                    Err(Undelivered::Final)
                }
                Ok(r) => {
                    tracing::warn!(rule = %rule_id, attempt, status = %r.status(), "alert webhook refused");
                    Err(Undelivered::Retry)
                }
                Err(e) => {
                    tracing::warn!(rule = %rule_id, attempt, error = %e.without_url(), "alert webhook failed");
                    Err(Undelivered::Retry)
                }
            }
        }
    })
    .retry(policy)
    .when(|e| matches!(e, Undelivered::Retry))
    .await;
    if let Err(Undelivered::Retry) = result {
        tracing::error!(rule = %rule_id, "alert webhook gave up after {WEBHOOK_ATTEMPTS} attempts");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn nets(entries: &[&str]) -> Networks {
        Networks::parse(entries).unwrap()
    }

    #[test]
    fn internal_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls_are_checked_and_masked() {
        let none = Networks::default();
        assert!(check_url("https://hooks.slack.com/services/T0/B0/secret", &none).is_ok());
        assert!(check_url("http://example.com/hook", &none).is_ok());
        for bad in [
            "ftp://example.com/x",
            "https://",
            "http:// example.com",
            "http://127.0.0.1:8080/hook",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/",
            "http://[::ffff:7f00:1]/",
            "http://localhost:9000/",
            "http://api.localhost/",
            "http://2130706433/",
            "http://0x7f.1/",
        ] {
            assert!(check_url(bad, &none).is_err(), "{bad}");
        }
        let loopback = nets(&["127.0.0.1/32"]);
        assert!(check_url("http://127.0.0.1:8080/hook", &loopback).is_ok());
        assert!(check_url("http://localhost:8080/hook", &loopback).is_ok());
        assert!(check_url("http://10.0.0.1/hook", &loopback).is_err());
        assert_eq!(
            mask("https://user:pw@hooks.slack.com/services/T0/B0/secret?x=1"),
            "https://hooks.slack.com/***"
        );
        assert_eq!(mask("http://10.0.0.1:8080/x"), "http://10.0.0.1:8080/***");
        assert_eq!(mask("not a url"), "***");
    }

    #[tokio::test]
    async fn the_resolver_drops_internal_addresses() {
        let strict = GuardedResolver {
            allow: Networks::default(),
        };
        let name: Name = "localhost".parse().unwrap();
        assert!(strict.resolve(name).await.is_err());
        let loopback = GuardedResolver {
            allow: nets(&["127.0.0.0/8"]),
        };
        let addrs: Vec<SocketAddr> = loopback
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(!addrs.is_empty());
        assert!(
            addrs
                .iter()
                .all(|a| a.ip().is_ipv4() && a.ip().is_loopback())
        );
    }

    /// A local endpoint: `/hook` answers `status` after `delay`, `/internal` counts its hits.
    struct Endpoint {
        base: String,
        hook_hits: Arc<AtomicUsize>,
        internal_hits: Arc<AtomicUsize>,
        most_in_flight: Arc<AtomicUsize>,
    }

    async fn endpoint(redirect: bool, delay: Duration) -> Endpoint {
        use axum::http::{StatusCode, header};
        use axum::response::IntoResponse;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (hook_hits, internal_hits, in_flight, most_in_flight) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        let target = format!("{base}/internal");
        let hook = {
            let (hits, in_flight, most) =
                (hook_hits.clone(), in_flight.clone(), most_in_flight.clone());
            move || {
                let (hits, in_flight, most, target) = (
                    hits.clone(),
                    in_flight.clone(),
                    most.clone(),
                    target.clone(),
                );
                async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    hits.fetch_add(1, Ordering::SeqCst);
                    if redirect {
                        (StatusCode::FOUND, [(header::LOCATION, target)]).into_response()
                    } else {
                        StatusCode::OK.into_response()
                    }
                }
            }
        };
        let internal = {
            let hits = internal_hits.clone();
            move || {
                let hits = hits.clone();
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    StatusCode::OK
                }
            }
        };
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .route("/internal", axum::routing::any(internal));
        tokio::spawn(async move { axum::serve(listener, router).await });
        Endpoint {
            base,
            hook_hits,
            internal_hits,
            most_in_flight,
        }
    }

    async fn wait_for(what: impl Fn() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !what() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_never_connected_to() {
        let e = endpoint(false, Duration::ZERO).await;
        let port = e.base.rsplit(':').next().unwrap();
        // Past the creation checks (as if the name had resolved elsewhere then): the
        // delivery's own resolver still refuses to connect.
        let hooks = Webhooks::new(Networks::default(), 4);
        let url = Url::parse(&format!("http://localhost:{port}/hook")).unwrap();
        send(&hooks.http, url.clone(), "r1", "{}".into()).await;
        assert_eq!(e.hook_hits.load(Ordering::SeqCst), 0);
        // Allowed, the same delivery goes through.
        let allowed = Webhooks::new(nets(&["127.0.0.1"]), 4);
        send(&allowed.http, url, "r1", "{}".into()).await;
        assert_eq!(e.hook_hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let e = endpoint(true, Duration::ZERO).await;
        let hooks = Webhooks::new(nets(&["127.0.0.1"]), 4);
        assert!(hooks.deliver(&format!("{}/hook", e.base), "r1", "{}".into()));
        wait_for(|| e.hook_hits.load(Ordering::SeqCst) >= 1).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            e.hook_hits.load(Ordering::SeqCst),
            1,
            "one attempt, not retried"
        );
        assert_eq!(e.internal_hits.load(Ordering::SeqCst), 0);
        // An internal IP literal is refused before any connection.
        let strict = Webhooks::new(Networks::default(), 4);
        assert!(!strict.deliver(&format!("{}/hook", e.base), "r1", "{}".into()));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deliveries_in_flight_are_capped() {
        let e = endpoint(false, Duration::from_millis(200)).await;
        let hooks = Webhooks::new(nets(&["127.0.0.1"]), 2);
        for i in 0..8 {
            assert!(hooks.deliver(&format!("{}/hook", e.base), &format!("r{i}"), "{}".into()));
        }
        wait_for(|| e.hook_hits.load(Ordering::SeqCst) == 8).await;
        assert_eq!(
            e.hook_hits.load(Ordering::SeqCst),
            8,
            "every delivery arrives"
        );
        assert_eq!(e.most_in_flight.load(Ordering::SeqCst), 2);
    }
}
