import { describe, expect, it } from 'vitest';
import { autoInterval, intervalSeconds, mergeTick, rangeSeconds, spanOf, toBars, toVolumeBars } from '../lib/candles';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:01:00.000Z';
const S0 = Date.UTC(2026, 0, 1) / 1000;

describe('toBars', () => {
  it('converts times to seconds and sorts', () => {
    const bars = toBars([
      { time: T1, open: 2, high: 3, low: 1, close: 2.5, ticks: 1 },
      { time: T0, open: 1, high: 2, low: 0.5, close: 2, ticks: 1 },
    ]);
    expect(bars).toEqual([
      { time: S0, open: 1, high: 2, low: 0.5, close: 2 },
      { time: S0 + 60, open: 2, high: 3, low: 1, close: 2.5 },
    ]);
  });
  it('keeps the last candle of a time and drops candles with an unreadable time', () => {
    const bars = toBars([
      { time: T0, open: 1, high: 1, low: 1, close: 1, ticks: 1 },
      { time: T0, open: 1, high: 4, low: 1, close: 3, ticks: 1 },
      { time: 'not a time', open: 2, high: 2, low: 2, close: 2, ticks: 1 },
    ]);
    expect(bars).toHaveLength(1);
    expect(bars[0].close).toBe(3);
  });
  it('widens high and low to contain open and close', () => {
    const [bar] = toBars([{ time: T0, open: 10, high: 9, low: 11, close: 12, ticks: 1 }]);
    expect(bar.high).toBe(12);
    expect(bar.low).toBe(10);
  });
  it('colours volume by direction and skips missing volumes', () => {
    const v = toVolumeBars(
      [
        { time: T0, open: 1, high: 2, low: 1, close: 2, volume: 10, ticks: 1 },
        { time: T1, open: 2, high: 2, low: 1, close: 1, volume: 5, ticks: 1 },
        { time: '2026-01-01T00:02:00Z', open: 1, high: 1, low: 1, close: 1, volume: null, ticks: 1 },
      ],
      'green',
      'red',
    );
    expect(v).toEqual([
      { time: S0, value: 10, color: 'green' },
      { time: S0 + 60, value: 5, color: 'red' },
    ]);
  });
  it('gives the span', () => {
    expect(spanOf([])).toBeNull();
    expect(spanOf([{ time: 5 }, { time: 9 }])).toEqual({ from: 5, to: 9 });
  });
});

describe('intervals', () => {
  it('knows the spans', () => {
    expect(rangeSeconds('24h')).toBe(86_400);
    expect(intervalSeconds('5m')).toBe(300);
    expect(intervalSeconds('auto')).toBeNull();
    expect(intervalSeconds('7m')).toBeNull();
  });
  it('resolves auto like the server: the finest interval with at most 500 candles', () => {
    expect(autoInterval('1h')).toBe('1m');
    expect(autoInterval('24h')).toBe('5m');
    expect(autoInterval('7d')).toBe('1h');
    expect(autoInterval('30d')).toBe('4h');
    expect(autoInterval('1y')).toBe('1d');
  });
});

describe('mergeTick', () => {
  const bars = toBars([{ time: T0, open: 10, high: 12, low: 9, close: 11, ticks: 1 }]);
  it('updates the open bar', () => {
    const r = mergeTick(bars, 13, S0 + 30, 60)!;
    expect(r.bar).toEqual({ time: S0, open: 10, high: 13, low: 9, close: 13 });
    expect(r.bars).toHaveLength(1);
    expect(bars[0].close).toBe(11);
  });
  it('opens a new bar at the bin start', () => {
    const r = mergeTick(bars, 8, S0 + 125, 60)!;
    expect(r.bar).toEqual({ time: S0 + 120, open: 8, high: 8, low: 8, close: 8 });
    expect(r.bars).toHaveLength(2);
  });
  it('ignores a tick older than the last bar', () => {
    expect(mergeTick(bars, 8, S0 - 1, 60)).toBeNull();
  });
  it('starts from nothing', () => {
    expect(mergeTick([], 5, S0 + 61, 60)!.bar.time).toBe(S0 + 60);
  });
});
