#!/usr/bin/env bash
# Runs the end-to-end bench and appends its figures, with the commit and the time, to
# docs/bench-record.csv, so a regression shows the day it lands.
#
#   bash scripts/bench/record.sh                 # embedded log (1M ticks)
#   bash scripts/bench/record.sh kafka           # on a throwaway tansu broker
#   TICKS=200000 bash scripts/bench/record.sh    # a shorter run
#
# Uses ./target/release/cryptoviz as built (`cargo build --release --workspace`); a dirty
# working tree is recorded as `<commit>-dirty`. Run it on an idle machine: the figures vary
# ±8 % between runs here, more when anything else competes for the 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."

LOG=${1:-embedded}
TICKS=${TICKS:-1000000}
BIN=./target/release/cryptoviz
CSV=docs/bench-record.csv
[ -x "$BIN" ] || { echo "build first: cargo build --release --workspace" >&2; exit 1; }

commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- . ':!docs/bench-record.csv' || commit="$commit-dirty"

case "$LOG" in
  embedded) json=$("$BIN" bench --ticks "$TICKS" --json) ;;
  kafka) json=$(TICKS="$TICKS" bash scripts/bench/kafka.sh) ;;
  *) echo "unknown log backend '$LOG': use embedded or kafka" >&2; exit 2 ;;
esac

[ -f "$CSV" ] || echo "utc,commit,log,ticks,ticks_per_sec,peak_rss_mb,windows,windows_match,cores" > "$CSV"
python3 - "$CSV" "$commit" "$json" <<'PY'
import datetime, json, os, sys
csv, commit, raw = sys.argv[1], sys.argv[2], sys.argv[3]
r = json.loads(raw.strip().splitlines()[-1])
row = [
    datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), commit,
    r["log"], r["ticks"], round(r["ticks_per_sec"]), round(r["peak_rss_mb"]),
    r["windows"], str(r["windows_match"]).lower(), os.cpu_count(),
]
with open(csv, "a") as f:
    f.write(",".join(map(str, row)) + "\n")
print(",".join(map(str, row)))
if not r["windows_match"]:
    sys.exit("the bench's windows differ from the independent computation")
PY
