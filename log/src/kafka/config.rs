//! Configuration of the Kafka backend and the librdkafka client configs built from it.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::ClientConfig;
use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};

/// librdkafka properties this backend sets itself; setting them in `properties` is rejected
/// because overriding them would break the guarantees documented in [`super`].
const OWNED_PROPERTIES: &[&str] = &[
    "bootstrap.servers",
    "metadata.broker.list",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "enable.idempotence",
    "acks",
    "request.required.acks",
    "session.timeout.ms",
    "allow.auto.create.topics",
];

/// Configuration of [`KafkaLog`](super::KafkaLog) (`log.kafka.*`). Durations are human
/// strings (`"6s"`). Its `Debug` shows the names of all properties but the values of none
/// that may be secret ([`is_sensitive`]).
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaConfig {
    /// Comma-separated `host:port` list of brokers. Default `127.0.0.1:9092`.
    pub bootstrap_servers: String,
    /// Any other librdkafka property (`security.protocol`, `sasl.mechanism`,
    /// `sasl.username`, `ssl.ca.location`, `client.id`, ...), applied to the producer, the
    /// consumers and the admin client alike. Default empty.
    pub properties: BTreeMap<String, String>,
    /// Partitions of topics auto-created by `append`. Default 3.
    pub partitions: u32,
    /// Replication factor of created topics. Default 1 (a single dev broker); use 3 in
    /// production.
    pub replication_factor: i16,
    /// Consumer-group session timeout: how long a silent member keeps its partitions.
    /// Default 10s. The broker bounds it (`group.min/max.session.timeout.ms`).
    #[serde(deserialize_with = "duration")]
    pub session_timeout: Duration,
}

impl std::fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let KafkaConfig {
            bootstrap_servers,
            properties,
            partitions,
            replication_factor,
            session_timeout,
        } = self;
        let properties: BTreeMap<&str, &str> = properties
            .iter()
            .map(|(k, v)| {
                let v = if is_sensitive(k) { "<redacted>" } else { v };
                (k.as_str(), v)
            })
            .collect();
        f.debug_struct("KafkaConfig")
            .field("bootstrap_servers", bootstrap_servers)
            .field("properties", &properties)
            .field("partitions", partitions)
            .field("replication_factor", replication_factor)
            .field("session_timeout", session_timeout)
            .finish()
    }
}

/// Whether the value of librdkafka property `key` may be a secret: every `sasl.*` property
/// (passwords, JAAS and OAUTHBEARER configs, Kerberos keytabs and principals), and any whose
/// name speaks of a password, secret, token, credential or private key (`ssl.key.password`,
/// `ssl.key.pem`, `ssl_key`, `ssl.keystore.password`, ...). librdkafka's own list of
/// sensitive properties is a subset of this one.
pub(crate) fn is_sensitive(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.starts_with("sasl.")
        || [
            "password",
            "secret",
            "token",
            "credential",
            "jaas",
            "ssl.key",
            "ssl_key",
            "keystore",
        ]
        .iter()
        .any(|word| key.contains(word))
}

/// `e` without the value of a secret property it names: librdkafka's config errors quote the
/// property and the value it refused (`Client config error: … sasl.password hunter2`).
pub(crate) fn redact_error(e: rdkafka::error::KafkaError) -> rdkafka::error::KafkaError {
    use rdkafka::error::KafkaError;
    match e {
        KafkaError::ClientConfig(res, desc, key, value) if is_sensitive(&key) => {
            let desc = if value.is_empty() {
                desc
            } else {
                desc.replace(&value, "<redacted>")
            };
            KafkaError::ClientConfig(res, desc, key, "<redacted>".to_owned())
        }
        e => e,
    }
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            bootstrap_servers: "127.0.0.1:9092".to_owned(),
            properties: BTreeMap::new(),
            partitions: 3,
            replication_factor: 1,
            session_timeout: Duration::from_secs(10),
        }
    }
}

impl KafkaConfig {
    /// A config for `bootstrap_servers` with every other field at its default.
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        Self {
            bootstrap_servers: bootstrap_servers.into(),
            ..Self::default()
        }
    }

    /// Checks the config; the error names the offending key (`log.kafka.<field>`).
    pub fn validate(&self) -> Result<()> {
        if self.bootstrap_servers.trim().is_empty() {
            return Err(config_err(
                "log.kafka.bootstrap_servers",
                "must name at least one broker (host:port)",
            ));
        }
        if self.partitions == 0 || self.partitions > i32::MAX as u32 {
            return Err(config_err("log.kafka.partitions", "must be at least 1"));
        }
        if self.replication_factor < 1 {
            return Err(config_err(
                "log.kafka.replication_factor",
                "must be at least 1",
            ));
        }
        let ms = self.session_timeout.as_millis();
        if !(1_000..=3_600_000).contains(&ms) {
            return Err(config_err(
                "log.kafka.session_timeout",
                "must be between 1s and 1h",
            ));
        }
        if let Some(key) = self
            .properties
            .keys()
            .find(|k| OWNED_PROPERTIES.contains(&k.as_str()))
        {
            return Err(config_err(
                "log.kafka.properties",
                format!("`{key}` is set by the Kafka backend itself and cannot be overridden"),
            ));
        }
        Ok(())
    }

    /// The base client config: bootstrap servers plus every user property.
    pub(crate) fn client(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_servers);
        for (k, v) in &self.properties {
            c.set(k, v);
        }
        c
    }

    /// Idempotent producer waiting for all in-sync replicas.
    pub(crate) fn producer(&self) -> ClientConfig {
        let mut c = self.client();
        c.set("enable.idempotence", "true").set("acks", "all");
        // Metadata look-ups must not make the broker create a topic with its own default
        // partition count: `append` creates missing topics itself.
        c.set("allow.auto.create.topics", "false");
        c
    }

    /// A group member that never commits or stores offsets on its own.
    pub(crate) fn consumer(&self, group: &str) -> ClientConfig {
        let mut c = self.client();
        c.set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set(
                "session.timeout.ms",
                self.session_timeout.as_millis().to_string(),
            );
        if !self.properties.contains_key("auto.offset.reset") {
            c.set("auto.offset.reset", "earliest");
        }
        // librdkafka stops prefetching once this many messages wait locally (default
        // 100,000), then pays a fetch round trip per refill: with ~150-byte ticks a deeper
        // queue (≤ ~75 MB) keeps the consumer busy. Measured with tansu: 114K → 400K ticks/s
        // read (docs/benchmarks.md).
        if !self.properties.contains_key("queued.min.messages") {
            c.set("queued.min.messages", "500000");
        }
        c
    }
}

fn config_err(key: &'static str, reason: impl Into<String>) -> Error {
    Error::Config {
        key,
        reason: reason.into(),
    }
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_keys_are_named() {
        KafkaConfig::default().validate().unwrap();
        let mut c = KafkaConfig::new(" ");
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("log.kafka.bootstrap_servers")
        );
        c = KafkaConfig::default();
        c.partitions = 0;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("log.kafka.partitions")
        );
        c = KafkaConfig::default();
        c.properties
            .insert("enable.auto.commit".into(), "true".into());
        let err = c.validate().unwrap_err();
        assert!(err.is_caller_error() && err.to_string().contains("enable.auto.commit"));
    }

    #[test]
    fn debug_shows_no_secret_property() {
        let mut c = KafkaConfig::new("k:9093");
        for (k, v) in [
            ("sasl.password", "sasl-pass-4711"),
            ("sasl.username", "sasl-user-4711"),
            ("sasl.oauthbearer.client.secret", "oauth-secret-4711"),
            ("sasl.jaas.config", "jaas-4711"),
            ("ssl.key.password", "key-pass-4711"),
            ("ssl.key.pem", "-----BEGIN PRIVATE KEY----- pem-4711"),
            ("ssl.keystore.password", "keystore-pass-4711"),
            ("security.protocol", "SASL_SSL"),
        ] {
            c.properties.insert(k.into(), v.into());
        }
        let shown = format!("{c:?} {c:#?}");
        assert!(!shown.contains("4711"), "{shown}");
        // Names stay visible, and values that are not secret.
        for visible in ["sasl.password", "ssl.key.pem", "SASL_SSL", "k:9093"] {
            assert!(shown.contains(visible), "{visible} missing from {shown}");
        }
        assert!(!is_sensitive("ssl.ca.location") && !is_sensitive("client.id"));
        // A config error of librdkafka names the property and quotes its value.
        let err = c.client().create::<rdkafka::consumer::BaseConsumer>().err();
        let shown = err.map(|e| {
            let e = redact_error(e);
            format!("{e} {e:?}")
        });
        if let Some(shown) = shown {
            assert!(!shown.contains("4711"), "{shown}");
        }
        let refused = rdkafka::error::KafkaError::ClientConfig(
            rdkafka::types::RDKafkaConfRes::RD_KAFKA_CONF_INVALID,
            "Invalid value \"oauth-secret-4711\"".into(),
            "sasl.oauthbearer.client.secret".into(),
            "oauth-secret-4711".into(),
        );
        let shown = redact_error(refused).to_string();
        assert!(
            !shown.contains("4711") && shown.contains("sasl.oauthbearer.client.secret"),
            "{shown}"
        );
    }

    #[test]
    fn deserializes_with_defaults() {
        let c: KafkaConfig = serde_json::from_str(
            r#"{"bootstrap_servers":"k:9093","session_timeout":"6s",
                "properties":{"security.protocol":"SASL_SSL"}}"#,
        )
        .unwrap();
        assert_eq!(c.partitions, 3);
        assert_eq!(c.session_timeout, Duration::from_secs(6));
        assert_eq!(c.client().get("security.protocol"), Some("SASL_SSL"));
        assert!(serde_json::from_str::<KafkaConfig>(r#"{"nope":1}"#).is_err());
    }
}
