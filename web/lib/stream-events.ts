// The live stream's events (`/api/v1/stream`, Server-Sent Events) and what each carries.
//
// The OpenAPI document describes the stream's endpoint but not its events' payloads, so they
// cannot be generated as such. Four of them are documented answer types and are aliased here
// (a window as `/analytics` gives it, an anomaly as `/anomalies`, an article as `/news`, a
// fired alert as `/alerts/fired`); `price` and `sentiment` reuse the generated types of the
// answers they share their fields with, adding only what differs (serving-api/src/live/feed.rs
// builds them).

import type { AnalyticsRow, Anomaly, Article, Coin, FiredAlert, SentimentPoint } from './schemas';

export const STREAM_EVENTS = ['price', 'analytics', 'anomaly', 'news', 'sentiment', 'alert', 'lagged', 'reset'] as const;
export type StreamEventName = (typeof STREAM_EVENTS)[number];

/** `price`: one tick, with a coin snapshot's fields and its event time as `time`. */
export type PriceEvent = Pick<
  Coin,
  'id' | 'symbol' | 'name' | 'source' | 'price_usd' | 'market_cap' | 'volume_24h' | 'change_1h' | 'change_24h' | 'change_7d'
> & { time: string };

/** `sentiment`: an hour of a coin's (or, with `crypto_id` `market`, the market's) sentiment. */
export type SentimentEvent = SentimentPoint & { crypto_id: string; window?: string | null };

/** `analytics`: a window that changed, as `/analytics` answers it. */
export type AnalyticsEvent = AnalyticsRow;
/** `anomaly`: an episode that started or changed, as `/anomalies` answers it. */
export type AnomalyEvent = Anomaly;
/** `news`: a new article, as `/news` answers it. */
export type NewsEvent = Article;
/** `alert`: a rule that fired, as `/alerts/fired` answers it. */
export type AlertEvent = FiredAlert;
