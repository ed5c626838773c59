// Shapes of the API's answers (docs/api.md). Numbers a source does not give are null; every
// field the viewer does not strictly need is optional so an older server still renders.

export type Iso = string;

export interface Coin {
  id: string;
  symbol: string | null;
  name: string | null;
  source: string | null;
  updated_at: Iso | null;
  price_usd: number | null;
  market_cap: number | null;
  volume_24h: number | null;
  change_1h: number | null;
  change_24h: number | null;
  change_7d: number | null;
  volatility_pct?: number | null;
  ath?: number | null;
  atl?: number | null;
  circulating_supply?: number | null;
  sparkline?: number[] | null;
}

export interface CoinDetail extends Coin {
  sources?: SourceSnapshot[];
}

/** One source's latest snapshot of a coin, for the side-by-side comparison. */
export interface SourceSnapshot {
  source: string;
  updated_at?: Iso | null;
  time?: Iso | null;
  price_usd: number | null;
  market_cap?: number | null;
  volume_24h?: number | null;
  change_1h?: number | null;
  change_24h?: number | null;
  change_7d?: number | null;
}

export interface Candle {
  time: Iso | number;
  open: number | null;
  high: number | null;
  low: number | null;
  close: number | null;
  volume?: number | null;
  ticks?: number | null;
}

export interface History {
  id: string;
  source?: string | null;
  interval: string;
  from: Iso;
  to: Iso;
  count: number;
  candles: Candle[];
}

export interface GlobalStats {
  updated_at: Iso | null;
  coins: number;
  total_market_cap: number | null;
  total_volume_24h: number | null;
  btc_dominance: number | null;
  eth_dominance: number | null;
  sources?: unknown;
}

export type AnomalyKind = 'price_return' | 'volume' | 'divergence';
export type Severity = 'low' | 'medium' | 'high';

export interface Anomaly {
  time: Iso;
  crypto_id: string;
  kind: AnomalyKind | string;
  source: string | null;
  end_time?: Iso | null;
  peak_time?: Iso | null;
  observed?: number | null;
  baseline?: number | null;
  score: number | null;
  severity: Severity | string | null;
  status?: string | null;
  detail?: string | null;
}

export type SentimentLabel = 'positive' | 'negative' | 'neutral';

export interface Article {
  time: Iso;
  source: string;
  guid: string | null;
  title: string | null;
  summary?: string | null;
  link?: string | null;
  published_at?: Iso | number | null;
  sentiment_score: number | null;
  sentiment_label: SentimentLabel | string | null;
  /** The contract says an array; a comma-separated string is accepted too. */
  coins: string[] | string | null;
}

export interface SentimentPoint {
  time: Iso;
  score: number | null;
  articles?: number | null;
  positive?: number | null;
  negative?: number | null;
  neutral?: number | null;
}

export interface FearGreedPoint {
  time: Iso;
  source?: string | null;
  value: number | null;
  classification: string | null;
}

export interface FearGreed {
  latest: FearGreedPoint | null;
  count: number;
  data: FearGreedPoint[];
}

export interface List<T> {
  count: number;
  data: T[];
  total?: number;
  limit?: number;
  offset?: number;
}

export type AlertKind = 'price_above' | 'price_below' | 'change_pct' | 'anomaly' | 'sentiment_below';

export interface AlertRule {
  id: string | number;
  kind: AlertKind | string;
  coin: string;
  threshold: number;
  window?: string | null;
  webhook_url?: string | null;
  created_at?: Iso | null;
}

export interface FiredAlert {
  rule_id: string | number;
  coin: string;
  kind: string;
  message: string;
  value: number | null;
  threshold: number | null;
  time: Iso;
}

/** `price` event of the live stream. */
export interface PriceEvent {
  id: string;
  symbol?: string | null;
  source?: string | null;
  time: Iso;
  price_usd: number | null;
  market_cap?: number | null;
  volume_24h?: number | null;
  change_1h?: number | null;
  change_24h?: number | null;
  change_7d?: number | null;
}

/** `sentiment` event: an hourly sentiment row of a coin or of the market (`crypto_id`). */
export interface SentimentEvent extends SentimentPoint {
  crypto_id: string;
  window?: string | null;
}

export interface AnalyticsEvent {
  crypto_id: string;
  window: string;
  time: Iso;
  source?: string | null;
  volatility_pct?: number | null;
  close?: number | null;
  [key: string]: unknown;
}

export const STREAM_EVENTS = ['price', 'analytics', 'anomaly', 'news', 'sentiment', 'alert', 'lagged', 'reset'] as const;
export type StreamEventName = (typeof STREAM_EVENTS)[number];
