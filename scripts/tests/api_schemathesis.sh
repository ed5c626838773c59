#!/usr/bin/env bash
# Fuzzes the served API against its own OpenAPI document with schemathesis (from PyPI):
# zero 5xx responses and no response that violates the documented schema.
#
# Starts the binary `cargo test` built (target/release/cryptoviz) on a simulated market in a
# temporary data directory, on a free 127.0.0.1 port, with an API key (so the protected
# operations are fuzzed too) and no rate limit (schemathesis is one client); stops it by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=${CRYPTOVIZ_BIN:-target/release/cryptoviz}
VENV=${SCHEMATHESIS_VENV:-target/tools/schemathesis}
if [ ! -x "$VENV/bin/st" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet 'schemathesis>=4,<5'
fi

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
key="schemathesis-key-$$"
CRYPTOVIZ__API__KEYS="$key" CRYPTOVIZ__API__RATE_LIMIT_PER_SECOND=0 RUST_LOG=warn \
  "$BIN" --data-dir "$work/data" run --simulate --speed 60 --listen "127.0.0.1:$port" \
  >"$work/server.log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/api/v1/ready" >/dev/null && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$port/api/v1/ready" >/dev/null || { cat "$work/server.log"; exit 1; }
# A few market minutes of data, so that history, analytics and anomalies have rows.
sleep 5

# The live stream never ends: it has its own tests (cryptoviz/tests/api/stream.rs). Run from the
# temporary directory, where schemathesis keeps its example database.
st="$(cd "$VENV" && pwd)/bin/st"
cd "$work"
"$st" run "http://127.0.0.1:$port/api/v1/openapi.json" \
  --checks not_a_server_error,response_schema_conformance \
  --exclude-path /api/v1/stream \
  --header "x-api-key: $key" \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-25}" \
  --phases examples,coverage,fuzzing \
  --request-timeout 15 \
  --seed 1 \
  --no-color \
  || { echo "--- server log ---"; tail -50 "$work/server.log"; exit 1; }
