//! The distributed deployment files: docker-compose.yml parses, every cryptoviz command and
//! flag it uses exists in this binary, and the Grafana provisioning is consistent. (The
//! Docker engine is not available where the tests run; `docker compose config` would be the
//! stronger check.)

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn compose() -> Value {
    let text =
        std::fs::read_to_string(root().join("docker-compose.yml")).expect("docker-compose.yml");
    let mut value: Value = serde_yaml::from_str(&text).expect("docker-compose.yml parses");
    value.apply_merge().expect("merge keys resolve");
    value
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    &compose["services"][name]
}

/// Services running the cryptoviz image, with their command.
fn cryptoviz_services(compose: &Value) -> Vec<(String, Vec<String>)> {
    let services = compose["services"].as_mapping().expect("services");
    services
        .iter()
        .filter(|(_, s)| s["image"].as_str() == Some("cryptoviz:latest"))
        .map(|(name, s)| {
            let command = s["command"]
                .as_sequence()
                .unwrap_or_else(|| panic!("{name:?} has a command list"))
                .iter()
                .map(|v| v.as_str().expect("string arguments").to_string())
                .collect();
            (name.as_str().unwrap().to_string(), command)
        })
        .collect()
}

#[test]
fn every_cryptoviz_command_and_flag_in_compose_exists() {
    let compose = compose();
    let services = cryptoviz_services(&compose);
    let names: Vec<&str> = services.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["producer", "consumer", "api"]);
    for (name, command) in &services {
        let sub = &command[0];
        let out = Command::new(env!("CARGO_BIN_EXE_cryptoviz"))
            .args([sub, "--help"])
            .output()
            .expect("runs");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: `cryptoviz {sub}` is not a command: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for flag in command.iter().filter(|a| a.starts_with("--")) {
            assert!(
                help.contains(flag.as_str()),
                "{name}: `cryptoviz {sub}` has no {flag}:\n{help}"
            );
        }
    }
}

#[test]
fn services_wait_for_healthy_dependencies_and_have_healthchecks() {
    let compose = compose();
    for name in ["kafka", "influxdb", "grafana", "api"] {
        assert!(
            service(&compose, name)["healthcheck"]["test"].is_sequence(),
            "{name} has a healthcheck"
        );
    }
    for (name, _) in cryptoviz_services(&compose) {
        let deps = &service(&compose, &name)["depends_on"];
        for dep in ["kafka", "influxdb"] {
            assert_eq!(
                deps[dep]["condition"].as_str(),
                Some("service_healthy"),
                "{name} waits for {dep}"
            );
        }
        let env = &service(&compose, &name)["environment"];
        assert_eq!(env["CRYPTOVIZ__LOG__BACKEND"].as_str(), Some("kafka"));
        assert_eq!(env["CRYPTOVIZ__STORE__BACKEND"].as_str(), Some("influxdb"));
    }
    assert_eq!(
        service(&compose, "kafka")["image"].as_str(),
        Some("apache/kafka:3.9.0")
    );
    assert!(
        service(&compose, "influxdb")["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("influxdb:2.7"))
    );
}

#[test]
fn every_variable_compose_uses_is_in_env_example() {
    let text = std::fs::read_to_string(root().join("docker-compose.yml")).unwrap();
    let example = std::fs::read_to_string(root().join(".env.example")).expect(".env.example");
    let defined: Vec<&str> = example
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
        .collect();
    let mut rest = text.as_str();
    let mut used = Vec::new();
    while let Some(at) = rest.find("${") {
        let var: String = rest[at + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        used.push(var);
        rest = &rest[at + 2..];
    }
    assert!(!used.is_empty());
    for var in &used {
        assert!(
            defined.contains(&var.as_str()),
            "${{{var}}} is not in .env.example"
        );
    }
}

#[test]
fn grafana_provisioning_points_at_the_dashboards() {
    let ds: Value = serde_yaml::from_str(
        &std::fs::read_to_string(root().join("grafana/provisioning/datasources/influxdb.yml"))
            .unwrap(),
    )
    .unwrap();
    let uid = ds["datasources"][0]["uid"].as_str().unwrap().to_string();
    let dir = root().join("grafana/dashboards");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let dash: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for panel in dash["panels"].as_array().unwrap() {
            assert_eq!(
                panel["datasource"]["uid"].as_str(),
                Some(uid.as_str()),
                "{path:?}"
            );
        }
        let vars = dash["templating"]["list"].as_array().unwrap();
        if path.file_name().unwrap() != "sentiment.json" {
            assert!(
                vars.iter().any(|v| v["name"] == "coin"),
                "{path:?} has the coin variable"
            );
        }
        n += 1;
    }
    assert_eq!(n, 4, "live prices, candles, anomalies, sentiment");
}
