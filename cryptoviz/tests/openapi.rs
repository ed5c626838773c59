//! `cryptoviz openapi` prints the served OpenAPI document, and nothing else, on stdout: the
//! viewer's types are generated from it (scripts/gen-web-types.sh).

mod common;

use std::process::{Command, Stdio};

use common::BIN;

fn run_openapi() -> std::process::Output {
    Command::new(BIN)
        .arg("openapi")
        // No configuration is read: a broken one must not matter.
        .env("CRYPTOVIZ_CONFIG", "/nonexistent/cryptoviz.toml")
        .env("CRYPTOVIZ_LOG", "debug")
        .stdin(Stdio::null())
        .output()
        .expect("run cryptoviz openapi")
}

#[test]
fn openapi_prints_the_served_document_as_json() {
    let out = run_openapi();
    assert!(
        out.status.success(),
        "cryptoviz openapi failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "openapi version: {}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths is an object");
    for path in ["/api/v1/coins", "/api/v1/coins/{id}", "/api/v1/stream"] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    assert!(
        doc["components"]["schemas"]
            .as_object()
            .is_some_and(|s| !s.is_empty()),
        "no component schemas"
    );
    // OpenAPI requires unique operation ids, and generators (openapi-typescript for the
    // viewer) key operations by them: a second `list` would silently merge two endpoints.
    let mut ids = std::collections::BTreeMap::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item is an object") {
            let id = op["operationId"]
                .as_str()
                .expect("every operation has an id");
            if let Some(other) = ids.insert(id.to_string(), format!("{method} {path}")) {
                panic!("operationId {id} is used by {other} and {method} {path}");
            }
        }
    }
    assert!(ids.len() > 20, "operation ids: {ids:?}");
    // The same value as the library's document (what /api/v1/openapi.json serves).
    let served = serde_json::to_value(cryptoviz_api::openapi::document()).expect("to JSON");
    assert_eq!(doc, served);
}

#[test]
fn openapi_output_is_deterministic() {
    let (a, b) = (run_openapi(), run_openapi());
    assert!(a.status.success() && b.status.success());
    assert_eq!(a.stdout, b.stdout, "two runs printed different bytes");
}
