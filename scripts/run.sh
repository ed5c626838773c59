#!/usr/bin/env bash
# Runs CryptoViz embedded, the README's first command: builds the viewer (web/out) when Node.js
# is available, builds the binary, then `cryptoviz run` with the viewer served at /.
#
#   ./scripts/run.sh                       # the live market (CoinGecko, news, Fear & Greed)
#   ./scripts/run.sh --simulate --speed 60 # offline: a simulated market, a minute per second
#
# Extra arguments go to `cryptoviz run`. The build uses the same cargo flags as the test
# command (scripts/test.sh), so running both compiles DataFusion once.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v npm >/dev/null 2>&1; then
  if [ ! -f web/out/index.html ] || [ -n "$(find web/app web/components web/lib web/package.json -newer web/out/index.html -print -quit 2>/dev/null)" ]; then
    echo "==> building the viewer (web/out)"
    (cd web && npm install --no-audit --no-fund --loglevel=error && NEXT_TELEMETRY_DISABLED=1 npx next build >/dev/null)
  fi
else
  echo "note: npm not found; the API runs without the viewer (install Node.js >= 20.9 to get it)" >&2
fi

echo "==> building cryptoviz"
cargo build --release --workspace --all-targets
export CRYPTOVIZ__API__WEB_DIR="${CRYPTOVIZ__API__WEB_DIR:-$PWD/web/out}"
exec ./target/release/cryptoviz run "$@"
