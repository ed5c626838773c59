"""A raw batched writer for comparison with the InfluxDB sink (docs/benchmarks.md): posts
1,000,000 line-protocol points in 5,000-line bodies built before the clock starts, 2 requests
in flight, no gzip, to an influxd on 127.0.0.1:38086, into a database of its own.

Usage: influx_raw_writer.py MODE [grouped]
  narrow  one field per point
  short   the 7 fields and 3 tags of a crypto_market tick, mostly short constant values
  tick    the same 7 fields with full-precision random values, as real ticks carry
  wide    the 11 fields of a crypto_market tick before the fundamentals moved out
`grouped` sends each series' points together (as the sink does, its writes being sorted by
series and time) instead of interleaving the 20 series."""
import sys, time, random, urllib.request, concurrent.futures as cf

N, B = 1_000_000, 5000
mode = sys.argv[1]
grouped = len(sys.argv) > 2 and sys.argv[2] == "grouped"
db = f"raw_{mode}_{int(time.time())}"
urllib.request.urlopen(urllib.request.Request(
    "http://127.0.0.1:38086/query", data=f"q=CREATE DATABASE {db}".encode(), method="POST"))
coins = ["coin%02d" % i for i in range(20)]
t0 = 1_700_000_000_000_000_000
r = random.random


def line(i):
    if grouped:
        c, ts = coins[i * 20 // N], t0 + (i % (N // 20)) * 1_000_000_000
    else:
        c, ts = coins[i % 20], t0 + (i // 20) * 1_000_000_000
    key = f"crypto_market,crypto_id={c},source=simulated,symbol={c.upper()}"
    if mode == "narrow":
        return f"crypto_market,crypto_id={c},source=simulated price_usd={14.0016 + i * 1e-6} {ts}"
    if mode == "short":
        return (f"{key} change_1h=0.0115,change_24h=0.0115,change_7d=0.0115,"
                f"market_cap={5978689890.129088 + i},price_usd={14.0016 + i * 1e-6},volume=351.59,"
                f"volume_24h=479171589.54 {ts}")
    if mode == "tick":
        return (f"{key} change_1h={r() * 2 - 1!r},change_24h={r() * 10 - 5!r},change_7d={r() * 20 - 10!r},"
                f"market_cap={r() * 1e12!r},price_usd={r() * 1e5!r},volume={r() * 1e3!r},"
                f"volume_24h={r() * 1e10!r} {ts}")
    if mode == "wide":
        return (f"{key} ath=18.9,atl=0.28,change_1h=0.0115,change_24h=0.0115,change_7d=0.0115,"
                f"circulating_supply=427000000,market_cap={5978689890.129088 + i},name=\"Avalanche\","
                f"price_usd={14.0016 + i * 1e-6},volume=351.59,volume_24h=479171589.54 {ts}")
    sys.exit(f"unknown mode {mode}")


bodies = [("\n".join(line(i) for i in range(s, min(N, s + B)))).encode() for s in range(0, N, B)]


def post(b):
    urllib.request.urlopen(urllib.request.Request(
        f"http://127.0.0.1:38086/write?db={db}&precision=ns", data=b, method="POST")).read()


start = time.time()
with cf.ThreadPoolExecutor(2) as ex:
    list(ex.map(post, bodies))
print(mode, "grouped" if grouped else "interleaved", f"{N / (time.time() - start):.0f} points/s")
