//! No secret reaches a log: the real binary runs with every kind of secret set (InfluxDB
//! password, token and a password in its URL, Kafka SASL/SSL properties, API keys, source API
//! keys), logging at debug level, against backends that fail (so that errors naming the
//! servers are logged too), and its whole output is searched for them.

mod common;

use std::fs::File;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::*;

const URL_PASSWORD: &str = "urlpw-S3CRET-1";
const INFLUX_PASSWORD: &str = "influxpw-S3CRET-2";
const INFLUX_TOKEN: &str = "influxtok-S3CRET-3";
const API_KEY: &str = "apikey-S3CRET-4";
const CMC_KEY: &str = "cmckey-S3CRET-5";
const COINGECKO_KEY: &str = "cgkey-S3CRET-6";
const SASL_PASSWORD: &str = "saslpw-S3CRET-7";
const SSL_KEY_PASSWORD: &str = "sslpw-S3CRET-8";
const OAUTH_SECRET: &str = "oauth-S3CRET-9";

const SECRETS: [&str; 9] = [
    URL_PASSWORD,
    INFLUX_PASSWORD,
    INFLUX_TOKEN,
    API_KEY,
    CMC_KEY,
    COINGECKO_KEY,
    SASL_PASSWORD,
    SSL_KEY_PASSWORD,
    OAUTH_SECRET,
];

fn config_file(dir: &Path, log_backend: &str, store_backend: &str) -> std::path::PathBuf {
    // Nothing listens on these ports: every write, ping and connection fails, and says so.
    let (influx_port, kafka_port) = (free_port(), free_port());
    let path = dir.join("cryptoviz.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[log]
backend = "{log_backend}"
[log.kafka]
bootstrap_servers = "127.0.0.1:{kafka_port}"
[log.kafka.properties]
"security.protocol" = "SASL_PLAINTEXT"
"sasl.mechanism" = "PLAIN"
"sasl.username" = "cryptoviz"
"sasl.password" = "{SASL_PASSWORD}"
"ssl.key.password" = "{SSL_KEY_PASSWORD}"
"sasl.oauthbearer.client.secret" = "{OAUTH_SECRET}"

[store]
backend = "{store_backend}"
[store.influxdb]
url = "http://admin:{URL_PASSWORD}@127.0.0.1:{influx_port}"
username = "admin"
password = "{INFLUX_PASSWORD}"
token = "{INFLUX_TOKEN}"
timeout = "1s"
[store.influxdb.retry]
initial_backoff = "50ms"
max_backoff = "200ms"
max_elapsed = "1s"
"#
        ),
    )
    .unwrap();
    path
}

/// Runs `cryptoviz <args>` with the secrets set for `duration` (or until it exits), at debug
/// level; its stdout and stderr.
fn output_of(dir: &Path, config: &Path, args: &[&str], duration: Duration) -> String {
    let out = dir.join("out.log");
    let file = File::create(&out).unwrap();
    let child = cryptoviz(&dir.join("data"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("CRYPTOVIZ_LOG", "debug")
        .env("CRYPTOVIZ__API__KEYS", API_KEY)
        .env("COINMARKETCAP_API_KEY", CMC_KEY)
        .env("COINGECKO_API_KEY", COINGECKO_KEY)
        .stdout(Stdio::from(file.try_clone().unwrap()))
        .stderr(Stdio::from(file))
        .spawn()
        .expect("start cryptoviz");
    let mut running = Running(child);
    let deadline = std::time::Instant::now() + duration;
    while std::time::Instant::now() < deadline {
        if running.0.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if running.0.try_wait().unwrap().is_none() {
        running.terminate(Duration::from_secs(30));
    } else {
        drop(running);
    }
    std::fs::read_to_string(&out).unwrap()
}

fn assert_no_secret(what: &str, output: &str) {
    for secret in SECRETS {
        assert!(
            !output.contains(secret),
            "{what}: `{secret}` appears in the output:\n{output}"
        );
    }
}

#[test]
fn no_secret_appears_in_the_logs_of_a_run_with_failing_backends() {
    // The API, the simulated market and an InfluxDB store that cannot be reached.
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), "embedded", "influxdb");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let output = {
        let client = std::thread::spawn(move || {
            // A request with the key, so its handling is logged too.
            let client = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .unwrap();
            let _ = wait_for(Duration::from_secs(5), || {
                client
                    .post(format!("http://127.0.0.1:{port}/api/v1/sql"))
                    .header("x-api-key", API_KEY)
                    .json(&serde_json::json!({"query": "SELECT 1"}))
                    .send()
                    .ok()
            });
        });
        let output = output_of(
            dir.path(),
            &config,
            &["run", "--simulate", "--speed", "60", "--listen", &listen],
            Duration::from_secs(6),
        );
        client.join().unwrap();
        output
    };
    // The run did reach the failing store (else this test would prove nothing).
    assert!(
        output.contains("127.0.0.1") && output.to_lowercase().contains("influx"),
        "{output}"
    );
    assert_no_secret("run with InfluxDB", &output);

    // The consumers against a Kafka cluster that cannot be reached.
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), "kafka", "embedded");
    let output = output_of(
        dir.path(),
        &config,
        &["consume", "--exit-when-idle", "1s"],
        Duration::from_secs(5),
    );
    assert!(output.to_lowercase().contains("kafka"), "{output}");
    assert_no_secret("consume with Kafka", &output);
}
