import { describe, expect, it } from 'vitest';
import {
  anomalyKey,
  applyAnalytics,
  applyPrice,
  applyPrices,
  mergeSnapshot,
  mergeSentiment,
  articleCoins,
  articleMatches,
  backoffMs,
  mergeAnomaly,
  mergeArticle,
  mergeFired,
  parseData,
  streamUrl,
} from '../lib/live';
import type { AnalyticsRow, Anomaly, Article, Coin, FiredAlert } from '../lib/schemas';
import type { PriceEvent } from '../lib/stream-events';

function coin(id: string, price: number, at = '2026-01-01T00:00:00.000Z'): Coin {
  return {
    id,
    symbol: id.slice(0, 3).toUpperCase(),
    name: id,
    source: 'simulated',
    updated_at: at,
    price_usd: price,
    market_cap: 1,
    volume_24h: 1,
    change_1h: 0,
    change_24h: 0,
    change_7d: 0,
    volatility_pct: 1,
  };
}

/** A `price` event of `id` at `time`, with the fields a tick always has. */
function tick(id: string, time: string, price_usd: number, extra: Partial<PriceEvent> = {}): PriceEvent {
  return { id, symbol: id.slice(0, 3).toUpperCase(), source: 'simulated', time, price_usd, ...extra };
}

describe('applyPrice', () => {
  const coins = [coin('bitcoin', 100), coin('ethereum', 10)];
  it('updates the coin and reports the move', () => {
    const r = applyPrice(coins, tick('ethereum', '2026-01-01T00:00:01.000Z', 11, { change_24h: 2 }));
    expect(r.changed).toEqual({ id: 'ethereum', move: 'up' });
    expect(r.coins[1].price_usd).toBe(11);
    expect(r.coins[1].change_24h).toBe(2);
    expect(r.coins[1].market_cap).toBe(1);
    expect(r.coins[1].updated_at).toBe('2026-01-01T00:00:01.000Z');
    expect(coins[1].price_usd).toBe(10);
    expect(r.coins[0]).toBe(coins[0]);
  });
  it('reports a fall', () => {
    const r = applyPrice(coins, tick('bitcoin', '2026-01-01T00:00:01.000Z', 99));
    expect(r.changed?.move).toBe('down');
  });
  it('ignores an event older than the shown value', () => {
    const r = applyPrice(coins, tick('bitcoin', '2025-12-31T23:59:59.000Z', 1));
    expect(r.changed).toBeNull();
    expect(r.coins).toBe(coins);
  });
  it('ignores unknown coins', () => {
    expect(applyPrice(coins, tick('doge', '2026-01-02T00:00:00Z', 1)).changed).toBeNull();
  });
});

describe('applyAnalytics', () => {
  it('takes the 1-hour volatility only', () => {
    const coins = [coin('bitcoin', 1)];
    const row = (window: string): AnalyticsRow => ({
      time: '2026-01-01T00:00:00.000Z',
      crypto_id: 'bitcoin',
      source: 'simulated',
      window,
      open: 1,
      high: 1,
      low: 1,
      close: 1,
      mean: 1,
      min: 1,
      max: 1,
      count: 1,
      window_end: '2026-01-01T01:00:00.000Z',
      status: 'closed',
      volatility_pct: 9,
    });
    expect(applyAnalytics(coins, row('1m'))).toBe(coins);
    expect(applyAnalytics(coins, row('1h'))[0].volatility_pct).toBe(9);
  });
});

function article(guid: string, time: string, extra: Partial<Article> = {}): Article {
  return {
    guid,
    time,
    source: 'feed',
    title: guid,
    sentiment_score: 0,
    sentiment_label: 'neutral',
    coins: ['bitcoin'],
    ...extra,
  };
}

describe('news merging', () => {
  it('keeps newest first, replaces the same guid, caps the list', () => {
    let list: Article[] = [];
    list = mergeArticle(list, article('a', '2026-01-01T00:00:00Z'));
    list = mergeArticle(list, article('b', '2026-01-01T00:01:00Z'));
    list = mergeArticle(list, article('a', '2026-01-01T00:00:00Z', { title: 'edited' }));
    expect(list.map((a) => a.guid)).toEqual(['b', 'a']);
    expect(list[1].title).toBe('edited');
    expect(mergeArticle(list, article('c', '2026-01-01T00:02:00Z'), 2).map((a) => a.guid)).toEqual(['c', 'b']);
  });
  it('reads the coin ids, dropping empty ones', () => {
    expect(articleCoins({ coins: ['bitcoin', '', 'ethereum'] })).toEqual(['bitcoin', 'ethereum']);
    expect(articleCoins({ coins: [] })).toEqual([]);
  });
  it('filters by coin, source and sentiment', () => {
    const a = article('a', '2026-01-01T00:00:00Z', { coins: ['solana'], sentiment_label: 'positive' });
    expect(articleMatches(a, {})).toBe(true);
    expect(articleMatches(a, { coin: 'solana' })).toBe(true);
    expect(articleMatches(a, { coin: 'bitcoin' })).toBe(false);
    expect(articleMatches(a, { source: 'other' })).toBe(false);
    expect(articleMatches(a, { sentiment: 'negative' })).toBe(false);
  });
});

describe('anomaly merging', () => {
  const a: Anomaly = {
    time: '2026-01-01T00:00:00.000Z',
    crypto_id: 'bitcoin',
    kind: 'price_return',
    source: 'simulated',
    end_time: '2026-01-01T00:01:00.000Z',
    peak_time: '2026-01-01T00:00:00.000Z',
    observed: 2,
    baseline: 1,
    score: 4,
    severity: 'medium',
    status: 'ongoing',
    detail: '',
  };
  it('updates an episode in place', () => {
    const list = mergeAnomaly([a], { ...a, time: '2026-01-01T00:00:00Z', score: 6, status: 'ended' });
    expect(list).toHaveLength(1);
    expect(list[0].score).toBe(6);
    expect(anomalyKey(list[0])).toBe(anomalyKey(a));
  });
  it('keeps distinct episodes newest first', () => {
    const b = { ...a, time: '2026-01-01T01:00:00.000Z' };
    expect(mergeAnomaly([a], b).map((x) => x.time)).toEqual([b.time, a.time]);
  });
});

describe('fired alerts', () => {
  it('drops duplicates', () => {
    const f: FiredAlert = { rule_id: '1', coin: 'bitcoin', kind: 'price_above', message: 'm', value: 1, threshold: 1, time: 't' };
    const once = mergeFired([], f);
    expect(mergeFired(once, { ...f })).toBe(once);
    expect(mergeFired(once, { ...f, time: 'u' })).toHaveLength(2);
  });
});

describe('stream plumbing', () => {
  it('parses only JSON objects', () => {
    expect(parseData<{ a: number }>('{"a":1}')).toEqual({ a: 1 });
    expect(parseData('42')).toBeNull();
    expect(parseData('nope')).toBeNull();
  });
  it('resumes with last_event_id', () => {
    expect(streamUrl(null)).toBe('/api/v1/stream');
    expect(streamUrl('41')).toBe('/api/v1/stream?last_event_id=41');
  });
  it('backs off to 15 s', () => {
    expect([1, 2, 3, 4, 5, 9].map(backoffMs)).toEqual([1000, 2000, 4000, 8000, 15000, 15000]);
  });
});

describe('applyPrices', () => {
  it('applies a batch in order and reports the net move per coin', () => {
    const coins = [coin('bitcoin', 100), coin('ethereum', 10), coin('solana', 5)];
    const t = (s: number) => `2026-01-01T00:00:0${s}.000Z`;
    const r = applyPrices(coins, [
      tick('bitcoin', t(1), 105),
      tick('bitcoin', t(2), 99),
      tick('ethereum', t(1), 12),
      tick('ethereum', t(2), 10),
      tick('bitcoin', t(0), 1),
    ]);
    expect(r.coins.map((c) => c.price_usd)).toEqual([99, 10, 5]);
    expect(r.moves).toEqual({ bitcoin: 'down', ethereum: 'same' });
    expect(r.coins[2]).toBe(coins[2]);
  });
  it('returns the same list for an empty batch', () => {
    const coins = [coin('bitcoin', 100)];
    expect(applyPrices(coins, []).coins).toBe(coins);
  });
});

describe('mergeSnapshot', () => {
  it('keeps newer live prices and takes the rest from the snapshot', () => {
    const live = [coin('bitcoin', 101, '2026-01-01T00:00:05.000Z'), coin('ethereum', 11, '2026-01-01T00:00:01.000Z')];
    const fresh = [
      { ...coin('bitcoin', 100, '2026-01-01T00:00:03.000Z'), volatility_pct: 7, sparkline: [1, 2] },
      coin('ethereum', 12, '2026-01-01T00:00:02.000Z'),
      coin('solana', 5),
    ];
    const m = mergeSnapshot(live, fresh);
    expect(m.map((c) => c.price_usd)).toEqual([101, 12, 5]);
    expect(m[0].volatility_pct).toBe(7);
    expect(m[0].sparkline).toEqual([1, 2]);
    expect(m[0].updated_at).toBe('2026-01-01T00:00:05.000Z');
    expect(m[1]).toBe(fresh[1]);
  });
});

describe('mergeSentiment', () => {
  it('replaces the same hour and keeps time order', () => {
    const a = { time: '2026-01-01T01:00:00.000Z', score: 0.1 };
    const b = { time: '2026-01-01T02:00:00.000Z', score: 0.2 };
    const merged = mergeSentiment([a, b], { time: '2026-01-01T01:00:00Z', score: -0.5 });
    expect(merged.map((p) => p.score)).toEqual([-0.5, 0.2]);
    expect(mergeSentiment(merged, { time: '2026-01-01T00:00:00Z', score: 0 }).map((p) => p.score)).toEqual([0, -0.5, 0.2]);
    expect(mergeSentiment(merged, { time: 'bad', score: 1 })).toBe(merged);
  });
});
