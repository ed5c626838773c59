'use client';

// The news feed: newest first, live, with sentiment badges, coin tags and filters.

import Link from 'next/link';
import { useState } from 'react';
import { CoinSelect, ErrorBox, SentimentBadge } from '../../components/bits';
import { useStreamEvent } from '../../components/LiveProvider';
import { useStale } from '../../components/StaleBanner';
import { useApi } from '../../components/useApi';
import { query } from '../../lib/api';
import { formatDateTime } from '../../lib/format';
import { articleCoins, articleMatches, mergeArticle } from '../../lib/live';
import type { Article, ArticleList, CoinPage, NewsSourceList } from '../../lib/schemas';
import type { NewsEvent } from '../../lib/stream-events';

export default function NewsPage() {
  const [coin, setCoin] = useState('');
  const [source, setSource] = useState('');
  const [sentiment, setSentiment] = useState('');
  const filters = { coin, source, sentiment };
  const res = useApi<ArticleList>(`/news${query({ ...filters, limit: 50 })}`);
  const sources = useApi<NewsSourceList>('/news/sources', 60_000);
  const coins = useApi<CoinPage>('/coins?limit=100', 300_000);
  const stale = useStale();

  const [feed, setFeed] = useState<{ base: unknown; list: Article[]; fresh: Set<string> }>({ base: null, list: [], fresh: new Set() });
  if (res.data && feed.base !== res.data) {
    setFeed({ base: res.data, list: res.data.data, fresh: new Set() });
  }
  useStreamEvent<NewsEvent>('news', (a) => {
    if (!articleMatches(a, filters)) return;
    setFeed((s) => ({ ...s, list: mergeArticle(s.list, a, 100), fresh: new Set(s.fresh).add(a.guid ?? '') }));
  });

  const sourceNames = sources.data?.data.map((s) => s.source) ?? [];
  return (
    <div className={stale ? 'stale' : undefined} data-testid="news-page">
      <title>News · CryptoViz</title>
      <h1>News</h1>
      <div className="toolbar" role="group" aria-label="Filters">
        <CoinSelect label="Coin" value={coin} onChange={setCoin} coins={coins.data?.data} all={{ value: '', text: 'All coins' }} testId="news-filter-coin" />
        <label>
          Source
          <select value={source} onChange={(e) => setSource(e.target.value)} data-testid="news-filter-source">
            <option value="">All sources</option>
            {sourceNames.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Sentiment
          <select value={sentiment} onChange={(e) => setSentiment(e.target.value)} data-testid="news-filter-sentiment">
            <option value="">Any</option>
            <option value="positive">Positive</option>
            <option value="neutral">Neutral</option>
            <option value="negative">Negative</option>
          </select>
        </label>
        <span className="muted small">{feed.list.length} articles</span>
      </div>
      <ErrorBox error={res.error} what="News" />
      <ErrorBox error={sources.error} what="News sources" />
      {res.loading && feed.list.length === 0 && <p className="muted">Loading news…</p>}
      {!res.loading && !res.error && feed.list.length === 0 && <p className="muted">No articles match these filters.</p>}
      <div className="panel">
      <ul className="news-list" aria-live="polite" data-testid="news-list">
        {feed.list.map((a) => (
          <li key={a.guid ?? `${a.source}${a.time}`} className="news-item" data-testid="news-item">
            <div className="news-title" data-testid="news-title">
              {a.link ? (
                <a href={a.link} target="_blank" rel="noreferrer noopener">
                  {a.title}
                </a>
              ) : (
                a.title
              )}
              {feed.fresh.has(a.guid ?? '') && <span className="badge badge-low"> new</span>}
            </div>
            {a.summary && <div className="muted small">{a.summary}</div>}
            <div className="news-meta">
              <SentimentBadge label={a.sentiment_label} score={a.sentiment_score} />
              {articleCoins(a).map((c) => (
                <Link key={c} href={`/coin/?id=${encodeURIComponent(c)}`} className="tag" data-testid="coin-tag">
                  {c}
                </Link>
              ))}
              <span className="muted">{a.source}</span>
              <span className="muted">{formatDateTime(a.published_at ?? a.time)}</span>
            </div>
          </li>
        ))}
      </ul>
      </div>
    </div>
  );
}
