#!/usr/bin/env bash
# Time to first dashboard: how long a newcomer waits from `git clone` to a viewer that shows the
# market, following the README's first command (scripts/run.sh) on a simulated market.
#
#   bash scripts/bench/first-dashboard.sh [REPO]     # REPO defaults to this checkout
#
# Clones REPO (HEAD) into a temporary directory with an empty target directory, runs
# `scripts/run.sh --simulate --speed 60` there, and reports the seconds until
#   1. the API answers (/api/v1/health) and serves the viewer's index page at /, and
#   2. /api/v1/coins lists coins with a price (the dashboard has something to draw).
# The cargo registry and npm caches stay warm (crates.io and npm downloads are not timed).
# KEEP_CLONE=1 keeps the clone and its target directory. Needs an idle machine: anything else compiling at the same time inflates the figure.
set -euo pipefail
repo="${1:-$(cd "$(dirname "$0")/../.." && pwd)}"
port="${PORT:-18090}"
work="$(mktemp -d -t cryptoviz-first.XXXXXX)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [ -n "${KEEP_CLONE:-}" ]; then echo "kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

start=$(date +%s)
git clone --quiet "$repo" "$work/cryptoviz"
cd "$work/cryptoviz"
export CARGO_TARGET_DIR="$work/cryptoviz/target"
export CRYPTOVIZ__API__LISTEN="127.0.0.1:$port"
export CRYPTOVIZ__DATA_DIR="$work/data"
bash scripts/run.sh --simulate --speed 60 >"$work/run.log" 2>&1 &
pid=$!

answered=""
while kill -0 "$pid" 2>/dev/null; do
  now=$(date +%s)
  if [ -z "$answered" ] && curl -fsS "http://127.0.0.1:$port/api/v1/health" >/dev/null 2>&1 \
    && curl -fsS "http://127.0.0.1:$port/" | grep -qi '<html'; then
    answered=$((now - start))
    echo "API and viewer answer after ${answered} s"
  fi
  if [ -n "$answered" ] && curl -fsS "http://127.0.0.1:$port/api/v1/coins" 2>/dev/null \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); rows=d.get("data", d) if isinstance(d, dict) else d; sys.exit(0 if rows and any(r.get("price_usd") for r in rows) else 1)' 2>/dev/null; then
    echo "first dashboard (coins with prices) after $((now - start)) s"
    exit 0
  fi
  sleep 2
done
tail -n 40 "$work/run.log" >&2
echo "error: scripts/run.sh exited before the dashboard answered" >&2
exit 1
