#!/usr/bin/env python3
"""API load benchmark (issue 6): wrk against the real binary while the simulated pipeline
ingests, over 30 days of 1-minute history for 20 coins.

Usage: scripts/bench/api_load.py [--bin target/release/cryptoviz] [--duration 15]
                                 [--connections 16] [--target-connections 4] [--threads 1]
                                 [--days 30] [--oha PATH] [--json]

1. Writes 30 days of 1-minute candles for the simulated market's 20 coins (source
   `simulated`, ending at the current minute) and imports them with `cryptoviz import`.
2. Starts `cryptoviz run --simulate` on that data directory (rate limit off: wrk is one
   client), waits for /api/v1/ready.
3. Runs `wrk --latency` on /api/v1/coins twice: with `--connections` (16) it saturates the
   two cores it shares with the server (capacity; p99 there is CPU oversubscription), with
   `--target-connections` (4) it offers fewer requests in flight, still above the 30,000
   req/s of the target, and that run's p99 is the one the target is about. Then wrk on
   /api/v1/coins/bitcoin/history?range=30d&interval=1h. Reports requests/s and p50/p99.
4. When oha is found (`--oha`, or on PATH; `cargo install oha --locked`), also offers
   /api/v1/coins a constant 30,000 req/s and reports p99 as measured and with
   coordinated-omission correction (which charges the load generator's own stalls too).
5. Stops the server by PID. Needs wrk (`apt-get install -y wrk`).
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
gen = __import__("gen-jsonl")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_history(path, days):
    """1-minute candles per coin, seeded random walks, ending at the current minute. Written in
    time order (every coin's minute, then the next minute), as a live feed arrives: a file
    sorted by coin would leave each coin's last window open far back in its partition, and the
    next start would re-read the history after it."""
    rng = random.Random(7)
    end = int(time.time()) // 60 * 60 * 1000
    start = end - days * 86_400_000
    prices = [c[3] for c in gen.COINS]
    n = 0
    with open(path, "w") as f:
        for t in range(start, end, 60_000):
            for i, (coin, symbol, name, _) in enumerate(gen.COINS):
                o = prices[i]
                p = max(o * (1 + rng.gauss(0, 0.001)), 1e-12)
                prices[i] = p
                hi, lo = max(o, p) * 1.0005, min(o, p) * 0.9995
                f.write(json.dumps({
                    "crypto_id": coin, "symbol": symbol, "name": name, "source": "simulated",
                    "price_usd": p, "open_usd": o, "high_usd": hi, "low_usd": lo,
                    "volume": rng.uniform(1, 100), "timestamp": t,
                }) + "\n")
                n += 1
    return n


def wrk(url, args, connections):
    out = subprocess.run(
        ["wrk", f"-t{args.threads}", f"-c{connections}", f"-d{args.duration}s", "--latency", url],
        check=True, capture_output=True, text=True,
    ).stdout
    def ms(label):
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"requests_per_second": rps, "p50_ms": ms("50"), "p99_ms": ms("99"),
            "non_2xx": int(non2xx.group(1)) if non2xx else 0, "wrk": out}


def oha(oha_bin, url, args, corrected):
    cmd = [oha_bin, "-q", "30000", "-c", "16", "-z", f"{args.duration}s", "--no-tui",
           "--output-format", "json", url]
    if corrected:
        cmd.insert(3, "--latency-correction")
    d = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    p = d["latencyPercentiles"]
    ok = d["statusCodeDistribution"].get("200", 0)
    return {"requests_per_second": round(d["summary"]["requestsPerSec"]),
            "p50_ms": round(p["p50"] * 1000, 3), "p99_ms": round(p["p99"] * 1000, 3),
            "non_200": sum(d["statusCodeDistribution"].values()) - ok}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/cryptoviz")
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--target-connections", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--oha", default=shutil.which("oha"))
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is required: apt-get install -y wrk")
    work = tempfile.mkdtemp(prefix="cryptoviz-api-bench-")
    data = os.path.join(work, "data")
    history = os.path.join(work, "history.jsonl")
    server = None
    try:
        t = time.time()
        rows = write_history(history, args.days)
        subprocess.run([args.bin, "--data-dir", data, "import", "--format", "jsonl", history],
                       check=True, stdout=subprocess.DEVNULL)
        imported_s = time.time() - t
        port = free_port()
        env = dict(os.environ, CRYPTOVIZ__API__RATE_LIMIT_PER_SECOND="0", RUST_LOG="warn")
        log = open(os.path.join(work, "server.log"), "w")
        server = subprocess.Popen([args.bin, "--data-dir", data, "run", "--simulate",
                                   "--listen", f"127.0.0.1:{port}"], env=env, stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/api/v1/ready", timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        else:
            sys.exit("the server did not become ready; see " + os.path.join(work, "server.log"))
        time.sleep(3)  # let the simulated pipeline run
        history_url = base + "/api/v1/coins/bitcoin/history?range=30d&interval=1h"
        candles = json.load(urllib.request.urlopen(history_url))["count"]
        coins = json.load(urllib.request.urlopen(base + "/api/v1/coins"))["count"]
        result = {
            "history_rows": rows, "import_seconds": round(imported_s, 1),
            "coins": coins, "history_candles": candles,
            "coins_endpoint_capacity": wrk(base + "/api/v1/coins", args, args.connections),
            "coins_endpoint": wrk(base + "/api/v1/coins", args, args.target_connections),
            "history_endpoint": wrk(history_url, args, args.connections),
            "ticks_ingested_during_run": json.load(urllib.request.urlopen(base + "/api/v1/status"))["consumers"]["prices"]["ticks"],
        }
        if args.oha:
            result["coins_paced_30k"] = oha(args.oha, base + "/api/v1/coins", args, False)
            result["coins_paced_30k_corrected"] = oha(args.oha, base + "/api/v1/coins", args, True)
        for key in ("coins_endpoint_capacity", "coins_endpoint", "history_endpoint"):
            if not args.json:
                print(result[key]["wrk"])
            del result[key]["wrk"]
        print(json.dumps(result, indent=2))
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
