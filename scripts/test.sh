#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this script) and as anyone can run it on
# a fresh machine: formatting, lints, every crate's tests (unit, golden, end-to-end against
# the real binary), and a benchmark smoke run that checks the windows are right.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is required: install Rust from https://rustup.rs" >&2
  exit 1
fi
# rustfmt and clippy ship with rustup's default profile; add them if this toolchain lacks them.
if command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
fi

# Build tools for librdkafka (built from source by rdkafka-sys) and the bench check.
if ! command -v make >/dev/null 2>&1 || ! command -v cc >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1 \
  || ! command -v curl >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y build-essential python3 python3-venv curl
fi

step "test servers: influxd 1.x (Debian) and tansu (a Kafka-protocol broker)"
# The store and log integration tests start their own server processes on free 127.0.0.1
# ports and stop them by PID; these only install the binaries.
bash scripts/tools/install-influxdb.sh
bash scripts/tools/install-tansu.sh
# Their tests skip without the servers on a developer's machine; here they must run.
export CRYPTOVIZ_REQUIRE_TEST_SERVERS=1

step "cargo fmt --check"
cargo fmt --all -- --check

step "workspace-hack up to date (cargo hakari)"
# A stale workspace-hack/ does not fail a build, it silently makes `scripts/run.sh` and this
# script compile DataFusion with different features (twice). Fix: `make hakari`.
if ! command -v cargo-hakari >/dev/null 2>&1; then
  cargo install --locked cargo-hakari --version 0.9.39
fi
cargo hakari generate --diff
cargo hakari manage-deps --dry-run
cargo hakari verify

# One profile (release) for everything: the end-to-end tests and the bench need an optimised
# binary, and building DataFusion twice would double the time.
step "cargo clippy (all targets, warnings are errors)"
cargo clippy --release --workspace --all-targets -- -D warnings

step "cargo doc (broken intra-doc links are errors)"
# Reuses clippy's dependency metadata, so this documents only the workspace crates (~1 min).
RUSTDOCFLAGS="-D warnings" cargo doc --release --workspace --no-deps --document-private-items

step "cargo test"
cargo test --release --workspace

step "API fuzzing: schemathesis against the served OpenAPI document"
# No 5xx and no answer outside the documented schema; see the script's header.
bash scripts/tests/api_schemathesis.sh

step "viewer: API types drift check, type-check, lint, build, Vitest, and Playwright in Chromium against the binary"
if ! command -v npm >/dev/null 2>&1; then
  echo "Node.js >= 20.9 with npm is required for the viewer's tests" >&2
  exit 1
fi
bash scripts/web-test.sh

step "grafana dashboards: every panel query against influxd"
# Uses the binary `cargo test` just built; see the script's docstring.
python3 scripts/tests/grafana_queries.py

step "operations: alert rules (promtool), alerts firing and the operations dashboard on a real Prometheus, Kubernetes manifests"
# Uses the binary `cargo test` just built; installs prometheus (apt) and a venv itself.
bash scripts/tests/ops.sh

step "bench smoke run (correctness of the windows, not speed)"
# The binary `cargo test --workspace` just built.
out=$(./target/release/cryptoviz bench --ticks 200000 --json)
echo "$out"
python3 - "$out" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["windows_match"], "bench windows differ from the independent computation"
assert r["ticks"] == 200000, r
print("bench smoke: ok")
PY
