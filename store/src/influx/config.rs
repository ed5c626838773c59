//! Configuration of the InfluxDB store (`[store.influxdb]`).

use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};

/// Which write API to use. Reads always use the v1 `/query` endpoint (InfluxQL), which
/// InfluxDB 1.x serves natively and 2.x/3.x serve through a DBRP mapping of `database`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(tag = "version", rename_all = "lowercase", deny_unknown_fields)]
pub enum InfluxApi {
    /// `POST /write?db=&precision=ns`: InfluxDB 1.x, and 2.x/3.x with a DBRP mapping.
    #[default]
    V1,
    /// `POST /api/v2/write?org=&bucket=&precision=ns` with `Authorization: Token …`.
    V2 {
        /// Organization name or id.
        org: String,
        /// Bucket written to.
        bucket: String,
    },
}

/// Retry policy of writes: exponential back-off from `initial_backoff`, doubling up to
/// `max_backoff`, until `max_elapsed` has passed; then the write fails with a *retryable*
/// error so the consumer keeps its data and offsets.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// First wait. Default `100ms`.
    #[serde(with = "humantime_serde")]
    pub initial_backoff: Duration,
    /// Longest wait between attempts (also caps `Retry-After`). Default `10s`.
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// Give up (retryably) once this much time has passed since the first attempt.
    /// Default `60s`.
    #[serde(with = "humantime_serde")]
    pub max_elapsed: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            max_elapsed: Duration::from_secs(60),
        }
    }
}

/// Configuration of [`InfluxStore`](super::InfluxStore); every field has a default that
/// works against a local InfluxDB 1.x. Its `Debug` shows neither the password, the token nor
/// a password in the URL.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InfluxConfig {
    /// Base URL, e.g. `http://127.0.0.1:8086`. Default that.
    pub url: String,
    /// Database read with InfluxQL (and written with the v1 API). Default `cryptoviz`.
    pub database: String,
    /// Basic-auth user (v1). Default none.
    pub username: Option<String>,
    /// Basic-auth password (v1). Default none.
    pub password: Option<String>,
    /// API token sent as `Authorization: Token …` (required by the v2 API; also accepted
    /// by the v1 API of InfluxDB 2.x/3.x). Default none.
    pub token: Option<String>,
    /// Write API: `{ version = "v1" }` (default) or `{ version = "v2", org, bucket }`.
    pub api: InfluxApi,
    /// Points per write request. Default 5,000.
    pub batch_points: usize,
    /// Write requests of one `write` in flight at once. Default 2.
    pub write_concurrency: usize,
    /// Gzip request bodies (`Content-Encoding: gzip`): `true`, `false`, or unset (the
    /// default) for gzip unless the server is on this machine (a loopback URL: `localhost`,
    /// `127.0.0.0/8`, `[::1]`), where compressing only costs both sides CPU.
    pub gzip: Option<bool>,
    /// Timeout of one HTTP request. Default `10s`.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Retry policy of writes.
    pub retry: RetryConfig,
    /// Run `CREATE DATABASE` (idempotent) before the first write (v1 API only). Default true.
    pub create_database: bool,
}

impl std::fmt::Debug for InfluxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let InfluxConfig {
            url,
            database,
            username,
            password,
            token,
            api,
            batch_points,
            write_concurrency,
            gzip,
            timeout,
            retry,
            create_database,
        } = self;
        f.debug_struct("InfluxConfig")
            .field("url", &redact_url(url))
            .field("database", database)
            .field("username", username)
            .field("password", &password.as_ref().map(|_| Redacted))
            .field("token", &token.as_ref().map(|_| Redacted))
            .field("api", api)
            .field("batch_points", batch_points)
            .field("write_concurrency", write_concurrency)
            .field("gzip", gzip)
            .field("timeout", timeout)
            .field("retry", retry)
            .field("create_database", create_database)
            .finish()
    }
}

/// Stands for a secret in `Debug` output.
struct Redacted;

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `url` with the password of its user info (`http://user:password@host`) replaced, for
/// logs and messages.
pub(crate) fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        // No scheme: anything before an `@` may be user info.
        return match url.rfind('@') {
            Some(at) => format!("<redacted>@{}", &url[at + 1..]),
            None => url.to_owned(),
        };
    };
    let rest = &url[scheme_end + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    match authority.rfind('@') {
        Some(at) if authority[..at].contains(':') => {
            let user = &authority[..authority.find(':').unwrap_or(0)];
            format!(
                "{}://{user}:<redacted>@{}",
                &url[..scheme_end],
                &rest[at + 1..]
            )
        }
        _ => url.to_owned(),
    }
}

impl Default for InfluxConfig {
    fn default() -> Self {
        InfluxConfig {
            url: "http://127.0.0.1:8086".into(),
            database: "cryptoviz".into(),
            username: None,
            password: None,
            token: None,
            api: InfluxApi::V1,
            batch_points: 5_000,
            write_concurrency: 2,
            gzip: None,
            timeout: Duration::from_secs(10),
            retry: RetryConfig::default(),
            create_database: true,
        }
    }
}

impl InfluxConfig {
    /// Defaults with the given URL and database.
    pub fn new(url: impl Into<String>, database: impl Into<String>) -> Self {
        InfluxConfig {
            url: url.into(),
            database: database.into(),
            ..Default::default()
        }
    }

    /// The URL with the password of its user info replaced, for logs and messages.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }

    /// Whether write bodies are gzipped: `gzip`, or when unset, whether `url` is not loopback.
    pub fn gzip_bodies(&self) -> bool {
        self.gzip.unwrap_or_else(|| !is_loopback_url(&self.url))
    }

    /// Checks the values; the error names the bad key.
    pub fn validate(&self) -> Result<()> {
        let bad = |key, reason: &str| {
            Err(Error::Config {
                key,
                reason: reason.to_owned(),
            })
        };
        let url = self.url.trim();
        let shown = redact_url(url);
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return bad(
                "store.influxdb.url",
                &format!("`{shown}` must start with http:// or https://"),
            );
        }
        if reqwest::Url::parse(url).is_err() {
            return bad(
                "store.influxdb.url",
                &format!("`{shown}` is not a valid URL"),
            );
        }
        if self.database.is_empty() {
            return bad("store.influxdb.database", "must not be empty");
        }
        if self.password.is_some() && self.username.is_none() {
            return bad(
                "store.influxdb.username",
                "is required when a password is set",
            );
        }
        if let InfluxApi::V2 { org, bucket } = &self.api {
            if org.is_empty() {
                return bad("store.influxdb.api.org", "must not be empty");
            }
            if bucket.is_empty() {
                return bad("store.influxdb.api.bucket", "must not be empty");
            }
            if self.token.is_none() {
                return bad("store.influxdb.token", "is required by the v2 write API");
            }
        }
        if self.write_concurrency == 0 {
            return bad("store.influxdb.write_concurrency", "must be positive");
        }
        if self.batch_points == 0 {
            return bad("store.influxdb.batch_points", "must be positive");
        }
        if self.timeout.is_zero() {
            return bad("store.influxdb.timeout", "must be positive");
        }
        if self.retry.initial_backoff.is_zero() {
            return bad("store.influxdb.retry.initial_backoff", "must be positive");
        }
        if self.retry.max_backoff < self.retry.initial_backoff {
            return bad(
                "store.influxdb.retry.max_backoff",
                "must be at least retry.initial_backoff",
            );
        }
        Ok(())
    }
}

/// Whether the host of `url` is this machine: `localhost` or a loopback address.
fn is_loopback_url(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url.trim()) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn influx_gzip_by_default_only_for_a_server_elsewhere() {
        let gz = |url: &str, gzip: Option<bool>| {
            let mut c = InfluxConfig::new(url, "db");
            c.gzip = gzip;
            c.gzip_bodies()
        };
        for local in [
            "http://127.0.0.1:8086",
            "http://127.3.4.5:8086/",
            "http://localhost:8086",
            "http://LOCALHOST",
            "http://[::1]:8086",
        ] {
            assert!(!gz(local, None), "{local}");
            assert!(gz(local, Some(true)), "{local}");
        }
        for remote in [
            "http://influxdb:8086",
            "https://eu-central-1-1.aws.cloud2.influxdata.com",
            "http://10.0.0.7:8086",
            "http://[2001:db8::1]:8086",
        ] {
            assert!(gz(remote, None), "{remote}");
            assert!(!gz(remote, Some(false)), "{remote}");
        }
    }

    #[test]
    fn influx_config_debug_and_errors_show_no_secret() {
        let c = InfluxConfig {
            url: "https://admin:url-pass-4711@influx.example:8086/".into(),
            username: Some("admin".into()),
            password: Some("basic-pass-4711".into()),
            token: Some("token-4711".into()),
            ..Default::default()
        };
        let shown = format!("{c:?} {c:#?}");
        for secret in ["url-pass-4711", "basic-pass-4711", "token-4711"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        // What is not secret still helps: the user, the host, that a token is set.
        for visible in ["admin", "influx.example:8086", "token: Some(<redacted>)"] {
            assert!(shown.contains(visible), "{visible} missing from {shown}");
        }
        for url in [
            "admin:url-pass-4711@influx.example:8086",
            "http://admin:url-pass-4711@/",
        ] {
            let err = InfluxConfig {
                url: url.into(),
                ..Default::default()
            }
            .validate()
            .unwrap_err()
            .to_string();
            assert!(!err.contains("url-pass-4711"), "{err}");
        }
        assert_eq!(redact_url("http://h:8086/x@y"), "http://h:8086/x@y");
        assert_eq!(redact_url("http://u@h"), "http://u@h");
    }

    #[test]
    fn influx_config_defaults_v2_and_validation_names_the_key() {
        let c: InfluxConfig = serde_json::from_str(
            r#"{"url": "http://h:8086", "token": "t",
                "api": {"version": "v2", "org": "o", "bucket": "b"},
                "retry": {"max_backoff": "2s"}}"#,
        )
        .unwrap();
        assert_eq!(
            c.api,
            InfluxApi::V2 {
                org: "o".into(),
                bucket: "b".into()
            }
        );
        assert_eq!(c.batch_points, 5_000);
        assert_eq!(c.retry.max_backoff, Duration::from_secs(2));
        c.validate().unwrap();
        assert!(serde_json::from_str::<InfluxConfig>(r#"{"urll": "x"}"#).is_err());
        let err = InfluxConfig {
            url: "localhost:8086".into(),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(err.to_string().contains("store.influxdb.url"), "{err}");
        let err = InfluxConfig { token: None, ..c }.validate().unwrap_err();
        assert!(err.to_string().contains("store.influxdb.token"), "{err}");
    }
}
