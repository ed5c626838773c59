#!/usr/bin/env python3
"""Every Grafana panel query, run against a real influxd after a short simulated pipeline run.

Grafana itself does not run here, so this does what Grafana would do with the dashboards in
grafana/dashboards/ and then checks the answers:

1. starts its own influxd (1.x, `$INFLUXD` or /usr/bin/influxd, as installed by
   scripts/tools/install-influxdb.sh) with a temporary config on free 127.0.0.1 ports;
2. fills it with the pipeline, the built binary (`$CRYPTOVIZ_BIN` or target/release/cryptoviz,
   never rebuilt) with `store.backend = "influxdb"`: `cryptoviz produce --simulate --ticks`
   publishes the last three hours of simulated market (prices with jumps, headlines, Fear &
   Greed values) into an embedded log in a temporary data dir, then `cryptoviz run --simulate`
   consumes it and carries on live (speed 1, so nothing is in the future) until every
   measurement the dashboards read has data; it is then stopped with SIGTERM;
3. extracts every query of every dashboard (panels, panels nested in rows, raw InfluxQL
   `targets[].query`, query variables), expands `$timeFilter` as Grafana's backend does
   (`time >= <from>ms and time <= <to>ms` over the dashboard's time range), `$__interval` /
   `$interval` / `$__interval_ms` (Grafana's rounded range / max data points), `$__from`,
   `$__to`, `$__range…` and the dashboard variables (once with "All", once with the saved
   current value), and fails if a `$variable` is left unexpanded;
4. runs each against influxd's /query and fails, naming dashboard, panel and query, if one
   answers with an error, with no rows, or with a column that is null in every row (a field
   the pipeline does not write: InfluxQL answers that with nulls, not an error).

Every process started here is stopped by its PID, also on failure. Standard library only.
Without influxd the script skips (exit 0) unless CRYPTOVIZ_REQUIRE_TEST_SERVERS is set.
The simulated market is seeded (GRAFANA_TEST_SEED, default 7), so a run is reproducible up to
where the current time falls; KEEP_TMP=1 keeps the temporary directory (influxd and cryptoviz
logs) of a failed run.
"""

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from testlib import ROOT, Failure, cryptoviz_binary, free_port, log, stop

DASHBOARDS = os.path.join(ROOT, "grafana", "dashboards")
DATABASE = "cryptoviz"

# The simulated history: HISTORY before now, one tick per coin every TICK_S seconds.
HISTORY_S = 3 * 3600
TICK_S = 5
COINS = 20  # the simulator's default coin list (top 20)
SEED = int(os.environ.get("GRAFANA_TEST_SEED", "7"))
JUMPS_PER_DAY = 24  # 3-8 % jumps per coin per market day: anomalies within the history
NEWS_INTERVAL = "2m"  # market time between two simulated headlines
# Width of a panel in pixels, Grafana's default max data points for a query.
MAX_DATA_POINTS = 1000

# What the dashboards read, and what must be there before the pipeline is stopped.
REQUIRED = {
    "crypto_market": "SELECT count(price_usd) FROM crypto_market",
    "crypto_analytics": "SELECT count(macd_signal) FROM crypto_analytics WHERE \"window\" = '1m'",
    "crypto_anomalies": "SELECT count(score) FROM crypto_anomalies",
    "crypto_news": "SELECT count(title) FROM crypto_news",
    "crypto_sentiment": "SELECT count(score) FROM crypto_sentiment WHERE crypto_id = 'market'",
    "fear_greed": "SELECT count(value) FROM fear_greed",
}


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


# --- processes -------------------------------------------------------------------------------


def influxd_binary():
    for candidate in (os.environ.get("INFLUXD"), "/usr/bin/influxd", shutil.which("influxd")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def start_influxd(binary, tmp):
    http, rpc = free_port(), free_port()
    config = os.path.join(tmp, "influxdb.conf")
    with open(config, "w") as f:
        f.write(
            f"""reporting-disabled = true
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{tmp}/influx/meta"
[data]
  dir = "{tmp}/influx/data"
  wal-dir = "{tmp}/influx/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{http}"
  log-enabled = false
[monitor]
  store-enabled = false
"""
        )
    logf = open(os.path.join(tmp, "influxd.log"), "w")
    proc = subprocess.Popen(
        [binary, "-config", config], stdout=subprocess.DEVNULL, stderr=logf, cwd=tmp
    )
    url = f"http://127.0.0.1:{http}"
    deadline = time.time() + 30
    while True:
        if proc.poll() is not None:
            raise Failure(f"influxd exited with {proc.returncode}; see {tmp}/influxd.log")
        try:
            if http_get(url + "/ping", timeout=2)[0] == 204:
                return proc, url
        except (urllib.error.URLError, OSError):
            pass
        if time.time() > deadline:
            raise Failure("influxd did not answer /ping in 30 s")
        time.sleep(0.1)


def influx_query(url, q):
    """Runs `q` against the database; returns (error or None, [series])."""
    params = urllib.parse.urlencode({"db": DATABASE, "q": q, "epoch": "ms"})
    try:
        _, body = http_get(f"{url}/query?{params}", timeout=30)
    except urllib.error.HTTPError as e:
        body = e.read()
    try:
        doc = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:200]!r}", []
    if doc.get("error"):
        return doc["error"], []
    series = []
    for result in doc.get("results", []):
        if result.get("error"):
            return result["error"], []
        series.extend(result.get("series", []))
    return None, series


def rows(series):
    return sum(len(s.get("values", [])) for s in series)


def empty_columns(series):
    """Columns without a single non-null value: a field the pipeline does not write, or a
    typo, which InfluxQL answers with nulls rather than an error."""
    seen = {}
    for s in series:
        for i, col in enumerate(s.get("columns", [])):
            seen.setdefault(col, False)
            if any(v[i] is not None for v in s.get("values", [])):
                seen[col] = True
    return [c for c, ok in seen.items() if not ok]


def scalar(url, q):
    err, series = influx_query(url, q)
    if err or not series:
        return 0
    return series[0]["values"][0][1] or 0


def run_pipeline(binary, influx_url, tmp):
    data_dir = os.path.join(tmp, "data")
    env = dict(os.environ)
    env = {k: v for k, v in env.items() if not k.startswith("CRYPTOVIZ__")}
    env.pop("CRYPTOVIZ_CONFIG", None)
    env.update(
        {
            "CRYPTOVIZ__STORE__BACKEND": "influxdb",
            "CRYPTOVIZ__STORE__INFLUXDB__URL": influx_url,
            "CRYPTOVIZ__STORE__INFLUXDB__DATABASE": DATABASE,
            "CRYPTOVIZ__LOG__FSYNC": "never",
            "CRYPTOVIZ__SIMULATOR__SEED": str(SEED),
            "CRYPTOVIZ__SIMULATOR__JUMPS_PER_DAY": str(JUMPS_PER_DAY),
            "CRYPTOVIZ__SIMULATOR__NEWS_INTERVAL": NEWS_INTERVAL,
            "RUST_LOG": env.get("RUST_LOG", "warn"),
        }
    )

    # History up to now: the panels' time ranges end at now, so nothing may be in the future.
    start = int(time.time()) - HISTORY_S
    steps = HISTORY_S // TICK_S
    produce_env = dict(env, CRYPTOVIZ__SIMULATOR__TICK_INTERVAL=f"{TICK_S}s")
    t0 = time.time()
    out = subprocess.run(
        [
            binary, "produce", "--simulate", "--data-dir", data_dir,
            "--ticks", str(steps * COINS),
            "--start", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start)),
        ],
        env=produce_env, cwd=tmp, capture_output=True, text=True, timeout=120,
    )
    if out.returncode != 0:
        raise Failure(f"cryptoviz produce failed ({out.returncode}):\n{out.stdout}{out.stderr}")
    log(f"history: {out.stdout.strip()} in {time.time() - t0:.1f} s")

    # The consumers window the history and the live market on top of it.
    api = f"127.0.0.1:{free_port()}"
    run_log = open(os.path.join(tmp, "cryptoviz-run.log"), "w")
    proc = subprocess.Popen(
        [binary, "run", "--simulate", "--data-dir", data_dir, "--listen", api, "--speed", "1"],
        env=env, cwd=tmp, stdout=run_log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.time() + 120
        # Every tick of the history stored (its last one is at start + HISTORY_S; the live
        # market starts after that), and something in every measurement the dashboards read.
        # A raw point is stamped event time + a sub-millisecond offset (consumers/src/identity.rs),
        # so the last history tick, at start + HISTORY_S, is stored a few µs after it.
        history = (
            "SELECT count(price_usd) FROM crypto_market "
            f"WHERE time < {(start + HISTORY_S) * 1000 + 1}ms"
        )
        while True:
            if proc.poll() is not None:
                raise Failure(
                    f"cryptoviz run exited early with {proc.returncode}:\n"
                    + open(os.path.join(tmp, "cryptoviz-run.log")).read()[-3000:]
                )
            stored = scalar(influx_url, history)
            counts = {m: scalar(influx_url, q) for m, q in REQUIRED.items()}
            if stored >= steps * COINS and all(counts.values()):
                break
            if time.time() > deadline:
                raise Failure(
                    f"the pipeline did not fill every measurement in 120 s: {stored} of "
                    f"{steps * COINS} history ticks, {counts}"
                )
            time.sleep(0.5)
        log(f"pipeline: {counts} after {time.time() - t0:.1f} s")
    finally:
        stop(proc, "cryptoviz run")
    if proc.returncode not in (0, -signal.SIGTERM):
        raise Failure(f"cryptoviz run exited with {proc.returncode} on SIGTERM")


# --- Grafana's expansion of a query ----------------------------------------------------------

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


def parse_time(expr, now_ms):
    """A dashboard time (`now`, `now-6h`, epoch ms) as epoch ms (no `/d` rounding needed here)."""
    expr = str(expr).strip()
    if expr.isdigit():
        return int(expr)
    m = re.fullmatch(r"now(?:([+-])(\d+)(ms|s|m|h|d|w|y))?", expr)
    if not m:
        raise Failure(f"unsupported dashboard time {expr!r}")
    if not m.group(1):
        return now_ms
    delta = int(int(m.group(2)) * UNITS[m.group(3)] * 1000)
    return now_ms - delta if m.group(1) == "-" else now_ms + delta


# Grafana's rangeutil.roundInterval: (upper bound in ms, interval in ms, text).
ROUND = [
    (10, 1, "1ms"), (15, 10, "10ms"), (35, 20, "20ms"), (75, 50, "50ms"), (150, 100, "100ms"),
    (350, 200, "200ms"), (750, 500, "500ms"), (1500, 1000, "1s"), (3500, 2000, "2s"),
    (7500, 5000, "5s"), (12500, 10000, "10s"), (17500, 15000, "15s"), (25000, 20000, "20s"),
    (45000, 30000, "30s"), (90000, 60000, "1m"), (210000, 120000, "2m"), (450000, 300000, "5m"),
    (900000, 600000, "10m"), (1200000, 900000, "15m"), (2700000, 1200000, "20m"),
    (5400000, 1800000, "30m"), (9000000, 3600000, "1h"), (16200000, 7200000, "2h"),
    (32400000, 10800000, "3h"), (86400000, 21600000, "6h"), (604800000, 86400000, "1d"),
    (1814400000, 604800000, "1w"), (3628800000, 2592000000, "30d"),
]


def grafana_interval(range_ms):
    raw = range_ms / MAX_DATA_POINTS
    for bound, ms, text in ROUND:
        if raw <= bound:
            return ms, text
    return 31536000000, "1y"


def regex_escape(value):
    return re.sub(r"[\\^$*+?.()|\[\]{}/]", lambda m: "\\" + m.group(0), value)


def influx_escape(value):
    """Grafana's influxRegularEscape (single-valued variables): numbers as they are."""
    try:
        float(value)
        return value
    except ValueError:
        return regex_escape(value)


def format_variable(var, values, is_all):
    """A variable's text in a query, as Grafana's InfluxDB datasource renders it."""
    if is_all and var.get("allValue"):
        return var["allValue"]
    if not var.get("multi") and not var.get("includeAll"):
        return influx_escape(values[0])
    escaped = [regex_escape(v) for v in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


VAR_RE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")


def expand(query, builtins, variables):
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in builtins:
            return builtins[name]
        if name in variables:
            return variables[name]
        return m.group(0)

    expanded = VAR_RE.sub(repl, query)
    left = [m.group(0) for m in VAR_RE.finditer(expanded)]
    if left:
        raise Failure(f"unexpanded variable(s) {left} in: {expanded}")
    return expanded


def builtins_for(dashboard, now_ms):
    trange = dashboard.get("time") or {"from": "now-6h", "to": "now"}
    frm, to = parse_time(trange["from"], now_ms), parse_time(trange["to"], now_ms)
    interval_ms, interval = grafana_interval(to - frm)
    time_filter = f"time >= {frm}ms and time <= {to}ms"
    return {
        "timeFilter": time_filter,
        "__timeFilter": time_filter,
        "__interval": interval,
        "interval": interval,
        "__interval_ms": str(interval_ms),
        "__from": str(frm),
        "__to": str(to),
        "__range": f"{(to - frm) // 1000}s",
        "__range_s": str((to - frm) // 1000),
        "__range_ms": str(to - frm),
    }


def panels_of(container, prefix=""):
    """Every panel, rows' nested panels included (both the current and the legacy layout)."""
    for panel in container.get("panels", []) or []:
        title = prefix + (panel.get("title") or f"panel {panel.get('id')}")
        yield title, panel
        yield from panels_of(panel, title + " / ")
    for row in container.get("rows", []) or []:
        yield from panels_of(row, prefix + (row.get("title") or "row") + " / ")


def targets_of(panel):
    for t in panel.get("targets", []) or []:
        if t.get("hide"):
            continue
        if not t.get("rawQuery") or not t.get("query"):
            raise Failure(
                f"target {t.get('refId')} is not raw InfluxQL; this test only runs raw queries"
            )
        yield t.get("refId", "?"), t["query"]


def variable_query(var):
    q = var.get("query")
    if isinstance(q, dict):
        q = q.get("query")
    return q


# --- the test --------------------------------------------------------------------------------


def check_dashboards(url):
    failures, count = [], 0
    files = sorted(glob.glob(os.path.join(DASHBOARDS, "*.json")))
    if not files:
        raise Failure(f"no dashboards in {DASHBOARDS}")
    for path in files:
        name = os.path.basename(path)
        with open(path) as f:
            dashboard = json.load(f)
        now_ms = int(time.time() * 1000)
        builtins = builtins_for(dashboard, now_ms)

        # Variables: run query variables, then render each as "All" and as its saved value.
        all_values, current_values = {}, {}
        for var in (dashboard.get("templating") or {}).get("list", []):
            vname, vtype = var["name"], var.get("type")
            if vtype == "query":
                count += 1
                try:
                    q = expand(variable_query(var) or "", builtins, {})
                except Failure as e:
                    failures.append(f"{name}: variable ${vname}: {e}")
                    continue
                err, series = influx_query(url, q)
                values = [str(v[-1]) for s in series for v in s.get("values", [])]
                status = f"error: {err}" if err else f"{len(values)} values"
                log(f"  {name} / variable ${vname}: {status}\n      {q}")
                if err or not values:
                    failures.append(f"{name}: variable ${vname}: {status}: {q}")
                    values = []
            elif vtype in ("custom", "constant", "textbox", "interval"):
                values = [o["value"] for o in var.get("options", []) if o.get("value") != "$__all"]
                if not values and var.get("query"):
                    values = [v.strip() for v in str(var["query"]).split(",") if v.strip()]
            elif vtype in ("datasource", "adhoc"):
                continue
            else:
                raise Failure(f"{name}: variable ${vname} has unsupported type {vtype!r}")
            cur = (var.get("current") or {}).get("value")
            cur = cur if isinstance(cur, list) else [cur] if cur is not None else []
            if cur and cur != ["$__all"] and values and not set(cur) <= set(values):
                failures.append(
                    f"{name}: variable ${vname}: current value {cur} not among {values[:10]}…"
                )
            all_sel = values if var.get("includeAll") or var.get("multi") else values[:1]
            all_values[vname] = format_variable(var, all_sel, is_all=bool(var.get("includeAll")))
            current_values[vname] = (
                all_values[vname]
                if cur in ([], ["$__all"])
                else format_variable(var, [str(c) for c in cur], is_all=False)
            )

        variants = [("all", all_values)]
        if current_values != all_values:
            variants.append(("current", current_values))
        for title, panel in panels_of(dashboard):
            for ref, raw in targets_of(panel):
                for label, values in variants:
                    count += 1
                    try:
                        q = expand(raw, builtins, values)
                    except Failure as e:
                        log(f"  {name} / {title} [{ref}, {label}]: {e}")
                        failures.append(f"{name} / {title} [{ref}, {label}]: {e}")
                        continue
                    err, series = influx_query(url, q)
                    n, nulls = rows(series), empty_columns(series)
                    status = f"error: {err}" if err else f"{n} rows"
                    if n and nulls:
                        status += f", but only nulls in {nulls}"
                    log(f"  {name} / {title} [{ref}, {label}]: {status}\n      {q}")
                    if err or n == 0 or nulls:
                        failures.append(f"{name} / {title} [{ref}, {label}]: {status}\n      {q}")
    return count, failures


def main():
    influxd = influxd_binary()
    if influxd is None:
        if os.environ.get("CRYPTOVIZ_REQUIRE_TEST_SERVERS"):
            print("influxd is required (scripts/tools/install-influxdb.sh)", file=sys.stderr)
            return 1
        print("skipping: influxd not installed (scripts/tools/install-influxdb.sh installs it)")
        return 0
    binary = cryptoviz_binary()
    if binary is None:
        return 1

    tmp = tempfile.mkdtemp(prefix="cryptoviz-grafana-")
    influx = None
    ok = False
    try:
        influx, url = start_influxd(influxd, tmp)
        log(f"influxd {url} (pid {influx.pid})")
        run_pipeline(binary, url, tmp)
        count, failures = check_dashboards(url)
        if failures:
            print(f"\n{len(failures)} of {count} queries failed:", file=sys.stderr)
            for f in failures:
                print(f"  {f}", file=sys.stderr)
            return 1
        log(f"\ngrafana dashboards: all {count} queries answered with rows")
        ok = True
        return 0
    except Failure as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        stop(influx, "influxd")
        if ok or not os.environ.get("KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"(kept {tmp})", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
