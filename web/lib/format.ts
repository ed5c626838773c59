// Number and time formatting for money, percent and compact figures. The locale is fixed
// (en-US, UTC times) so every user and every test sees the same text.

const DASH = '—';

function finite(n: number | null | undefined): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

const usd2 = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});

/** A price in dollars: cents above $1, four significant digits below (a $0.000012 coin). */
export function formatUsd(n: number | null | undefined): string {
  if (!finite(n)) return DASH;
  // Below a dollar, four significant digits, unless that would round up to `$1.000`.
  if (n !== 0 && Math.abs(n) < 0.9995) {
    const sig = new Intl.NumberFormat('en-US', {
      style: 'currency',
      currency: 'USD',
      minimumSignificantDigits: 4,
      maximumSignificantDigits: 4,
    });
    return sig.format(n);
  }
  return usd2.format(n);
}

const SUFFIXES: [number, string][] = [
  [1e12, 'T'],
  [1e9, 'B'],
  [1e6, 'M'],
  [1e3, 'K'],
];

/** A large amount in dollars, compact: `$1.23T`, `$45.6B`, `$789.0M`, `$12.3K`, `$999.99`. */
export function formatCompactUsd(n: number | null | undefined): string {
  if (!finite(n)) return DASH;
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  for (const [size, suffix] of SUFFIXES) {
    if (abs >= size) {
      const scaled = abs / size;
      const digits = scaled >= 100 ? 1 : 2;
      return `${sign}$${scaled.toFixed(digits)}${suffix}`;
    }
  }
  return `${sign}${usd2.format(abs)}`;
}

/** A compact count without a currency: `1.23M`, `456`. */
export function formatCompact(n: number | null | undefined): string {
  if (!finite(n)) return DASH;
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  for (const [size, suffix] of SUFFIXES) {
    if (abs >= size) return `${sign}${(abs / size).toFixed(2)}${suffix}`;
  }
  return `${sign}${Number.isInteger(abs) ? abs : abs.toFixed(2)}`;
}

/** A percentage already in percent units (`1.5` → `+1.50%`); `signed` adds `+` to gains. */
export function formatPercent(n: number | null | undefined, signed = true, digits = 2): string {
  if (!finite(n)) return DASH;
  const fixed = Math.abs(n).toFixed(digits);
  // -0.001 rounds to 0.00: show it without a sign rather than as a loss.
  if (Number(fixed) === 0) return `${(0).toFixed(digits)}%`;
  if (n < 0) return `-${fixed}%`;
  return signed ? `+${fixed}%` : `${fixed}%`;
}

/** `up`, `down` or `flat`, for colouring a change. */
export function direction(n: number | null | undefined): 'up' | 'down' | 'flat' {
  if (!finite(n) || n === 0) return 'flat';
  return n > 0 ? 'up' : 'down';
}

/** A plain number with thousands separators and at most `digits` decimals. */
export function formatNumber(n: number | null | undefined, digits = 2): string {
  if (!finite(n)) return DASH;
  return new Intl.NumberFormat('en-US', { maximumFractionDigits: digits }).format(n);
}

/**
 * Milliseconds since the epoch of an RFC 3339 string or an epoch number, or null. Integers
 * are read by magnitude: nanoseconds (≥ 1e17), microseconds (≥ 1e14), else milliseconds, so a
 * store timestamp in nanoseconds reads right too.
 */
export function toMillis(t: string | number | null | undefined): number | null {
  if (t === null || t === undefined || t === '') return null;
  if (typeof t === 'string' && /^-?\d+$/.test(t)) return toMillis(Number(t));
  if (typeof t === 'number') {
    if (!Number.isFinite(t)) return null;
    const abs = Math.abs(t);
    if (abs >= 1e17) return Math.floor(t / 1e6);
    if (abs >= 1e14) return Math.floor(t / 1e3);
    return t;
  }
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? null : ms;
}

function pad(n: number): string {
  return n.toString().padStart(2, '0');
}

/** `2026-01-01 13:05 UTC` (seconds with `withSeconds`). */
export function formatDateTime(t: string | number | null | undefined, withSeconds = false): string {
  const ms = toMillis(t);
  if (ms === null) return DASH;
  const d = new Date(ms);
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${withSeconds ? `:${pad(d.getUTCSeconds())}` : ''}`;
  return `${date} ${time} UTC`;
}

/** `13:05:09` in UTC. */
export function formatClock(t: string | number | null | undefined): string {
  const ms = toMillis(t);
  if (ms === null) return DASH;
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** How long ago `then` was, relative to `now` (both ms): `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`. */
export function formatAgo(then: number | null, now: number): string {
  if (then === null) return 'never';
  const s = Math.max(0, Math.round((now - then) / 1000));
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} d ago`;
}
