import { describe, expect, it } from 'vitest';
import { filterCoins, nextSort, sortCoins, sparklinePoints } from '../lib/table';
import type { Coin } from '../lib/schemas';

function c(id: string, over: Partial<Coin>): Coin {
  return {
    id,
    symbol: id.toUpperCase(),
    name: id[0].toUpperCase() + id.slice(1),
    source: 's',
    updated_at: '2026-01-01T00:00:00.000Z',
    price_usd: 1,
    market_cap: 1,
    volume_24h: 1,
    change_1h: 0,
    change_24h: 0,
    change_7d: 0,
    ...over,
  };
}

const coins = [
  c('bitcoin', { market_cap: 100, change_24h: 2, price_usd: 60000 }),
  c('ethereum', { market_cap: 50, change_24h: -1, price_usd: 3000 }),
  c('tether', { market_cap: null, change_24h: 0, price_usd: 1 }),
  c('solana', { market_cap: 20, change_24h: 5, price_usd: 150, symbol: 'SOL' }),
];

describe('sortCoins', () => {
  it('sorts descending and ascending with missing values last', () => {
    expect(sortCoins(coins, 'market_cap', 'desc').map((x) => x.id)).toEqual(['bitcoin', 'ethereum', 'solana', 'tether']);
    expect(sortCoins(coins, 'market_cap', 'asc').map((x) => x.id)).toEqual(['solana', 'ethereum', 'bitcoin', 'tether']);
  });
  it('sorts by name', () => {
    expect(sortCoins(coins, 'name', 'asc').map((x) => x.id)).toEqual(['bitcoin', 'ethereum', 'solana', 'tether']);
    expect(sortCoins(coins, 'name', 'desc').map((x) => x.id)[0]).toBe('tether');
  });
  it('does not modify its input', () => {
    const before = coins.map((x) => x.id);
    sortCoins(coins, 'change_24h', 'asc');
    expect(coins.map((x) => x.id)).toEqual(before);
  });
});

describe('filterCoins', () => {
  it('matches name, symbol and id, case-insensitively', () => {
    expect(filterCoins(coins, 'sol').map((x) => x.id)).toEqual(['solana']);
    expect(filterCoins(coins, 'ETHEREUM').map((x) => x.id)).toEqual(['ethereum']);
    expect(filterCoins(coins, '  ')).toHaveLength(4);
  });
  it('keeps gainers or losers', () => {
    expect(filterCoins(coins, '', 'gainers').map((x) => x.id)).toEqual(['bitcoin', 'solana']);
    expect(filterCoins(coins, '', 'losers').map((x) => x.id)).toEqual(['ethereum']);
  });
});

describe('nextSort', () => {
  it('flips on the same key and starts a new key descending', () => {
    expect(nextSort({ key: 'price_usd', order: 'desc' }, 'price_usd')).toEqual({ key: 'price_usd', order: 'asc' });
    expect(nextSort({ key: 'price_usd', order: 'asc' }, 'change_1h')).toEqual({ key: 'change_1h', order: 'desc' });
    expect(nextSort({ key: 'price_usd', order: 'asc' }, 'name')).toEqual({ key: 'name', order: 'asc' });
  });
});

describe('sparklinePoints', () => {
  it('scales into the box with the max at the top', () => {
    expect(sparklinePoints([1, 3, 2], 100, 10)).toBe('0.0,10.0 50.0,0.0 100.0,5.0');
  });
  it('draws a flat line mid-free for constant values and nothing for fewer than two', () => {
    expect(sparklinePoints([2, 2], 10, 10)).toBe('0.0,10.0 10.0,10.0');
    expect(sparklinePoints([1], 10, 10)).toBe('');
    expect(sparklinePoints([null, 1, null], 10, 10)).toBe('');
  });
});
