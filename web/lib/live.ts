// Merging live stream events into the state the pages hold. Pure: each function takes the
// current state and one event and returns the next state (the same object when nothing changed).

import type { Anomaly, Article, Coin, FiredAlert, SentimentPoint } from './schemas';
import type { AnalyticsEvent, PriceEvent } from './stream-events';
import { toMillis } from './format';

/** Parses an event's JSON `data`; null when it is not a JSON object. */
export function parseData<T>(raw: string): T | null {
  try {
    const v: unknown = JSON.parse(raw);
    return v !== null && typeof v === 'object' ? (v as T) : null;
  } catch {
    return null;
  }
}

export interface PriceMerge {
  coins: Coin[];
  /** The coin whose price changed, and which way; null when the event changed nothing. */
  changed: { id: string; move: 'up' | 'down' | 'same' } | null;
}

/**
 * Applies a `price` event to the coin list. An event older than what the list already shows
 * (a replay after a reconnect, racing a fresh REST load) is ignored, so numbers never go back
 * in time. An unknown coin is ignored too: the overview lists what the API lists.
 */
export function applyPrice(coins: readonly Coin[], ev: PriceEvent): PriceMerge {
  const i = coins.findIndex((c) => c.id === ev.id);
  if (i < 0 || typeof ev.price_usd !== 'number') return { coins: coins as Coin[], changed: null };
  const coin = coins[i];
  const evMs = toMillis(ev.time);
  const haveMs = toMillis(coin.updated_at);
  if (evMs !== null && haveMs !== null && evMs < haveMs) return { coins: coins as Coin[], changed: null };
  const before = coin.price_usd;
  const next: Coin = {
    ...coin,
    price_usd: ev.price_usd,
    updated_at: ev.time ?? coin.updated_at,
    source: ev.source ?? coin.source,
    market_cap: ev.market_cap ?? coin.market_cap,
    volume_24h: ev.volume_24h ?? coin.volume_24h,
    change_1h: ev.change_1h ?? coin.change_1h,
    change_24h: ev.change_24h ?? coin.change_24h,
    change_7d: ev.change_7d ?? coin.change_7d,
  };
  const out = coins.slice();
  out[i] = next;
  const move = before === ev.price_usd ? 'same' : ev.price_usd > before ? 'up' : 'down';
  return { coins: out, changed: { id: coin.id, move } };
}

/** Applies an `analytics` event: the 1-hour window's volatility replaces the coin's. */
export function applyAnalytics(coins: readonly Coin[], ev: AnalyticsEvent): Coin[] {
  if (ev.window !== '1h' || typeof ev.volatility_pct !== 'number') return coins as Coin[];
  const i = coins.findIndex((c) => c.id === ev.crypto_id);
  if (i < 0) return coins as Coin[];
  const out = coins.slice();
  out[i] = { ...coins[i], volatility_pct: ev.volatility_pct };
  return out;
}

function articleKey(a: Article): string {
  return a.guid ?? `${a.source}|${a.time}|${a.title}`;
}

/** Adds an article to a newest-first list (replacing the same guid), keeping at most `cap`. */
export function mergeArticle(list: readonly Article[], a: Article, cap = 200): Article[] {
  const key = articleKey(a);
  const rest = list.filter((x) => articleKey(x) !== key);
  rest.push(a);
  rest.sort((x, y) => (toMillis(y.time) ?? 0) - (toMillis(x.time) ?? 0));
  return rest.slice(0, cap);
}

/** An anomaly episode's identity: its start, coin, kind and source (updates share it). */
export function anomalyKey(a: Anomaly): string {
  return `${a.crypto_id}|${a.kind}|${a.source ?? ''}|${toMillis(a.time) ?? a.time}`;
}

/** Adds or updates an anomaly episode in a newest-first list, keeping at most `cap`. */
export function mergeAnomaly(list: readonly Anomaly[], a: Anomaly, cap = 500): Anomaly[] {
  const key = anomalyKey(a);
  const rest = list.filter((x) => anomalyKey(x) !== key);
  rest.push(a);
  rest.sort((x, y) => (toMillis(y.time) ?? 0) - (toMillis(x.time) ?? 0));
  return rest.slice(0, cap);
}

/** Adds a fired alert to a newest-first list unless the same rule already fired at that time. */
export function mergeFired(list: readonly FiredAlert[], f: FiredAlert, cap = 100): FiredAlert[] {
  if (list.some((x) => x.rule_id === f.rule_id && x.time === f.time)) return list as FiredAlert[];
  return [f, ...list].slice(0, cap);
}

/** Article coin ids (empty ids dropped). */
export function articleCoins(a: Pick<Article, 'coins'>): string[] {
  return a.coins.filter((c) => c !== '');
}

/** Whether an article passes the news page's filters (empty filter = any). */
export function articleMatches(
  a: Article,
  f: { coin?: string; source?: string; sentiment?: string },
): boolean {
  if (f.coin && !articleCoins(a).includes(f.coin)) return false;
  if (f.source && a.source !== f.source) return false;
  if (f.sentiment && a.sentiment_label !== f.sentiment) return false;
  return true;
}

/** The stream URL: plain, or resuming after `lastEventId` (for a reconnect made by hand). */
export function streamUrl(lastEventId: string | null): string {
  const base = '/api/v1/stream';
  return lastEventId ? `${base}?last_event_id=${encodeURIComponent(lastEventId)}` : base;
}

/** Delay before the `attempt`-th manual reconnect (1-based): 1 s doubling up to 15 s. */
export function backoffMs(attempt: number): number {
  return Math.min(15_000, 1000 * 2 ** Math.max(0, attempt - 1));
}

/**
 * Applies a batch of `price` events in order (the stream can carry many ticks a second; pages
 * apply them a few times a second). Returns the new list and, per coin that changed, its move
 * over the whole batch.
 */
export function applyPrices(
  coins: readonly Coin[],
  events: readonly PriceEvent[],
): { coins: Coin[]; moves: Record<string, 'up' | 'down' | 'same'> } {
  const before = new Map(coins.map((c) => [c.id, c.price_usd]));
  let out = coins as Coin[];
  const touched = new Set<string>();
  for (const ev of events) {
    const r = applyPrice(out, ev);
    if (r.changed) {
      out = r.coins;
      touched.add(r.changed.id);
    }
  }
  const moves: Record<string, 'up' | 'down' | 'same'> = {};
  for (const c of out) {
    if (!touched.has(c.id)) continue;
    const b = before.get(c.id);
    moves[c.id] = b === undefined || b === c.price_usd ? 'same' : c.price_usd > b ? 'up' : 'down';
  }
  return { coins: out, moves };
}

/**
 * A fresh REST snapshot of the coins, merged with what the stream already showed: a coin whose
 * live price is newer than the snapshot's keeps its live figures (the store lags the stream a
 * little) and takes the rest (sparkline, volatility, supply) from the snapshot.
 */
export function mergeSnapshot(live: readonly Coin[], fresh: readonly Coin[]): Coin[] {
  const byId = new Map(live.map((c) => [c.id, c]));
  return fresh.map((f) => {
    const l = byId.get(f.id);
    const lt = toMillis(l?.updated_at);
    const ft = toMillis(f.updated_at);
    if (!l || lt === null || (ft !== null && ft >= lt)) return f;
    return {
      ...f,
      updated_at: l.updated_at,
      price_usd: l.price_usd,
      market_cap: l.market_cap,
      volume_24h: l.volume_24h,
      change_1h: l.change_1h,
      change_24h: l.change_24h,
      change_7d: l.change_7d,
    };
  });
}

/** Adds or replaces (same hour) a sentiment point in an oldest-first series. */
export function mergeSentiment(points: readonly SentimentPoint[], p: SentimentPoint): SentimentPoint[] {
  const t = toMillis(p.time);
  if (t === null) return points as SentimentPoint[];
  const out = points.filter((x) => toMillis(x.time) !== t);
  out.push(p);
  out.sort((a, b) => (toMillis(a.time) ?? 0) - (toMillis(b.time) ?? 0));
  return out;
}
