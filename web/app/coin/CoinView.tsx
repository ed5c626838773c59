'use client';

import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { useMemo, useState } from 'react';
import { CandleChart } from '../../components/CandleChart';
import type { Overlays } from '../../components/CandleChart';
import { Change, ErrorBox, SentimentBadge, SeverityBadge } from '../../components/bits';
import { useStreamBatch, useStreamEvent } from '../../components/LiveProvider';
import { useStale } from '../../components/StaleBanner';
import { useApi } from '../../components/useApi';
import { query } from '../../lib/api';
import { kindLabel, toMarkers } from '../../lib/anomalies';
import { INTERVALS, RANGES, intervalSeconds, isInterval, isRange, rangeSeconds, toBars, toVolumeBars } from '../../lib/candles';
import type { Interval, Range } from '../../lib/candles';
import { formatClock, formatCompactUsd, formatDateTime, formatNumber, formatUsd, toMillis } from '../../lib/format';
import { applyPrices, articleCoins, mergeAnomaly, mergeArticle } from '../../lib/live';
import type { Anomaly, AnomalyList, Article, ArticleList, Coin, CoinDetail, History } from '../../lib/schemas';
import type { AnomalyEvent, NewsEvent, PriceEvent } from '../../lib/stream-events';

const OVERLAY_LABELS: [keyof Overlays, string][] = [
  ['sma20', 'SMA 20'],
  ['sma50', 'SMA 50'],
  ['ema20', 'EMA 20'],
  ['ema50', 'EMA 50'],
  ['bollinger', 'Bollinger'],
  ['rsi', 'RSI 14'],
  ['macd', 'MACD'],
];

export function CoinView() {
  const params = useSearchParams();
  const router = useRouter();
  const id = params.get('id') ?? '';
  const range: Range = isRange(params.get('range')) ? (params.get('range') as Range) : '24h';
  const interval: Interval = isInterval(params.get('interval')) ? (params.get('interval') as Interval) : 'auto';
  const atMs = toMillis(params.get('at'));
  const stale = useStale();

  const go = (next: { range?: Range; interval?: Interval; at?: string | null }) => {
    const q = query({
      id,
      range: next.range ?? range,
      interval: next.interval ?? interval,
      at: next.at === undefined ? params.get('at') : next.at,
    });
    router.replace(`/coin/${q}`, { scroll: false });
  };

  // With `at` (from an anomaly), the window is centred on that moment instead of ending now.
  const historyPath = id
    ? atMs !== null
      ? `/coins/${encodeURIComponent(id)}/history${query({
          from: new Date(atMs - (rangeSeconds(range) * 1000) / 2).toISOString(),
          to: new Date(atMs + (rangeSeconds(range) * 1000) / 2).toISOString(),
          interval,
        })}`
      : `/coins/${encodeURIComponent(id)}/history${query({ range, interval })}`
    : null;
  const history = useApi<History>(historyPath);
  const detail = useApi<CoinDetail>(id ? `/coins/${encodeURIComponent(id)}` : null, 30_000);
  const h = history.data;
  const anomaliesRes = useApi<AnomalyList>(
    id && h ? `/anomalies${query({ coin: id, from: h.from, to: h.to, limit: 500 })}` : null,
  );
  const newsRes = useApi<ArticleList>(id ? `/news${query({ coin: id, limit: 10 })}` : null);

  const [overlays, setOverlays] = useState<Overlays>({
    sma20: true,
    sma50: false,
    ema20: false,
    ema50: false,
    bollinger: false,
    rsi: true,
    macd: true,
  });

  const intervalSec = intervalSeconds(h?.interval) ?? 60;
  const bars = useMemo(() => (h ? toBars(h.candles) : []), [h]);
  const volume = useMemo(() => (h ? toVolumeBars(h.candles, 'rgba(38,166,154,0.45)', 'rgba(239,83,80,0.45)') : []), [h]);

  // Live anomalies and articles for this coin join the loaded ones.
  const [liveAnomalies, setLiveAnomalies] = useState<{ base: unknown; list: Anomaly[] }>({ base: null, list: [] });
  if (anomaliesRes.data && liveAnomalies.base !== anomaliesRes.data) {
    setLiveAnomalies({ base: anomaliesRes.data, list: anomaliesRes.data.data });
  }
  useStreamEvent<AnomalyEvent>('anomaly', (a) => {
    if (a.crypto_id === id) setLiveAnomalies((s) => ({ ...s, list: mergeAnomaly(s.list, a) }));
  });
  const [liveNews, setLiveNews] = useState<{ base: unknown; list: Article[] }>({ base: null, list: [] });
  if (newsRes.data && liveNews.base !== newsRes.data) {
    setLiveNews({ base: newsRes.data, list: newsRes.data.data });
  }
  useStreamEvent<NewsEvent>('news', (a) => {
    if (articleCoins(a).includes(id)) setLiveNews((s) => ({ ...s, list: mergeArticle(s.list, a, 10) }));
  });

  // The header's price follows the stream.
  const [livePrice, setLivePrice] = useState<{ base: unknown; coin: CoinDetail | null }>({ base: null, coin: null });
  if (detail.data && livePrice.base !== detail.data) {
    setLivePrice({ base: detail.data, coin: detail.data });
  }
  useStreamBatch<PriceEvent>('price', (events) => {
    setLivePrice((s) => {
      if (!s.coin) return s;
      const r = applyPrices([s.coin], events);
      return r.coins[0] === s.coin ? s : { ...s, coin: { ...s.coin, ...r.coins[0] } };
    });
  });

  const markers = useMemo(
    () => toMarkers(liveAnomalies.list, bars.map((b) => b.time), intervalSec),
    [liveAnomalies.list, bars, intervalSec],
  );
  const focus = atMs !== null ? Math.floor(atMs / 1000) : null;
  const coin = livePrice.coin;

  if (!id) {
    return (
      <p>
        No coin chosen. <Link href="/">Pick one from the market overview.</Link>
      </p>
    );
  }

  return (
    <div className={stale ? 'stale' : undefined} data-testid="coin-page" data-coin={id}>
      <title>{`${coin?.name ?? id} · CryptoViz`}</title>
      <h1>
        {coin?.name ?? id} <span className="muted">{coin?.symbol?.toUpperCase()}</span>{' '}
        <span data-testid="coin-header-price">{formatUsd(coin?.price_usd)}</span>
      </h1>
      <div className="toolbar small">
        <span>
          1h <Change value={coin?.change_1h} />
        </span>
        <span>
          24h <Change value={coin?.change_24h} />
        </span>
        <span>
          7d <Change value={coin?.change_7d} />
        </span>
        <span className="muted">Market cap {formatCompactUsd(coin?.market_cap)}</span>
        <span className="muted">Volume 24h {formatCompactUsd(coin?.volume_24h)}</span>
        <span className="muted">Updated {formatDateTime(coin?.updated_at, true)}</span>
      </div>
      <ErrorBox error={detail.error} what={`The coin ${id}`} />

      <div className="panel">
        <div className="toolbar">
          <div className="button-group" role="group" aria-label="Range">
            {RANGES.map((r) => (
              <button key={r} type="button" aria-pressed={r === range} onClick={() => go({ range: r })} data-testid={`range-${r}`}>
                {r}
              </button>
            ))}
          </div>
          <label>
            Interval
            <select value={interval} onChange={(e) => go({ interval: e.target.value as Interval })} data-testid="interval-select">
              {INTERVALS.map((i) => (
                <option key={i} value={i}>
                  {i}
                </option>
              ))}
            </select>
          </label>
          {OVERLAY_LABELS.map(([k, label]) => (
            <label key={k} className="small">
              <input
                type="checkbox"
                checked={overlays[k]}
                onChange={(e) => setOverlays((o) => ({ ...o, [k]: e.target.checked }))}
                data-testid={`overlay-${k}`}
              />
              {label}
            </label>
          ))}
          {atMs !== null && (
            <button type="button" onClick={() => go({ at: null })} data-testid="clear-focus">
              Back to latest (centred on {formatDateTime(atMs)})
            </button>
          )}
        </div>
        <ErrorBox error={history.error} what="The price history" />
        {h && (
          <p className="muted small" data-testid="history-span">
            {bars.length} candles of {h.interval} from {formatDateTime(h.from)} to {formatDateTime(h.to)}
          </p>
        )}
        {history.loading && !h && <p className="muted">Loading candles…</p>}
        {h && bars.length === 0 && <p className="muted">No candles in this range yet.</p>}
        {bars.length > 0 && (
          <CandleChart coinId={id} bars={bars} volume={volume} intervalSec={intervalSec} overlays={overlays} markers={markers} focus={focus} />
        )}
      </div>

      <div className="layout-2">
        <section className="panel" aria-labelledby="anomalies-h">
          <h2 id="anomalies-h">Anomalies in this range</h2>
          <ErrorBox error={anomaliesRes.error} what="Anomalies" />
          {liveAnomalies.list.length === 0 ? (
            <p className="muted">None detected in this range.</p>
          ) : (
            <ul className="news-list" data-testid="coin-anomalies">
              {liveAnomalies.list.slice(0, 30).map((a) => (
                <li key={`${a.kind}|${a.source}|${a.time}`} className="news-item" data-testid="coin-anomaly">
                  <SeverityBadge severity={a.severity} /> {kindLabel(a.kind)} · score {formatNumber(a.score, 2)} ·{' '}
                  <button type="button" className="link-button" onClick={() => go({ at: new Date(toMillis(a.peak_time) ?? toMillis(a.time) ?? 0).toISOString() })}>
                    {formatDateTime(a.peak_time, true)}
                  </button>
                  {a.detail && <div className="muted small">{a.detail}</div>}
                </li>
              ))}
            </ul>
          )}
        </section>
        <section className="panel" aria-labelledby="sources-h">
          <h2 id="sources-h">Sources side by side</h2>
          <SourcesTable sources={coin?.sources ?? []} />
        </section>
      </div>

      <section className="panel" aria-labelledby="news-h">
        <h2 id="news-h">News about {coin?.name ?? id}</h2>
        <ErrorBox error={newsRes.error} what="News" />
        {liveNews.list.length === 0 && !newsRes.loading && <p className="muted">No articles mention this coin yet.</p>}
        <ul className="news-list">
          {liveNews.list.map((a) => (
            <li key={a.guid ?? `${a.source}${a.time}`} className="news-item" data-testid="coin-news-item">
              <div className="news-title">{a.link ? <a href={a.link} target="_blank" rel="noreferrer noopener">{a.title}</a> : a.title}</div>
              <div className="news-meta">
                <SentimentBadge label={a.sentiment_label} score={a.sentiment_score} />
                <span className="muted">{a.source}</span>
                <span className="muted">{formatDateTime(a.published_at ?? a.time)}</span>
              </div>
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}

function SourcesTable({ sources }: { sources: Coin[] }) {
  if (!sources.length) return <p className="muted">Only one source reports this coin.</p>;
  const rows: [string, (s: Coin) => string][] = [
    ['Price', (s) => formatUsd(s.price_usd)],
    ['Market cap', (s) => formatCompactUsd(s.market_cap)],
    ['Volume 24h', (s) => formatCompactUsd(s.volume_24h)],
    ['Change 24h', (s) => (typeof s.change_24h === 'number' ? `${s.change_24h.toFixed(2)}%` : '—')],
    ['Updated', (s) => `${formatClock(s.updated_at)} UTC`],
  ];
  const prices = sources.map((s) => s.price_usd).filter((p): p is number => typeof p === 'number');
  const spread = prices.length > 1 ? ((Math.max(...prices) - Math.min(...prices)) / Math.min(...prices)) * 100 : null;
  return (
    <div className="table-wrap">
      <table data-testid="sources-table">
        <thead>
          <tr>
            <th scope="col">Field</th>
            {sources.map((s) => (
              <th key={s.source} scope="col" className="num">
                {s.source}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map(([label, f]) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              {sources.map((s) => (
                <td key={s.source} className="num">
                  {f(s)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {spread !== null && <p className="muted small">Price spread between sources: {spread.toFixed(3)}%</p>}
    </div>
  );
}
