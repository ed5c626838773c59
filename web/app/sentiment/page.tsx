'use client';

// Sentiment over time: market-wide or one coin's hourly news sentiment, and the Fear & Greed
// index's history.

import { useMemo, useState } from 'react';
import { CoinSelect, ErrorBox, FearGreedGauge } from '../../components/bits';
import { LineChart } from '../../components/LineChart';
import type { Line } from '../../components/LineChart';
import { useStale } from '../../components/StaleBanner';
import { useApi } from '../../components/useApi';
import { query } from '../../lib/api';
import { toSeconds } from '../../lib/candles';
import { formatDateTime, formatNumber } from '../../lib/format';
import { mergeSentiment } from '../../lib/live';
import type { CoinPage, FearGreed, SentimentPoint, SentimentSeries } from '../../lib/schemas';
import type { SentimentEvent } from '../../lib/stream-events';
import { useStreamEvent } from '../../components/LiveProvider';

const RANGES = ['24h', '7d', '30d'] as const;

export default function SentimentPage() {
  const [coin, setCoin] = useState('market');
  const [range, setRange] = useState<(typeof RANGES)[number]>('7d');
  const sentiment = useApi<SentimentSeries>(`/sentiment${query({ coin, range })}`, 60_000);
  const market = useApi<SentimentSeries>(
    coin === 'market' ? null : `/sentiment${query({ coin: 'market', range })}`,
    60_000,
  );
  const fg = useApi<FearGreed>('/fear-greed?limit=365', 300_000);
  const coins = useApi<CoinPage>('/coins?limit=100', 300_000);
  const stale = useStale();

  // Hours that change while the page is open arrive on the stream.
  const [live, setLive] = useState<{ base: unknown; points: SentimentPoint[]; marketBase: unknown; market: SentimentPoint[] }>({
    base: null,
    points: [],
    marketBase: null,
    market: [],
  });
  if (sentiment.data && live.base !== sentiment.data) setLive((s) => ({ ...s, base: sentiment.data, points: sentiment.data!.data }));
  if (market.data && live.marketBase !== market.data) setLive((s) => ({ ...s, marketBase: market.data, market: market.data!.data }));
  useStreamEvent<SentimentEvent>('sentiment', (ev) => {
    if (ev.window && ev.window !== '1h') return;
    setLive((s) => ({
      ...s,
      points: ev.crypto_id === coin ? mergeSentiment(s.points, ev) : s.points,
      market: ev.crypto_id === 'market' && coin !== 'market' ? mergeSentiment(s.market, ev) : s.market,
    }));
  });

  const lines = useMemo<Line[]>(() => {
    const toPoints = (d: SentimentPoint[] | undefined) =>
      (d ?? []).flatMap((p) => {
        const t = toSeconds(p.time);
        return t !== null && typeof p.score === 'number' ? [{ time: t, value: p.score }] : [];
      });
    const out: Line[] = [{ label: coin, color: '#4c8dff', points: toPoints(live.points) }];
    if (coin !== 'market') out.push({ label: 'market', color: '#8b949e', points: toPoints(live.market) });
    return out;
  }, [coin, live.points, live.market]);

  const fgLines = useMemo<Line[]>(
    () => [
      {
        label: 'Fear & Greed',
        color: '#f5a524',
        points: (fg.data?.data ?? []).flatMap((p) => {
          const t = toSeconds(p.time);
          return t !== null && typeof p.value === 'number' ? [{ time: t, value: p.value }] : [];
        }),
      },
    ],
    [fg.data],
  );
  const latest = live.points[live.points.length - 1];

  return (
    <div className={stale ? 'stale' : undefined} data-testid="sentiment-page">
      <title>Sentiment · CryptoViz</title>
      <h1>Sentiment</h1>
      <div className="toolbar">
        <CoinSelect label="Scope" value={coin} onChange={setCoin} coins={coins.data?.data} all={{ value: 'market', text: 'Whole market' }} testId="sentiment-coin" />
        <div className="button-group" role="group" aria-label="Range">
          {RANGES.map((r) => (
            <button key={r} type="button" aria-pressed={r === range} onClick={() => setRange(r)}>
              {r}
            </button>
          ))}
        </div>
      </div>
      <div className="layout-2">
        <section className="panel" aria-labelledby="sent-h">
          <h2 id="sent-h">News sentiment per hour (−1 to +1)</h2>
          <ErrorBox error={sentiment.error} what="Sentiment" />
          <LineChart lines={lines} testId="sentiment-chart" label={`Hourly sentiment of ${coin}`} />
          {latest && (
            <p className="small muted">
              Latest hour {formatDateTime(latest.time)}: score {formatNumber(latest.score, 3)} over {latest.articles ?? 0} articles (
              {latest.positive ?? 0} positive, {latest.neutral ?? 0} neutral, {latest.negative ?? 0} negative)
            </p>
          )}
        </section>
        <section className="panel" aria-labelledby="fg-h">
          <h2 id="fg-h">Fear &amp; Greed</h2>
          <ErrorBox error={fg.error} what="The Fear & Greed index" />
          <FearGreedGauge value={fg.data?.latest?.value} classification={fg.data?.latest?.classification} />
          <LineChart lines={fgLines} testId="fear-greed-chart" label="Fear and Greed index history" />
        </section>
      </div>
    </div>
  );
}
