// Candles from the API → the series the chart draws, and live ticks merged into them.

import type { Candle, HistoryInterval, HistoryRange } from './schemas';
import { toMillis } from './format';

/** A candle in chart units: `time` in seconds since the epoch (the bin start). */
export interface Bar {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
}

export interface VolumeBar {
  time: number;
  value: number;
  color: string;
}

// The ranges and intervals are the API's (`RANGE_SECONDS` and `INTERVAL_SECONDS` must have one
// entry per documented value); these lists give the order the viewer offers them in.
export type Range = HistoryRange;
export const RANGES = ['1h', '24h', '7d', '30d', '1y'] as const satisfies readonly Range[];

export type Interval = HistoryInterval;
export const INTERVALS = ['auto', '1m', '5m', '15m', '1h', '4h', '1d'] as const satisfies readonly Interval[];

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const RANGE_SECONDS: Record<Range, number> = {
  '1h': HOUR,
  '24h': DAY,
  '7d': 7 * DAY,
  '30d': 30 * DAY,
  '1y': 365 * DAY,
};

const INTERVAL_SECONDS: Record<Exclude<Interval, 'auto'>, number> = {
  '1m': MINUTE,
  '5m': 5 * MINUTE,
  '15m': 15 * MINUTE,
  '1h': HOUR,
  '4h': 4 * HOUR,
  '1d': DAY,
};

export function isRange(s: string | null | undefined): s is Range {
  return RANGES.includes(s as Range);
}

export function isInterval(s: string | null | undefined): s is Interval {
  return INTERVALS.includes(s as Interval);
}

export function rangeSeconds(range: Range): number {
  return RANGE_SECONDS[range];
}

/** Seconds of a concrete interval label (`5m` → 300), or null for `auto` or an unknown label. */
export function intervalSeconds(label: string | null | undefined): number | null {
  if (!label || label === 'auto') return null;
  return INTERVAL_SECONDS[label as Exclude<Interval, 'auto'>] ?? null;
}

/** What `interval=auto` resolves to on the server: the finest giving at most `max` candles. */
export function autoInterval(range: Range, max = 500): Exclude<Interval, 'auto'> {
  const span = rangeSeconds(range);
  for (const label of ['1m', '5m', '15m', '1h', '4h', '1d'] as const) {
    if (span / INTERVAL_SECONDS[label] <= max) return label;
  }
  return '1d';
}

/** Seconds since the epoch of an API time, or null. */
export function toSeconds(t: string | number | null | undefined): number | null {
  const ms = toMillis(t);
  return ms === null ? null : Math.floor(ms / 1000);
}

/**
 * Candles as chart bars: sorted by time, one per time (the last wins, as a re-emitted window
 * replaces its provisional value), candles with an unreadable time dropped. High and low are
 * widened to contain open and close so a partial window never draws an inverted wick.
 */
export function toBars(candles: readonly Candle[]): Bar[] {
  const byTime = new Map<number, Bar>();
  for (const c of candles) {
    const time = toSeconds(c.time);
    if (time === null) continue;
    const { open, close } = c;
    const high = Math.max(c.high, open, close);
    const low = Math.min(c.low, open, close);
    byTime.set(time, { time, open, high, low, close });
  }
  return [...byTime.values()].sort((a, b) => a.time - b.time);
}

/** Volume bars coloured by the candle's direction; candles without a volume are skipped. */
export function toVolumeBars(candles: readonly Candle[], up: string, down: string): VolumeBar[] {
  const byTime = new Map<number, VolumeBar>();
  for (const c of candles) {
    const time = toSeconds(c.time);
    if (time === null || typeof c.volume !== 'number') continue;
    byTime.set(time, { time, value: c.volume, color: c.close >= c.open ? up : down });
  }
  return [...byTime.values()].sort((a, b) => a.time - b.time);
}

/** First and last bar times (seconds), or null for no bars. */
export function spanOf(bars: readonly { time: number }[]): { from: number; to: number } | null {
  if (bars.length === 0) return null;
  return { from: bars[0].time, to: bars[bars.length - 1].time };
}

/**
 * Merges one live price into the bars of an interval of `intervalSec` seconds. Returns the bar
 * to hand to the chart's `update` (the last bar changed, or a new one opened) and the new bar
 * list, or null when the tick is older than the last bar (the chart cannot rewrite history
 * with `update`; the next reload will show it).
 */
export function mergeTick(
  bars: readonly Bar[],
  price: number,
  timeSec: number,
  intervalSec: number,
): { bar: Bar; bars: Bar[] } | null {
  if (!Number.isFinite(price) || !Number.isFinite(timeSec) || intervalSec <= 0) return null;
  const start = timeSec - (((timeSec % intervalSec) + intervalSec) % intervalSec);
  const last = bars[bars.length - 1];
  if (last && start < last.time) return null;
  if (last && start === last.time) {
    const bar = {
      ...last,
      high: Math.max(last.high, price),
      low: Math.min(last.low, price),
      close: price,
    };
    return { bar, bars: [...bars.slice(0, -1), bar] };
  }
  const bar = { time: start, open: price, high: price, low: price, close: price };
  return { bar, bars: [...bars, bar] };
}
