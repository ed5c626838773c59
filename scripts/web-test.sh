#!/usr/bin/env bash
# The viewer's tests: install, check that the generated API types (web/lib/api-types.ts) match
# the binary's OpenAPI document, type-check, lint, build the static export, unit tests
# (Vitest), then end-to-end tests in Debian's Chromium (playwright-core) against the real
# cryptoviz binary on a simulated market. Screenshots and the server's log go to
# web/test-results/.
#
#   CRYPTOVIZ_BIN   the binary to test (default target/release/cryptoviz); it is not built here
#   WEB_E2E=0       skip the end-to-end part; without a binary, the API types check is then
#                   skipped too (with a warning)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
web="$root/web"
bin="${CRYPTOVIZ_BIN:-target/release/cryptoviz}"
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
export NEXT_TELEMETRY_DISABLED=1

step() { printf '\n== %s\n' "$*"; }

tmp="$(mktemp -d)"
pid_file="$tmp/server.pid"
cleanup() {
  # Stop a server the e2e run left behind (it stops its own; this covers a crash or ^C).
  if [[ -s "$pid_file" ]]; then
    local pid
    pid="$(cat "$pid_file")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      sleep 2
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

if [[ "${WEB_E2E:-1}" != 0 && ! -x /usr/bin/chromium ]]; then
  step "installing Debian's chromium"
  sudo_cmd=()
  [[ "$(id -u)" != 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq chromium >/dev/null
fi

cd "$web"
step "npm install"
npm install --no-audit --no-fund --loglevel=error

step "API types: web/lib/api-types.ts against the binary's OpenAPI document"
if [[ -x "$bin" ]]; then
  CRYPTOVIZ_BIN="$bin" bash "$root/scripts/gen-web-types.sh" --check
elif [[ "${WEB_E2E:-1}" == 0 ]]; then
  echo "WARNING: no cryptoviz binary at $bin: the API types drift check is SKIPPED" >&2
  echo "WARNING: build it (cargo build --release --workspace --all-targets) or set CRYPTOVIZ_BIN to run it" >&2
else
  echo "no cryptoviz binary at $bin (build it first, or set CRYPTOVIZ_BIN)" >&2
  exit 1
fi

step "type check"
npx tsc --noEmit

step "lint"
npx eslint --max-warnings 0 .

step "vitest"
npx vitest run

step "next build (static export to web/out)"
npx next build

[[ -f out/index.html ]] || { echo "next build produced no out/index.html" >&2; exit 1; }

if [[ "${WEB_E2E:-1}" == 0 ]]; then
  echo "WEB_E2E=0: end-to-end tests skipped"
  exit 0
fi

[[ -x "$bin" ]] || { echo "no cryptoviz binary at $bin (build it first, or set CRYPTOVIZ_BIN)" >&2; exit 1; }

step "end-to-end (playwright-core, /usr/bin/chromium, $bin)"
rm -rf test-results
mkdir -p test-results "$tmp/data"
CRYPTOVIZ_BIN="$bin" WEB_DIR="$web/out" RESULTS_DIR="$web/test-results" DATA_DIR="$tmp/data" PID_FILE="$pid_file" \
  node e2e/run.mjs
