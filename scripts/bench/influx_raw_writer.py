"""A raw batched writer for comparison with the InfluxDB sink (docs/benchmarks.md): posts
1,000,000 line-protocol points in 5,000-line bodies, 2 requests in flight, no gzip, to an
influxd on 127.0.0.1:38086. `narrow`: one field per point; `wide`: the 11 fields and 3 tags
of a crypto_market point."""
import sys, time, urllib.request, concurrent.futures as cf
N=1_000_000; B=5000; wide = sys.argv[1]=="wide"
urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:38086/query", data=b"q=CREATE DATABASE raw"+sys.argv[1].encode(), method="POST"))
coins=["coin%02d"%i for i in range(20)]
t0=1_700_000_000_000_000_000
def line(i):
    c=coins[i%20]; ts=t0+(i//20)*1_000_000_000
    if wide:
        return (f'crypto_market,crypto_id={c},source=simulated,symbol={c.upper()} ath=18.9,atl=0.28,change_1h=0.0115,change_24h=0.0115,'
                f'change_7d=0.0115,circulating_supply=427000000,market_cap={5978689890.129088+i},name="Avalanche",price_usd={14.0016+i*1e-6},volume=351.59,volume_24h=479171589.54 {ts}')
    return f'crypto_market,crypto_id={c},source=simulated price_usd={14.0016+i*1e-6} {ts}'
bodies=[("\n".join(line(i) for i in range(s, min(N,s+B)))).encode() for s in range(0,N,B)]
def post(b):
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:38086/write?db=raw{sys.argv[1]}&precision=ns", data=b, method="POST")).read()
start=time.time()
with cf.ThreadPoolExecutor(2) as ex: list(ex.map(post, bodies))
el=time.time()-start
print(sys.argv[1], f"{N/el:.0f} points/s")
