#!/usr/bin/env python3
"""Writes N price ticks as JSONL for `cryptoviz import --format jsonl` (the import benchmark).

Usage: scripts/gen-jsonl.py N FILE [--time rfc3339|ms] [--coins K] [--seed S]

One tick per coin per second of market time from 2024-01-01T00:00:00Z, each coin's price a
seeded random walk, each tick a trade size in `volume`. Every line has the schema's field
names (crypto_id, symbol, name, source, price_usd, volume, timestamp); `timestamp` is RFC 3339
with milliseconds (default) or epoch milliseconds. Deterministic for a given seed; standard
library only.
"""

import argparse
import random
import time

# The simulated market's top 20 (CoinGecko ids), with round starting prices.
COINS = [
    ("bitcoin", "BTC", "Bitcoin", 95000.0),
    ("ethereum", "ETH", "Ethereum", 3300.0),
    ("tether", "USDT", "Tether", 1.0),
    ("ripple", "XRP", "XRP", 2.2),
    ("binancecoin", "BNB", "BNB", 900.0),
    ("solana", "SOL", "Solana", 150.0),
    ("usd-coin", "USDC", "USDC", 1.0),
    ("tron", "TRX", "TRON", 0.28),
    ("dogecoin", "DOGE", "Dogecoin", 0.35),
    ("cardano", "ADA", "Cardano", 0.9),
    ("bitcoin-cash", "BCH", "Bitcoin Cash", 450.0),
    ("chainlink", "LINK", "Chainlink", 20.0),
    ("stellar", "XLM", "Stellar", 0.4),
    ("avalanche-2", "AVAX", "Avalanche", 35.0),
    ("sui", "SUI", "Sui", 3.5),
    ("litecoin", "LTC", "Litecoin", 100.0),
    ("hedera-hashgraph", "HBAR", "Hedera", 0.25),
    ("shiba-inu", "SHIB", "Shiba Inu", 0.00002),
    ("the-open-network", "TON", "Toncoin", 5.5),
    ("polkadot", "DOT", "Polkadot", 7.0),
]

START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("n", type=int, help="number of ticks")
    p.add_argument("file", help="output file")
    p.add_argument("--time", choices=["rfc3339", "ms"], default="rfc3339")
    p.add_argument("--coins", type=int, default=len(COINS))
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    coins = COINS[: max(1, min(args.coins, len(COINS)))]
    rng = random.Random(args.seed)
    prices = [c[3] for c in coins]
    prefixes = [
        f'{{"crypto_id":"{cid}","symbol":"{sym}","name":"{name}","source":"bench",'
        for cid, sym, name, _ in coins
    ]
    written = 0
    second = 0
    with open(args.file, "w", buffering=1 << 20) as out:
        while written < args.n:
            base = START_MS + second * 1000
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base // 1000))
            lines = []
            for i in range(len(coins)):
                if written >= args.n:
                    break
                prices[i] *= 1.0 + rng.gauss(0.0, 0.0004)
                ms = rng.randrange(1000)
                if args.time == "ms":
                    ts = str(base + ms)
                else:
                    ts = f'"{stamp}.{ms:03d}Z"'
                lines.append(
                    f'{prefixes[i]}"price_usd":{prices[i]:.8g},'
                    f'"volume":{rng.expovariate(2.0):.6f},"timestamp":{ts}}}\n'
                )
                written += 1
            out.write("".join(lines))
            second += 1


if __name__ == "__main__":
    main()
