import { describe, expect, it } from 'vitest';
import { bollinger, ema, macd, rsi, sma, toLine } from '../lib/indicators';

const close = (v: number | null) => expect.closeTo(v as number, 8);

describe('moving averages', () => {
  it('sma', () => {
    expect(sma([1, 2, 3, 4, 5], 3)).toEqual([null, null, 2, 3, 4]);
    expect(sma([1, 2], 3)).toEqual([null, null]);
  });
  it('ema seeds with the sma then smooths', () => {
    const e = ema([1, 2, 3, 4, 5], 3);
    // k = 0.5: seed 2, then 4*0.5+2*0.5 = 3, then 5*0.5+3*0.5 = 4
    expect(e).toEqual([null, null, 2, 3, 4]);
    expect(ema([1], 3)).toEqual([null]);
  });
});

describe('bollinger', () => {
  it('is the sma ± k population deviations', () => {
    const b = bollinger([2, 4, 4, 4, 5, 5, 7, 9], 8, 2);
    // mean 5, population sd 2
    expect(b.middle[7]).toBe(5);
    expect(b.upper[7]).toBe(9);
    expect(b.lower[7]).toBe(1);
    expect(b.upper[6]).toBeNull();
  });
  it('collapses on a flat series', () => {
    const b = bollinger([3, 3, 3], 3, 2);
    expect([b.lower[2], b.middle[2], b.upper[2]]).toEqual([3, 3, 3]);
  });
});

describe('rsi', () => {
  it('is 100 on a rising series and 0 on a falling one', () => {
    const up = Array.from({ length: 20 }, (_, i) => i);
    expect(rsi(up, 14)[14]).toBe(100);
    expect(rsi(up.slice().reverse(), 14)[19]).toBe(0);
    expect(rsi(up, 14)[13]).toBeNull();
  });
  it("matches Wilder's smoothing on a known series", () => {
    // Gains and losses alternate +1, -1 over 14 periods: average gain = average loss → 50.
    const v = [10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10];
    expect(rsi(v, 14)[14]).toBe(50);
    // One more +2: gain = (0.5*13 + 2)/14, loss = 0.5*13/14
    const next = rsi([...v, 12], 14)[15]!;
    const g = (0.5 * 13 + 2) / 14;
    const l = (0.5 * 13) / 14;
    expect(next).toEqual(close(100 - 100 / (1 + g / l)));
  });
});

describe('macd', () => {
  it('is zero on a flat series', () => {
    const m = macd(Array(40).fill(7));
    expect(m.macd[25]).toBe(0);
    expect(m.signal[33]).toBe(0);
    expect(m.histogram[33]).toBe(0);
    expect(m.signal[32]).toBeNull();
  });
  it('is positive when prices accelerate upward', () => {
    const v = Array.from({ length: 60 }, (_, i) => 100 + i * i * 0.1);
    const m = macd(v);
    expect(m.macd[59]!).toBeGreaterThan(0);
    expect(m.histogram[59]!).toBeGreaterThan(0);
    expect(m.macd[59]).toEqual(close(ema(v, 12)[59]! - ema(v, 26)[59]!));
  });
});

describe('toLine', () => {
  it('pairs values with times and drops nulls', () => {
    expect(toLine([10, 20, 30], [null, 1, 2])).toEqual([
      { time: 20, value: 1 },
      { time: 30, value: 2 },
    ]);
  });
});
