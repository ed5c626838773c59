// Sorting and filtering of the overview's coin table.

import type { Coin } from './schemas';

export const SORT_KEYS = [
  'market_cap',
  'price_usd',
  'change_1h',
  'change_24h',
  'change_7d',
  'volume_24h',
  'volatility_pct',
  'name',
] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type Order = 'asc' | 'desc';

export type Movement = 'all' | 'gainers' | 'losers';

/** Sorts coins by `key`; coins without the value go last whatever the order. Stable. */
export function sortCoins(coins: readonly Coin[], key: SortKey, order: Order): Coin[] {
  const sign = order === 'asc' ? 1 : -1;
  return coins
    .map((c, i) => ({ c, i }))
    .sort((a, b) => {
      if (key === 'name') {
        const an = (a.c.name ?? a.c.id).toLowerCase();
        const bn = (b.c.name ?? b.c.id).toLowerCase();
        return an === bn ? a.i - b.i : an < bn ? -sign : sign;
      }
      const av = a.c[key];
      const bv = b.c[key];
      const aMissing = typeof av !== 'number' || !Number.isFinite(av);
      const bMissing = typeof bv !== 'number' || !Number.isFinite(bv);
      if (aMissing || bMissing) return aMissing === bMissing ? a.i - b.i : aMissing ? 1 : -1;
      return av === bv ? a.i - b.i : (av - bv) * sign;
    })
    .map((x) => x.c);
}

/** Keeps coins whose name, symbol or id contains `query` and whose 24 h move fits `movement`. */
export function filterCoins(coins: readonly Coin[], query: string, movement: Movement = 'all'): Coin[] {
  const q = query.trim().toLowerCase();
  return coins.filter((c) => {
    if (q) {
      const hay = [c.id, c.name ?? '', c.symbol ?? ''].join(' ').toLowerCase();
      if (!hay.includes(q)) return false;
    }
    const ch = c.change_24h;
    if (movement === 'gainers') return typeof ch === 'number' && ch > 0;
    if (movement === 'losers') return typeof ch === 'number' && ch < 0;
    return true;
  });
}

/** The next sort when a column header is clicked: same key flips the order, a new key starts
 *  descending (largest first), except the name, which starts ascending. */
export function nextSort(current: { key: SortKey; order: Order }, key: SortKey): { key: SortKey; order: Order } {
  if (current.key === key) return { key, order: current.order === 'asc' ? 'desc' : 'asc' };
  return { key, order: key === 'name' ? 'asc' : 'desc' };
}

/** SVG polyline points for a sparkline of `values` in a `width`×`height` box (y grows down). */
export function sparklinePoints(values: readonly (number | null)[], width: number, height: number): string {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (v.length < 2) return '';
  const min = Math.min(...v);
  const max = Math.max(...v);
  const span = max - min || 1;
  const step = width / (v.length - 1);
  return v
    .map((x, i) => `${(i * step).toFixed(1)},${(height - ((x - min) / span) * height).toFixed(1)}`)
    .join(' ');
}
