import { describe, expect, it } from 'vitest';
import {
  direction,
  formatAgo,
  formatClock,
  formatCompact,
  formatCompactUsd,
  formatDateTime,
  formatPercent,
  formatUsd,
  toMillis,
} from '../lib/format';

describe('money', () => {
  it('shows cents above a dollar and four significant digits below', () => {
    expect(formatUsd(64321.5)).toBe('$64,321.50');
    expect(formatUsd(1)).toBe('$1.00');
    expect(formatUsd(0.5)).toBe('$0.5000');
    expect(formatUsd(0.000012345)).toBe('$0.00001235');
    expect(formatUsd(0)).toBe('$0.00');
    expect(formatUsd(0.99996)).toBe('$1.00');
    expect(formatUsd(0.9994)).toBe('$0.9994');
    expect(formatUsd(-2.5)).toBe('-$2.50');
  });
  it('shows a dash for missing numbers', () => {
    expect(formatUsd(null)).toBe('—');
    expect(formatUsd(undefined)).toBe('—');
    expect(formatUsd(Number.NaN)).toBe('—');
    expect(formatCompactUsd(null)).toBe('—');
  });
  it('compacts large amounts', () => {
    expect(formatCompactUsd(1.234e12)).toBe('$1.23T');
    expect(formatCompactUsd(456.78e9)).toBe('$456.8B');
    expect(formatCompactUsd(12_345_678)).toBe('$12.35M');
    expect(formatCompactUsd(1500)).toBe('$1.50K');
    expect(formatCompactUsd(999.99)).toBe('$999.99');
    expect(formatCompactUsd(-2e9)).toBe('-$2.00B');
    expect(formatCompact(1_230_000)).toBe('1.23M');
    expect(formatCompact(456)).toBe('456');
  });
});

describe('percent', () => {
  it('signs gains and losses', () => {
    expect(formatPercent(1.5)).toBe('+1.50%');
    expect(formatPercent(-0.256)).toBe('-0.26%');
    expect(formatPercent(3, false)).toBe('3.00%');
    expect(formatPercent(null)).toBe('—');
  });
  it('never shows a signed zero', () => {
    expect(formatPercent(-0.001)).toBe('0.00%');
    expect(formatPercent(0.004)).toBe('0.00%');
  });
  it('tells the direction', () => {
    expect(direction(2)).toBe('up');
    expect(direction(-2)).toBe('down');
    expect(direction(0)).toBe('flat');
    expect(direction(null)).toBe('flat');
  });
});

describe('time', () => {
  it('parses RFC 3339 and epoch milliseconds', () => {
    expect(toMillis('2026-01-01T00:00:00.000Z')).toBe(Date.UTC(2026, 0, 1));
    expect(toMillis(1767225600000)).toBe(1767225600000);
    expect(toMillis('1767225600000')).toBe(1767225600000);
    expect(toMillis('not a time')).toBeNull();
    expect(toMillis(1795325460000000000)).toBe(1795325460000);
    expect(toMillis(1795325460000000)).toBe(1795325460000);
    expect(toMillis('1795325460000000000')).toBe(1795325460000);
    expect(toMillis(null)).toBeNull();
  });
  it('formats in UTC', () => {
    expect(formatDateTime('2026-03-04T05:06:07.000Z')).toBe('2026-03-04 05:06 UTC');
    expect(formatDateTime('2026-03-04T05:06:07.000Z', true)).toBe('2026-03-04 05:06:07 UTC');
    expect(formatClock('2026-03-04T05:06:07.000Z')).toBe('05:06:07');
  });
  it('says how long ago', () => {
    const now = 1_000_000_000;
    expect(formatAgo(now - 5_000, now)).toBe('5 s ago');
    expect(formatAgo(now - 5 * 60_000, now)).toBe('5 min ago');
    expect(formatAgo(now - 3 * 3_600_000, now)).toBe('3 h ago');
    expect(formatAgo(now - 3 * 86_400_000, now)).toBe('3 d ago');
    expect(formatAgo(null, now)).toBe('never');
  });
});
