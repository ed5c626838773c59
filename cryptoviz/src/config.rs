//! Configuration: defaults that work out of the box, an optional TOML file, then
//! `CRYPTOVIZ__SECTION__KEY` environment variables, then command-line flags.
//!
//! Every section rejects unknown keys, and every value is validated before anything starts,
//! with an error that names the key (`simulator.speed: must be …`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use cryptoviz_consumers::ConsumerConfig;
use cryptoviz_log::FsyncPolicy;
use cryptoviz_producers::SourcesConfig;
use cryptoviz_producers::sources::simulated::SimConfig;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

/// The whole configuration of the `cryptoviz` binary.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Config {
    /// Where the embedded log and store keep their files.
    pub data_dir: DataDir,
    /// The HTTP API.
    pub api: ApiConfig,
    /// The embedded log.
    pub log: LogConfig,
    /// The embedded store.
    pub store: StoreConfig,
    /// The real producers (CoinGecko, CoinMarketCap, Fear & Greed, news feeds).
    pub sources: SourcesConfig,
    /// The simulated market.
    pub simulator: SimConfig,
    /// The consumers.
    pub consumer: ConsumerConfig,
}

/// The data directory (default `./data`, in the working directory).
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub(crate) struct DataDir(pub PathBuf);

impl Default for DataDir {
    fn default() -> Self {
        Self(PathBuf::from("data"))
    }
}

/// `[api]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ApiConfig {
    /// Address the API listens on.
    pub listen: SocketAddr,
    /// Keys accepted in `x-api-key` by the protected endpoints (alert writes, `/sql`); a list,
    /// or one comma-separated string (`CRYPTOVIZ__API__KEYS=k1,k2`). None: those endpoints
    /// refuse every request.
    pub keys: Secrets,
    /// Origins that get CORS headers (`https://dash.example.com`); none by default.
    #[serde(deserialize_with = "string_or_list")]
    pub cors_origins: Vec<String>,
    /// Sustained requests per second per client IP (0 turns the limit off).
    pub rate_limit_per_second: f64,
    /// Requests a client may make at once above the sustained rate.
    pub rate_limit_burst: u32,
    /// Longest a request may take (the live stream is exempt).
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// Longest a `/sql` query may run.
    #[serde(with = "humantime_serde")]
    pub sql_timeout: Duration,
    /// Most rows a `/sql` answer holds.
    pub sql_max_rows: usize,
    /// Bytes the operators of all running `/sql` queries may hold at once (sorts, joins,
    /// aggregates); a query past it gets a 400 naming this key.
    pub sql_memory_limit_bytes: usize,
    /// `/sql` queries running at once; one more gets a 429.
    pub sql_max_concurrent: usize,
    /// Most rows one `/sql` scan may read from InfluxDB (which has no SQL here, so
    /// DataFusion reads the rows it needs): bound `time` to read fewer.
    pub sql_max_scan_rows: usize,
    /// The built viewer served at `/` (`web/out`, relative to the working directory).
    pub web_dir: PathBuf,
    /// Proxies (IP addresses or CIDR networks) whose `X-Forwarded-For` names the client for
    /// the rate limit and the stream's per-client cap; none by default (the header is ignored).
    #[serde(deserialize_with = "string_or_list")]
    pub trusted_proxies: Vec<String>,
    /// Internal networks (loopback, private, link-local, ...) alert webhooks may reach anyway;
    /// none by default.
    #[serde(deserialize_with = "string_or_list")]
    pub webhook_allowed_networks: Vec<String>,
    /// Alert webhook deliveries in flight at once.
    pub webhook_max_concurrent: usize,
    /// Live stream clients at once.
    pub stream_max_clients: usize,
    /// Live stream clients at once from one client address.
    pub stream_max_clients_per_ip: usize,
    /// A connection must send a whole request head within this time, and is closed when idle
    /// this long between requests.
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        let d = cryptoviz_api::ApiSettings::default();
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            keys: Secrets::default(),
            cors_origins: Vec::new(),
            rate_limit_per_second: d.rate_limit_per_second,
            rate_limit_burst: d.rate_limit_burst,
            request_timeout: d.request_timeout,
            body_limit_bytes: d.body_limit_bytes,
            sql_timeout: d.sql_timeout,
            sql_max_rows: d.sql_max_rows,
            sql_memory_limit_bytes: d.sql_memory_limit_bytes,
            sql_max_concurrent: d.sql_max_concurrent,
            sql_max_scan_rows: d.sql_max_scan_rows,
            web_dir: PathBuf::from("web/out"),
            trusted_proxies: Vec::new(),
            webhook_allowed_networks: Vec::new(),
            webhook_max_concurrent: d.webhook_max_concurrent,
            stream_max_clients: d.stream_max_clients,
            stream_max_clients_per_ip: d.stream_max_clients_per_ip,
            header_read_timeout: d.header_read_timeout,
        }
    }
}

impl ApiConfig {
    fn validate(&self) -> anyhow::Result<()> {
        for key in &self.keys.0 {
            if key.len() < 8 || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
                bail!("api.keys: every key must be at least 8 characters without spaces");
            }
        }
        for origin in &self.cors_origins {
            let ok = (origin.starts_with("http://") || origin.starts_with("https://"))
                && !origin
                    .trim_end_matches('/')
                    .split("//")
                    .nth(1)
                    .unwrap_or("")
                    .contains('/')
                && axum::http::HeaderValue::from_str(origin).is_ok();
            if !ok {
                bail!("api.cors_origins: `{origin}` is not an origin like https://example.com");
            }
        }
        if !self.rate_limit_per_second.is_finite() || self.rate_limit_per_second < 0.0 {
            bail!("api.rate_limit_per_second: must be 0 (off) or a positive number");
        }
        if self.rate_limit_burst == 0 {
            bail!("api.rate_limit_burst: must be at least 1");
        }
        if self.request_timeout.is_zero() {
            bail!("api.request_timeout: must be above 0");
        }
        if self.sql_timeout.is_zero() {
            bail!("api.sql_timeout: must be above 0");
        }
        if !(1..=1_000_000).contains(&self.sql_max_rows) {
            bail!("api.sql_max_rows: must be from 1 to 1000000");
        }
        if self.sql_memory_limit_bytes < 1 << 20 {
            bail!("api.sql_memory_limit_bytes: must be at least 1048576 (1 MiB)");
        }
        if !(1..=256).contains(&self.sql_max_concurrent) {
            bail!("api.sql_max_concurrent: must be from 1 to 256");
        }
        if self.sql_max_scan_rows == 0 {
            bail!("api.sql_max_scan_rows: must be at least 1");
        }
        if !(1024..=16 << 20).contains(&self.body_limit_bytes) {
            bail!("api.body_limit_bytes: must be from 1024 to 16777216");
        }
        if let Err(e) = cryptoviz_api::settings::Networks::parse(&self.trusted_proxies) {
            bail!("api.trusted_proxies: {e}");
        }
        if let Err(e) = cryptoviz_api::settings::Networks::parse(&self.webhook_allowed_networks) {
            bail!("api.webhook_allowed_networks: {e}");
        }
        if !(1..=1024).contains(&self.webhook_max_concurrent) {
            bail!("api.webhook_max_concurrent: must be from 1 to 1024");
        }
        if self.stream_max_clients == 0 {
            bail!("api.stream_max_clients: must be at least 1");
        }
        if !(1..=self.stream_max_clients).contains(&self.stream_max_clients_per_ip) {
            bail!("api.stream_max_clients_per_ip: must be from 1 to api.stream_max_clients");
        }
        if self.header_read_timeout.is_zero() {
            bail!("api.header_read_timeout: must be above 0");
        }
        Ok(())
    }

    /// The API's settings; alert rules are kept under `data_dir/api/`.
    pub(crate) fn settings(&self, data_dir: &Path) -> cryptoviz_api::ApiSettings {
        cryptoviz_api::ApiSettings {
            keys: self.keys.0.iter().map(cryptoviz_api::ApiKey::new).collect(),
            cors_origins: self.cors_origins.clone(),
            rate_limit_per_second: self.rate_limit_per_second,
            rate_limit_burst: self.rate_limit_burst,
            request_timeout: self.request_timeout,
            body_limit_bytes: self.body_limit_bytes,
            sql_timeout: self.sql_timeout,
            sql_max_rows: self.sql_max_rows,
            sql_memory_limit_bytes: self.sql_memory_limit_bytes,
            sql_max_concurrent: self.sql_max_concurrent,
            sql_max_scan_rows: self.sql_max_scan_rows,
            web_dir: Some(self.web_dir.clone()),
            alerts_file: Some(data_dir.join("api").join("alerts.json")),
            // Both lists were checked by `validate`.
            trusted_proxies: cryptoviz_api::settings::Networks::parse(&self.trusted_proxies)
                .unwrap_or_default(),
            webhook_allowed_networks: cryptoviz_api::settings::Networks::parse(
                &self.webhook_allowed_networks,
            )
            .unwrap_or_default(),
            webhook_max_concurrent: self.webhook_max_concurrent,
            stream_max_clients: self.stream_max_clients,
            stream_max_clients_per_ip: self.stream_max_clients_per_ip,
            header_read_timeout: self.header_read_timeout,
            ..cryptoviz_api::ApiSettings::default()
        }
    }
}

/// Secret strings (API keys): `Debug` never shows them.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub(crate) struct Secrets(#[serde(deserialize_with = "string_or_list")] pub Vec<String>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{} redacted]", self.0.len())
    }
}

/// A list, or one comma-separated string (what an environment variable gives).
fn string_or_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Either::deserialize(d)? {
        Either::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Either::Many(v) => v,
    })
}

/// Which log backend the stages use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogBackend {
    /// The embedded log under `data_dir` (one process owns it).
    #[default]
    Embedded,
    /// A Kafka cluster (`[log.kafka]`).
    Kafka,
}

impl LogBackend {
    /// The config value naming it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LogBackend::Embedded => "embedded",
            LogBackend::Kafka => "kafka",
        }
    }
}

/// Which store backend the stages use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StoreBackend {
    /// Parquet files under `data_dir`, queried with DataFusion.
    #[default]
    Embedded,
    /// An InfluxDB server through its v1 (or v2 write) HTTP API (`[store.influxdb]`).
    Influxdb,
}

impl StoreBackend {
    /// The config value naming it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StoreBackend::Embedded => "embedded",
            StoreBackend::Influxdb => "influxdb",
        }
    }
}

/// `[log]`: the log backend and the embedded log's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct LogConfig {
    /// `embedded` (default) or `kafka`.
    pub backend: LogBackend,
    /// The Kafka backend (`[log.kafka]`), used when `backend = "kafka"`.
    pub kafka: cryptoviz_log::KafkaConfig,
    /// Partitions of each topic created by cryptoviz.
    pub partitions: u32,
    /// Size at which a segment file is closed and a new one started.
    pub segment_bytes: u64,
    /// Segments whose newest record is older than this are deleted.
    #[serde(with = "humantime_serde")]
    pub retention: Option<Duration>,
    /// Each partition keeps at most this many bytes (oldest segments deleted first).
    pub retention_bytes: Option<u64>,
    /// When appends are fsynced (see the log crate's documentation).
    pub fsync: FsyncPolicy,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            backend: LogBackend::default(),
            kafka: cryptoviz_log::KafkaConfig::default(),
            partitions: 3,
            segment_bytes: 64 << 20,
            retention: Some(Duration::from_secs(7 * 86_400)),
            retention_bytes: None,
            fsync: FsyncPolicy::default(),
        }
    }
}

/// `[store]`: the embedded store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct StoreConfig {
    /// `embedded` (default) or `influxdb`.
    pub backend: StoreBackend,
    /// The InfluxDB backend (`[store.influxdb]`), used when `backend = "influxdb"`.
    pub influxdb: cryptoviz_store::InfluxConfig,
    /// Files of one measurement that trigger a background compaction (embedded).
    pub compaction_trigger_files: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            backend: StoreBackend::default(),
            influxdb: cryptoviz_store::InfluxConfig::default(),
            compaction_trigger_files: 16,
        }
    }
}

impl Config {
    /// Directory of the embedded log.
    pub(crate) fn log_dir(&self) -> PathBuf {
        self.data_dir.0.join("log")
    }

    /// Directory of the embedded store.
    pub(crate) fn store_dir(&self) -> PathBuf {
        self.data_dir.0.join("store")
    }

    /// Checks every value; the error names the key.
    pub(crate) fn validate(&self) -> anyhow::Result<()> {
        if self.log.partitions == 0 || self.log.partitions > 1024 {
            bail!(
                "log.partitions: must be from 1 to 1024, got {}",
                self.log.partitions
            );
        }
        if self.log.segment_bytes < 4096 {
            bail!("log.segment_bytes: must be at least 4096");
        }
        if self.store.compaction_trigger_files < 2 {
            bail!("store.compaction_trigger_files: must be at least 2");
        }
        if self.data_dir.0.as_os_str().is_empty() {
            bail!("data_dir: must not be empty");
        }
        if self.log.backend == LogBackend::Kafka {
            self.log.kafka.validate()?;
        }
        if self.store.backend == StoreBackend::Influxdb {
            self.store.influxdb.validate()?;
        }
        self.api.validate()?;
        self.sources.validate()?;
        self.simulator.validate()?;
        self.consumer.validate()?;
        Ok(())
    }
}

/// Loads the configuration: defaults, then `file` (which must exist when given), then the
/// environment; `data_dir` from the command line wins over both.
pub(crate) fn load(file: Option<&Path>, data_dir: Option<PathBuf>) -> anyhow::Result<Config> {
    let mut figment = Figment::new();
    if let Some(file) = file {
        if !file.is_file() {
            bail!("config file {} does not exist", file.display());
        }
        figment = figment.merge(Toml::file(file));
    }
    figment = figment.merge(Env::prefixed("CRYPTOVIZ__").split("__"));
    let mut config: Config = figment
        .extract()
        .map_err(|e| anyhow::anyhow!(describe(e)))
        .context("invalid configuration")?;
    if let Some(dir) = data_dir {
        config.data_dir = DataDir(dir);
    }
    // Agent state lives with the rest of the data unless placed elsewhere on purpose.
    if figment.find_value("sources.state_dir").is_err() {
        config.sources.state_dir = config.data_dir.0.join("producers");
    }
    config.sources.apply_env();
    config.validate().context("invalid configuration")?;
    Ok(config)
}

/// Figment's errors, one per line, each naming its key and where the value came from.
fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let origin = e
                .metadata
                .as_ref()
                .map(|m| format!(" (from {})", m.name))
                .unwrap_or_default();
            if key.is_empty() {
                format!("{}{origin}", e.kind)
            } else {
                format!("{key}: {}{origin}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_toml(toml: &str) -> anyhow::Result<Config> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("c.toml");
        std::fs::write(&path, toml)?;
        load(Some(&path), None)
    }

    #[test]
    fn defaults_work_without_a_file() {
        let config = load(None, None).expect("defaults are valid");
        assert_eq!(config.api.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.simulator.coins.len(), 20);
        assert_eq!(config.log.partitions, 3);
    }

    #[test]
    fn a_file_overrides_defaults() {
        let config =
            load_toml("[simulator]\nspeed = 60\nseed = 7\n[consumer]\nallowed_lateness = \"2s\"\n")
                .unwrap();
        assert_eq!(config.simulator.speed, 60.0);
        assert_eq!(config.simulator.seed, 7);
        assert_eq!(config.consumer.allowed_lateness, Duration::from_secs(2));
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let err = format!(
            "{:#}",
            load_toml("[simulator]\nspeed = \"fast\"\n").unwrap_err()
        );
        assert!(err.contains("simulator.speed"), "{err}");
        let err = format!("{:#}", load_toml("[simulator]\nspeed = -1\n").unwrap_err());
        assert!(err.contains("simulator.speed"), "{err}");
        let err = format!(
            "{:#}",
            load_toml("[consumer]\nallowed_lateness = \"soon\"\n").unwrap_err()
        );
        assert!(err.contains("consumer.allowed_lateness"), "{err}");
        let config =
            load_toml("[consumer.anomalies]\nbaseline = \"30m\"\nz_threshold = 4\n").unwrap();
        assert_eq!(config.consumer.anomalies.baseline_candles(), 30);
        for (toml, key) in [
            ("z_threshold = -1", "consumer.anomalies.z_threshold"),
            ("baseline = \"90s\"", "consumer.anomalies.baseline"),
            ("min_baseline = 1", "consumer.anomalies.min_baseline"),
            ("divergence_pct = 0", "consumer.anomalies.divergence_pct"),
        ] {
            let err = format!(
                "{:#}",
                load_toml(&format!("[consumer.anomalies]\n{toml}\n")).unwrap_err()
            );
            assert!(err.contains(key), "{toml}: {err}");
        }
    }

    #[test]
    fn sources_are_configurable_and_checked() {
        let config = load_toml(
            "[sources.coingecko]\nbase_url = \"http://127.0.0.1:9\"\ninterval = \"15s\"\n",
        )
        .unwrap();
        assert_eq!(
            config.sources.coingecko.effective_base_url(),
            "http://127.0.0.1:9"
        );
        assert_eq!(config.sources.state_dir, PathBuf::from("data/producers"));
        let err = format!(
            "{:#}",
            load_toml("[sources.news]\ninterval = \"1s\"\n").unwrap_err()
        );
        assert!(err.contains("sources.news.interval"), "{err}");
        let err = format!(
            "{:#}",
            load_toml("[sources.feargreed]\nbakfill = 3\n").unwrap_err()
        );
        assert!(err.contains("bakfill"), "{err}");
    }

    #[test]
    fn exchange_sources_are_on_by_default_configurable_and_checked() {
        use cryptoviz_producers::sources::exchanges::Exchange;
        let config = load_toml("").unwrap();
        for exchange in Exchange::ALL {
            assert!(config.sources.exchange(exchange).enabled, "{exchange}");
        }
        assert_eq!(
            config.sources.binance.effective_ws_url(Exchange::Binance),
            "wss://stream.binance.com:9443/stream"
        );
        let config = load_toml(
            "[sources.binance]\nws_url = \"ws://127.0.0.1:9/stream\"\nrest_url = \"http://127.0.0.1:9\"\n\
             [sources.kraken]\nenabled = false\n\
             [sources.coinbase.markets]\n\"AAVE-USD\" = { coin = \"aave\" }\n",
        )
        .unwrap();
        assert_eq!(
            config.sources.binance.effective_ws_url(Exchange::Binance),
            "ws://127.0.0.1:9/stream"
        );
        assert!(!config.sources.kraken.enabled);
        assert_eq!(config.sources.coinbase.markets["AAVE-USD"].coin, "aave");
        for (toml, key) in [
            (
                "[sources.binance]\nws_url = \"http://x\"\n",
                "sources.binance.ws_url",
            ),
            (
                "[sources.coinbase]\nrest_url = \"ftp://x\"\n",
                "sources.coinbase.rest_url",
            ),
            (
                "[sources.kraken]\nstale_timeout = \"1s\"\nping_interval = \"5s\"\n",
                "sources.kraken.stale_timeout",
            ),
            (
                "[sources.kraken]\nreconnect_min = \"oops\"\n",
                "reconnect_min",
            ),
            (
                "[sources.binance.markets]\nBTCXYZ = { coin = \"bitcoin\" }\n",
                "sources.binance.markets.BTCXYZ.quote",
            ),
        ] {
            let err = format!("{:#}", load_toml(toml).unwrap_err());
            assert!(err.contains(key), "{toml}: {err}");
        }
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let err = format!("{:#}", load_toml("[simulator]\nsped = 60\n").unwrap_err());
        assert!(err.contains("sped"), "{err}");
        let err = format!("{:#}", load_toml("[apii]\nlisten = \"x\"\n").unwrap_err());
        assert!(err.contains("apii"), "{err}");
    }

    #[test]
    fn api_proxies_webhook_networks_and_connection_limits_are_checked() {
        let config = load_toml(
            "[api]\ntrusted_proxies = \"172.30.80.10, 10.0.0.0/8\"\nwebhook_allowed_networks = [\"127.0.0.1\"]\nheader_read_timeout = \"5s\"\n",
        )
        .unwrap();
        let settings = config.api.settings(Path::new("data"));
        assert!(
            settings
                .trusted_proxies
                .contains("10.1.2.3".parse().unwrap())
        );
        assert!(
            !settings
                .trusted_proxies
                .contains("172.30.80.11".parse().unwrap())
        );
        assert!(
            settings
                .webhook_allowed_networks
                .contains("127.0.0.1".parse().unwrap())
        );
        assert_eq!(settings.header_read_timeout, Duration::from_secs(5));
        for (toml, key) in [
            ("trusted_proxies = [\"nginx\"]", "api.trusted_proxies"),
            (
                "webhook_allowed_networks = [\"10.0.0.0/33\"]",
                "api.webhook_allowed_networks",
            ),
            ("webhook_max_concurrent = 0", "api.webhook_max_concurrent"),
            (
                "stream_max_clients_per_ip = 5000",
                "api.stream_max_clients_per_ip",
            ),
            ("header_read_timeout = \"0s\"", "api.header_read_timeout"),
        ] {
            let err = format!("{:#}", load_toml(&format!("[api]\n{toml}\n")).unwrap_err());
            assert!(err.contains(key), "{toml}: {err}");
        }
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let err = load(Some(Path::new("/nonexistent/cryptoviz.toml")), None).unwrap_err();
        assert!(err.to_string().contains("does not exist"));
    }
}
