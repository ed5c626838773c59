#!/usr/bin/env bash
# Runs CryptoViz embedded, the README's first command: builds the viewer (web/out) when Node.js
# is available, builds the binary, then `cryptoviz run` with the viewer served at /.
#
#   ./scripts/run.sh                       # the live market (CoinGecko, news, Fear & Greed)
#   ./scripts/run.sh --simulate --speed 60 # offline: a simulated market, a minute per second
#
# Extra arguments go to `cryptoviz run`. It builds the binary alone; the workspace-hack crate
# keeps its dependencies' features identical to the test build's, so running both compiles
# DataFusion once.
set -euo pipefail
cd "$(dirname "$0")/.."

# The viewer builds in the background while cargo compiles: cargo's critical path leaves a core
# idle much of the time, and the two do not share anything.
viewer_pid=""
viewer_log="$(mktemp -t cryptoviz-viewer.XXXXXX)"
if command -v npm >/dev/null 2>&1; then
  if [ ! -f web/out/index.html ] || [ -n "$(find web/app web/components web/lib web/package.json -newer web/out/index.html -print -quit 2>/dev/null)" ]; then
    echo "==> building the viewer (web/out) in the background; its output: $viewer_log"
    (cd web && npm install --no-audit --no-fund --loglevel=error && NEXT_TELEMETRY_DISABLED=1 npx next build) >"$viewer_log" 2>&1 &
    viewer_pid=$!
  fi
else
  echo "note: npm not found; the API runs without the viewer (install Node.js >= 20.9 to get it)" >&2
fi

# Only the binary: the workspace-hack crate (cargo hakari) gives it the same dependency
# features as the test build, so `scripts/test.sh` afterwards reuses every dependency.
echo "==> building cryptoviz"
cargo build --release --bin cryptoviz

if [ -n "$viewer_pid" ]; then
  if ! wait "$viewer_pid"; then
    tail -n 40 "$viewer_log" >&2
    echo "error: the viewer build failed (full output above in $viewer_log); the API would run without it" >&2
    exit 1
  fi
fi
rm -f "$viewer_log"
export CRYPTOVIZ__API__WEB_DIR="${CRYPTOVIZ__API__WEB_DIR:-$PWD/web/out}"
exec ./target/release/cryptoviz run "$@"
