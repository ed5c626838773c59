#!/usr/bin/env python3
"""The alert rules and the operations dashboard against a real Prometheus scraping the binary.

1. starts two `cryptoviz run` processes (the built binary, `$CRYPTOVIZ_BIN` or
   target/release/cryptoviz, never rebuilt), each with its own temporary data dir and a free
   127.0.0.1 port: a faulty one whose CoinGecko source points at a dead address (port 9 on
   loopback, one failure opens the breaker) with the other live sources off, and a healthy one
   on the simulated market (speed 60, so windows close within seconds);
2. checks that every `cryptoviz_*` metric the alert rules and the dashboard name is exported by
   one of them (a misspelt metric would otherwise make a rule that never fires);
3. starts Prometheus (`$PROMETHEUS` or /usr/bin/prometheus, the Debian package) on a free
   127.0.0.1 port with a temporary storage dir, scraping both every second as job
   cryptoviz-api and evaluating a copy of deploy/prometheus/alerts.yml whose `for:` durations
   are cut to 5 s;
4. waits until /api/v1/alerts shows CryptovizSourceBreakerOpen and
   CryptovizSourceNeverSucceeded firing for coingecko, and fails if any alert fires for
   anything else (the healthy process, the consumers of the faulty one);
5. runs every PromQL target of the dashboards in grafana/operations/ (on Prometheus) as
   Grafana would, a range query over the last minute
   with `$__rate_interval` and `$__interval` expanded, and fails if one does not parse or errors,
   or returns no series although every series it selects exists in Prometheus (so only the
   disk panels, whose exporters do not run here, and the 5xx panel may be empty).

Every process started here is stopped by its PID, also on failure. Standard library only.
Without Prometheus the script skips (exit 0) unless CRYPTOVIZ_REQUIRE_TEST_SERVERS is set.
KEEP_TMP=1 keeps the temporary directory (logs, configs) of a failed run.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from testlib import ROOT, Failure, cryptoviz_binary, free_port, log, stop

RULES = os.path.join(ROOT, "deploy", "prometheus", "alerts.yml")
DASHBOARDS = os.path.join(ROOT, "grafana", "operations")

# Alerts the fault must fire (alert name, source), and the only ones allowed to.
EXPECTED = {("CryptovizSourceBreakerOpen", "coingecko"), ("CryptovizSourceNeverSucceeded", "coingecko")}
ALERT_TIMEOUT_S = 90

FAULTY_CONFIG = """
[sources.coingecko]
base_url = "http://127.0.0.1:9"
interval = "10s"
[sources.coingecko.http]
retries = 0
breaker_failures = 1
breaker_cooldown = "10m"
[sources.feargreed]
enabled = false
[sources.news]
enabled = false
# Offline, the exchange streams would fail too and fire their own alerts.
[sources.binance]
enabled = false
[sources.coinbase]
enabled = false
[sources.kraken]
enabled = false
"""


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def wait_http(url, what, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise Failure(f"{what} exited with {proc.returncode} before answering {url}")
        try:
            http_get(url, timeout=2)
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise Failure(f"{what} did not answer {url} within {timeout} s")


def start(cmd, logfile, env=None):
    out = open(logfile, "w")
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=os.path.dirname(logfile))


def metric_names(text):
    """`cryptoviz_*` names in PromQL or rule text, with histogram suffixes kept as written."""
    return set(re.findall(r"\bcryptoviz_[a-z0-9_]+", text))


def exported_names(exposition):
    names = set()
    for line in exposition.splitlines():
        if line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def promql_targets():
    """(dashboard, panel title, refId, expr) of every Prometheus target."""
    for path in sorted(glob.glob(os.path.join(DASHBOARDS, "*.json"))):
        with open(path) as f:
            dashboard = json.load(f)

        def walk(container):
            for panel in container.get("panels", []) or []:
                yield panel
                yield from walk(panel)

        for panel in walk(dashboard):
            for t in panel.get("targets", []) or []:
                ds = t.get("datasource") or panel.get("datasource") or {}
                if ds.get("type") == "prometheus" and not t.get("hide"):
                    yield os.path.basename(path), panel.get("title"), t.get("refId"), t["expr"]


def selectors(expr):
    """The vector selectors (metric name and label matchers) of a PromQL expression."""
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)
    found = re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?(?=\s*(?:\[|\)|$|/|\s(?:>|<|unless|and|or|/)))", expr)
    keywords = {"sum", "max", "min", "by", "rate", "histogram_quantile", "time", "count", "avg"}
    return [name + labels for name, labels in found if name not in keywords]


def has_series(base, selector):
    answer = prom_api(base, "/api/v1/query", {"query": f"count({selector})"})
    return answer.get("status") == "success" and bool(answer["data"]["result"])


def expand(expr, scrape_s, step_s):
    # Grafana: $__rate_interval = max($__interval + scrape interval, 4 × scrape interval).
    rate = max(step_s + scrape_s, 4 * scrape_s)
    out = expr.replace("$__rate_interval", f"{rate}s").replace("$__interval", f"{step_s}s")
    out = out.replace("$__range", "60s")
    if "$" in out:
        raise Failure(f"unexpanded variable in {out}")
    return out


def prom_api(base, path, params):
    url = f"{base}{path}?{urllib.parse.urlencode(params)}"
    try:
        _, body = http_get(url, timeout=15)
    except urllib.error.HTTPError as e:
        body = e.read().decode()
    return json.loads(body)


def run(binary, prometheus, tmp):
    procs = []
    try:
        faulty_port, healthy_port, prom_port = free_port(), free_port(), free_port()
        cfg = os.path.join(tmp, "faulty.toml")
        with open(cfg, "w") as f:
            f.write(FAULTY_CONFIG)
        env = dict(os.environ, CRYPTOVIZ_LOG="info,cryptoviz_producers=warn")
        faulty = start(
            [binary, "-c", cfg, "--data-dir", os.path.join(tmp, "faulty"), "run",
             "--listen", f"127.0.0.1:{faulty_port}"],
            os.path.join(tmp, "faulty.log"), env)
        procs.append(("cryptoviz (faulty source)", faulty))
        healthy = start(
            [binary, "--data-dir", os.path.join(tmp, "healthy"), "run", "--simulate",
             "--speed", "60", "--listen", f"127.0.0.1:{healthy_port}"],
            os.path.join(tmp, "healthy.log"), env)
        procs.append(("cryptoviz (simulated)", healthy))
        targets = {"faulty": faulty_port, "healthy": healthy_port}
        for (name, proc), port in zip(procs, targets.values()):
            wait_http(f"http://127.0.0.1:{port}/health", name, proc)
        # A few requests, so the API latency histograms have series.
        for port in targets.values():
            for path in ("/api/v1/coins", "/api/v1/ready", "/api/v1/status", "/api/v1/nope"):
                try:
                    http_get(f"http://127.0.0.1:{port}{path}")
                except urllib.error.HTTPError:
                    pass

        # Every metric the rules and the dashboard name must exist.
        time.sleep(3)  # windows close and the simulated source publishes
        exported = set()
        for port in targets.values():
            exported |= exported_names(http_get(f"http://127.0.0.1:{port}/metrics")[1])
        with open(RULES) as f:
            rules_text = f.read()
        wanted = metric_names(rules_text)
        for _, _, _, expr in promql_targets():
            wanted |= metric_names(expr)
        missing = sorted(n for n in wanted if n not in exported)
        if missing:
            raise Failure(f"the rules or dashboards read metrics the binary does not export: {missing}")
        log(f"ok: the {len(wanted)} cryptoviz metrics the rules and dashboards read are all exported")

        # Prometheus with the test copy of the rules (`for:` cut to seconds).
        rules_copy = os.path.join(tmp, "alerts.yml")
        with open(rules_copy, "w") as f:
            f.write(re.sub(r"(\n\s+for:) \S+", r"\1 5s", rules_text))
        prom_cfg = os.path.join(tmp, "prometheus.yml")
        with open(prom_cfg, "w") as f:
            json.dump({
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [rules_copy],
                "scrape_configs": [{
                    "job_name": "cryptoviz-api",
                    "static_configs": [
                        {"targets": [f"127.0.0.1:{port}"], "labels": {"process": name}}
                        for name, port in targets.items()
                    ],
                }],
            }, f)  # JSON is YAML
        check = subprocess.run([promtool_of(prometheus), "check", "config", prom_cfg],
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise Failure(f"promtool check config: {check.stdout}{check.stderr}")
        prom = start(
            [prometheus, f"--config.file={prom_cfg}", f"--storage.tsdb.path={tmp}/prometheus",
             f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
            os.path.join(tmp, "prometheus.log"))
        procs.append(("prometheus", prom))
        base = f"http://127.0.0.1:{prom_port}"
        wait_http(f"{base}/-/ready", "prometheus", prom)

        # The fault's alerts fire, and nothing else does.
        deadline = time.time() + ALERT_TIMEOUT_S
        firing = set()
        while time.time() < deadline:
            alerts = prom_api(base, "/api/v1/alerts", {})["data"]["alerts"]
            firing = {(a["labels"]["alertname"], a["labels"].get("source")) for a in alerts
                      if a["state"] == "firing"}
            if EXPECTED <= firing:
                break
            time.sleep(1)
        else:
            raise Failure(f"within {ALERT_TIMEOUT_S} s only these alerts fired: {sorted(firing, key=str)}"
                          f", expected {sorted(EXPECTED)}")
        log(f"ok: firing {sorted(firing)}")
        # Let the healthy process be scraped and evaluated a while longer: nothing else fires.
        time.sleep(8)
        alerts = prom_api(base, "/api/v1/alerts", {})["data"]["alerts"]
        # (Firing only: one slow scrape on a loaded machine may make a rule pending.)
        extra = [a["labels"] for a in alerts if a["state"] == "firing"
                 and (a["labels"]["alertname"], a["labels"].get("source")) not in EXPECTED]
        if extra:
            raise Failure(f"alerts firing besides the fault's: {extra}")
        log("ok: no other alert firing")

        # Every dashboard query, as Grafana runs it: a range query over the last minute.
        failures, count = [], 0
        now = time.time()
        for dash, title, ref, raw in promql_targets():
            count += 1
            expr = expand(raw, scrape_s=1, step_s=2)
            answer = prom_api(base, "/api/v1/query_range",
                              {"query": expr, "start": now - 60, "end": now, "step": 2})
            if answer.get("status") != "success":
                status = f"error: {answer.get('errorType')}: {answer.get('error')}"
            else:
                series = answer["data"]["result"]
                status = f"{len(series)} series"
                # Series it reads that exist here (node-exporter's, the kubelet's and the 5xx
                # ones do not) must give an answer.
                if not series and all(has_series(base, sel) for sel in selectors(expr)):
                    status += ", but every series it reads exists"
                    failures.append(f"{dash} / {title} [{ref}]: {status}\n      {expr}")
            if status.startswith("error"):
                failures.append(f"{dash} / {title} [{ref}]: {status}\n      {expr}")
            log(f"  {dash} / {title} [{ref}]: {status}\n      {expr}")
        if count == 0:
            raise Failure("no Prometheus panel found in grafana/operations")
        if failures:
            raise Failure(f"{len(failures)} of {count} dashboard queries failed:\n" + "\n".join(failures))
        log(f"ok: {count} dashboard PromQL queries run against Prometheus")
    finally:
        for name, proc in reversed(procs):
            stop(proc, name)


def promtool_of(prometheus):
    candidate = os.path.join(os.path.dirname(prometheus), "promtool")
    return candidate if os.path.exists(candidate) else "promtool"


def main():
    binary = cryptoviz_binary()
    prometheus = os.environ.get("PROMETHEUS", shutil.which("prometheus") or "/usr/bin/prometheus")
    if not os.path.exists(prometheus):
        if os.environ.get("CRYPTOVIZ_REQUIRE_TEST_SERVERS"):
            log(f"prometheus not found at {prometheus} (apt-get install prometheus)")
            return 1
        log("skipped: no prometheus binary (apt-get install prometheus)")
        return 0
    if binary is None:
        return 1
    tmp = tempfile.mkdtemp(prefix="cryptoviz-ops-")
    ok = False
    try:
        run(binary, prometheus, tmp)
        ok = True
        log("ops_prometheus: ok")
        return 0
    except Failure as e:
        log(f"FAILED: {e}")
        for name in ("faulty.log", "healthy.log", "prometheus.log"):
            path = os.path.join(tmp, name)
            if os.path.exists(path):
                with open(path) as f:
                    tail = f.read()[-3000:]
                log(f"--- last lines of {name}:\n{tail}")
        return 1
    finally:
        if ok or not os.environ.get("KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log(f"kept {tmp}")


if __name__ == "__main__":
    sys.exit(main())
