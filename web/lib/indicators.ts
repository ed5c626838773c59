// Technical indicators over a close series, computed from the candles the chart shows so the
// overlays always match the bars whatever the interval. Each function returns one value per
// input (null until the indicator has enough history).

export type Series = (number | null)[];

/** Simple moving average over `n` values. */
export function sma(values: readonly number[], n: number): Series {
  const out: Series = new Array(values.length).fill(null);
  if (n <= 0) return out;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    if (i >= n) sum -= values[i - n];
    if (i >= n - 1) out[i] = sum / n;
  }
  return out;
}

/** Exponential moving average (α = 2/(n+1)), seeded with the SMA of the first `n` values. */
export function ema(values: readonly number[], n: number): Series {
  const out: Series = new Array(values.length).fill(null);
  if (n <= 0 || values.length < n) return out;
  const k = 2 / (n + 1);
  let prev = values.slice(0, n).reduce((a, b) => a + b, 0) / n;
  out[n - 1] = prev;
  for (let i = n; i < values.length; i++) {
    prev = values[i] * k + prev * (1 - k);
    out[i] = prev;
  }
  return out;
}

export interface Bands {
  upper: Series;
  middle: Series;
  lower: Series;
}

/** Bollinger bands: SMA(n) ± k population standard deviations. */
export function bollinger(values: readonly number[], n = 20, k = 2): Bands {
  const middle = sma(values, n);
  const upper: Series = new Array(values.length).fill(null);
  const lower: Series = new Array(values.length).fill(null);
  for (let i = n - 1; i < values.length; i++) {
    const mean = middle[i];
    if (mean === null) continue;
    let sq = 0;
    for (let j = i - n + 1; j <= i; j++) sq += (values[j] - mean) ** 2;
    const sd = Math.sqrt(sq / n);
    upper[i] = mean + k * sd;
    lower[i] = mean - k * sd;
  }
  return { upper, middle, lower };
}

/** Wilder's RSI over `n` periods (0–100); the first value is at index `n`. */
export function rsi(values: readonly number[], n = 14): Series {
  const out: Series = new Array(values.length).fill(null);
  if (values.length <= n || n <= 0) return out;
  let gain = 0;
  let loss = 0;
  for (let i = 1; i <= n; i++) {
    const d = values[i] - values[i - 1];
    if (d > 0) gain += d;
    else loss -= d;
  }
  gain /= n;
  loss /= n;
  const value = () => (loss === 0 ? (gain === 0 ? 50 : 100) : 100 - 100 / (1 + gain / loss));
  out[n] = value();
  for (let i = n + 1; i < values.length; i++) {
    const d = values[i] - values[i - 1];
    gain = (gain * (n - 1) + Math.max(d, 0)) / n;
    loss = (loss * (n - 1) + Math.max(-d, 0)) / n;
    out[i] = value();
  }
  return out;
}

export interface Macd {
  macd: Series;
  signal: Series;
  histogram: Series;
}

/** MACD: EMA(fast) − EMA(slow), its EMA(signal), and their difference. */
export function macd(values: readonly number[], fast = 12, slow = 26, signal = 9): Macd {
  const f = ema(values, fast);
  const s = ema(values, slow);
  const line: Series = values.map((_, i) => (f[i] !== null && s[i] !== null ? f[i]! - s[i]! : null));
  const firstDefined = line.findIndex((v) => v !== null);
  const sig: Series = new Array(values.length).fill(null);
  if (firstDefined >= 0) {
    const tail = ema(line.slice(firstDefined) as number[], signal);
    tail.forEach((v, i) => {
      sig[firstDefined + i] = v;
    });
  }
  const histogram: Series = line.map((v, i) => (v !== null && sig[i] !== null ? v - sig[i]! : null));
  return { macd: line, signal: sig, histogram };
}

/** Pairs a series with bar times for a line series, dropping the nulls. */
export function toLine(times: readonly number[], series: Series): { time: number; value: number }[] {
  const out: { time: number; value: number }[] = [];
  series.forEach((v, i) => {
    if (v !== null && Number.isFinite(v)) out.push({ time: times[i], value: v });
  });
  return out;
}
