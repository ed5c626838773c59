#!/usr/bin/env bash
# The end-to-end bench on Kafka: a fresh tansu broker (memory storage) on a free 127.0.0.1
# port for this run only, stopped by PID afterwards. Prints the bench's JSON line.
#
#   TICKS=1000000 bash scripts/bench/kafka.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

TICKS=${TICKS:-1000000}
bash scripts/tools/install-tansu.sh >&2
TANSU=./target/tools/tansu
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=tcp://127.0.0.1:$PORT
"$TANSU" broker --listener-url "$URL" --advertised-listener-url "$URL" \
  --storage-engine memory://tansu/ >/tmp/cryptoviz-bench-tansu-$PORT.log 2>&1 &
PID=$!
trap 'kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; rm -f /tmp/cryptoviz-bench-tansu-$PORT.log' EXIT
for _ in $(seq 100); do
  "$TANSU" topic list --broker "$URL" >/dev/null 2>&1 && break
  kill -0 "$PID" 2>/dev/null || { cat /tmp/cryptoviz-bench-tansu-$PORT.log >&2; exit 1; }
  sleep 0.1
done
CRYPTOVIZ__LOG__KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:$PORT CRYPTOVIZ__LOG__KAFKA__SESSION_TIMEOUT=6s \
  ./target/release/cryptoviz bench --log kafka --ticks "$TICKS" --json
