//! What the API is told by its configuration: keys, CORS, rate limits, time limits,
//! trusted proxies and where alert webhooks may go.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

/// An API key. Its `Debug` never shows the key, so no log line or panic can leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// Compares in time independent of where the first difference is.
    pub fn matches(&self, candidate: &[u8]) -> bool {
        let key = self.0.as_bytes();
        if key.len() != candidate.len() {
            return false;
        }
        key.iter()
            .zip(candidate)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// The API's settings; the binary maps its `[api]` configuration onto this.
#[derive(Clone, Debug)]
pub struct ApiSettings {
    /// Keys accepted in `x-api-key` for protected endpoints. Empty: they are refused (401).
    pub keys: Vec<ApiKey>,
    /// Origins allowed by CORS (`https://example.com`); empty: no CORS headers at all.
    pub cors_origins: Vec<String>,
    /// Sustained requests per second per client IP; 0 turns rate limiting off.
    pub rate_limit_per_second: f64,
    /// Requests a client may make at once above the sustained rate.
    pub rate_limit_burst: u32,
    /// A request taking longer is answered 408 (the live stream is exempt).
    pub request_timeout: Duration,
    /// Largest request body accepted.
    pub body_limit_bytes: usize,
    /// A `/sql` query running longer is stopped.
    pub sql_timeout: Duration,
    /// Most rows `/sql` returns (the answer says when it truncated).
    pub sql_max_rows: usize,
    /// Bytes the operators of all running `/sql` queries may hold (sorts, joins, aggregates);
    /// a query past it fails with a 400 instead of spilling.
    pub sql_memory_limit_bytes: usize,
    /// `/sql` queries running at once; one more is answered 429.
    pub sql_max_concurrent: usize,
    /// Most rows one `/sql` table scan may read from a backend without SQL (InfluxDB).
    pub sql_max_scan_rows: usize,
    /// The built viewer (`web/out`) served at `/`; `None` serves a page saying how to build it.
    pub web_dir: Option<PathBuf>,
    /// Where alert rules are stored (a JSON file); `None` keeps them in memory (tests).
    pub alerts_file: Option<PathBuf>,
    /// How long `/coins` and `/global` reuse a computed snapshot.
    pub snapshot_ttl: Duration,
    /// Proxies whose `X-Forwarded-For` is believed (the rate limit and the stream's per-client
    /// cap then key on the client it names). Empty: the header is ignored.
    pub trusted_proxies: Networks,
    /// Internal networks (loopback, private, link-local...) alert webhooks may still reach.
    /// Empty: a webhook resolving to any internal address is refused.
    pub webhook_allowed_networks: Networks,
    /// Most webhook deliveries in flight at once; more wait, up to a bounded queue.
    pub webhook_max_concurrent: usize,
    /// Most live stream clients at once.
    pub stream_max_clients: usize,
    /// Most live stream clients from one client address.
    pub stream_max_clients_per_ip: usize,
    /// A connection that has not sent a whole request head within this time is closed; it
    /// also bounds how long an idle keep-alive connection is kept (hyper starts the timer
    /// as soon as a connection waits for its next request).
    pub header_read_timeout: Duration,
}

/// A set of IP networks (`10.0.0.0/8`, `::1/128`, or a bare address).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Networks(Vec<IpNet>);

impl Networks {
    /// Parses each entry as a CIDR network or a single address; the error names the entry.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        entries
            .iter()
            .map(|e| {
                let e = e.as_ref().trim();
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{e}` is neither an IP address nor a CIDR network"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Networks)
    }

    /// Whether `ip` is in one of the networks (an IPv4-mapped IPv6 address counts as its
    /// IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// Whether there is no network at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            keys: Vec::new(),
            cors_origins: Vec::new(),
            rate_limit_per_second: 50.0,
            rate_limit_burst: 100,
            request_timeout: Duration::from_secs(30),
            body_limit_bytes: 64 * 1024,
            sql_timeout: Duration::from_secs(10),
            sql_max_rows: 10_000,
            sql_memory_limit_bytes: cryptoviz_store::sql::DEFAULT_MEMORY_LIMIT_BYTES,
            sql_max_concurrent: 4,
            sql_max_scan_rows: cryptoviz_store::sql::DEFAULT_MAX_SCAN_ROWS,
            web_dir: None,
            alerts_file: None,
            snapshot_ttl: Duration::from_millis(250),
            trusted_proxies: Networks::default(),
            webhook_allowed_networks: Networks::default(),
            webhook_max_concurrent: 16,
            stream_max_clients: 1_000,
            stream_max_clients_per_ip: 20,
            header_read_timeout: Duration::from_secs(10),
        }
    }
}
