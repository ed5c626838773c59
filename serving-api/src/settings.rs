//! What the API is told by its configuration: keys, CORS, rate limits and time limits.

use std::path::PathBuf;
use std::time::Duration;

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
    /// The built viewer (`web/out`) served at `/`; `None` serves a page saying how to build it.
    pub web_dir: Option<PathBuf>,
    /// Where alert rules are stored (a JSON file); `None` keeps them in memory (tests).
    pub alerts_file: Option<PathBuf>,
    /// How long `/coins` and `/global` reuse a computed snapshot.
    pub snapshot_ttl: Duration,
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
            web_dir: None,
            alerts_file: None,
            snapshot_ttl: Duration::from_millis(250),
        }
    }
}
