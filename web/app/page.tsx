'use client';

// Market overview: global stats, Fear & Greed, and the coin table updated live from the stream.

import Link from 'next/link';
import { useState } from 'react';
import { Card, Change, ErrorBox, FearGreedGauge, Sparkline } from '../components/bits';
import { useStreamBatch, useStreamEvent } from '../components/LiveProvider';
import { useStale } from '../components/StaleBanner';
import { useApi } from '../components/useApi';
import { formatCompactUsd, formatDateTime, formatPercent, formatUsd } from '../lib/format';
import { applyAnalytics, applyPrices, mergeSnapshot } from '../lib/live';
import { filterCoins, nextSort, sortCoins } from '../lib/table';
import type { Movement, Order, SortKey } from '../lib/table';
import type { Coin, CoinPage, FearGreed, GlobalStats, TopVolatile } from '../lib/schemas';
import type { AnalyticsEvent, PriceEvent } from '../lib/stream-events';

interface Flash {
  move: 'up' | 'down' | 'same';
  n: number;
}

const COLUMNS: { key: SortKey; label: string; num: boolean; hideSm?: boolean }[] = [
  { key: 'name', label: 'Coin', num: false },
  { key: 'price_usd', label: 'Price', num: true },
  { key: 'change_1h', label: '1h', num: true, hideSm: true },
  { key: 'change_24h', label: '24h', num: true },
  { key: 'change_7d', label: '7d', num: true, hideSm: true },
  { key: 'volume_24h', label: 'Volume 24h', num: true, hideSm: true },
  { key: 'market_cap', label: 'Market cap', num: true },
  { key: 'volatility_pct', label: 'Volatility 1h', num: true, hideSm: true },
];

export default function Overview() {
  const coinsRes = useApi<CoinPage>('/coins?sparkline=true&limit=100', 60_000);
  const global = useApi<GlobalStats>('/global', 30_000);
  const fearGreed = useApi<FearGreed>('/fear-greed?limit=1', 60_000);
  const volatile = useApi<TopVolatile>('/analytics/top-volatile?window=1h&limit=3', 60_000);
  const stale = useStale();

  // Live coins: the REST answer, then every price event merged in. A new REST answer replaces
  // the merged state (set during render: the documented way to reset state from new input).
  const [live, setLive] = useState<{ base: CoinPage | null; coins: Coin[]; flash: Record<string, Flash> }>({
    base: null,
    coins: [],
    flash: {},
  });
  if (coinsRes.data !== live.base && coinsRes.data) {
    setLive({ base: coinsRes.data, coins: mergeSnapshot(live.coins, coinsRes.data.data), flash: live.flash });
  }

  useStreamBatch<PriceEvent>('price', (events) => {
    setLive((s) => {
      const r = applyPrices(s.coins, events);
      if (r.coins === s.coins) return s;
      const flash = { ...s.flash };
      for (const [id, move] of Object.entries(r.moves)) flash[id] = { move, n: (flash[id]?.n ?? 0) + 1 };
      return { ...s, coins: r.coins, flash };
    });
  });
  useStreamEvent<AnalyticsEvent>('analytics', (ev) => {
    setLive((s) => {
      const coins = applyAnalytics(s.coins, ev);
      return coins === s.coins ? s : { ...s, coins };
    });
  });

  const [sort, setSort] = useState<{ key: SortKey; order: Order }>({ key: 'market_cap', order: 'desc' });
  const [queryText, setQueryText] = useState('');
  const [movement, setMovement] = useState<Movement>('all');
  const rows = sortCoins(filterCoins(live.coins, queryText, movement), sort.key, sort.order);

  const g = global.data;
  const fg = fearGreed.data?.latest;
  return (
    <div className={stale ? 'stale' : undefined} data-testid="overview">
      <title>Market · CryptoViz</title>
      <h1>Market overview</h1>
      <div className="cards">
        <Card label="Total market cap" value={formatCompactUsd(g?.total_market_cap)} testId="stat-market-cap" />
        <Card label="24h volume" value={formatCompactUsd(g?.total_volume_24h)} testId="stat-volume" />
        <Card label="BTC dominance" value={formatPercent(g?.btc_dominance, false)} testId="stat-btc-dominance" />
        <Card label="ETH dominance" value={formatPercent(g?.eth_dominance, false)} testId="stat-eth-dominance" />
        <Card label="Most volatile (1h)" value={null} testId="stat-volatile">
          {volatile.error ? (
            <div className="muted small">Unavailable ({volatile.error.message})</div>
          ) : (volatile.data?.data ?? []).length === 0 ? (
            <div className="muted small">No hour of data yet</div>
          ) : (
            <ol className="small" style={{ margin: 0, paddingLeft: 18 }}>
              {volatile.data!.data.map((v) => (
                <li key={v.id}>
                  <Link href={`/coin/?id=${encodeURIComponent(v.id)}`}>{v.id}</Link> {formatPercent(v.volatility_pct, false)}
                </li>
              ))}
            </ol>
          )}
        </Card>
        <Card label="Fear & Greed" value={null} testId="stat-fear-greed">
          <FearGreedGauge value={fg?.value} classification={fg?.classification} />
        </Card>
      </div>
      <ErrorBox error={global.error} what="Global statistics" />
      <ErrorBox error={fearGreed.error} what="The Fear & Greed index" />

      <div className="toolbar">
        <label>
          Filter
          <input
            type="search"
            value={queryText}
            onChange={(e) => setQueryText(e.target.value)}
            placeholder="Name or symbol"
            data-testid="coin-filter"
          />
        </label>
        <label>
          Show
          <select value={movement} onChange={(e) => setMovement(e.target.value as Movement)} data-testid="coin-movement">
            <option value="all">All coins</option>
            <option value="gainers">24h gainers</option>
            <option value="losers">24h losers</option>
          </select>
        </label>
        <span className="muted small" data-testid="coin-count">
          {rows.length} of {live.coins.length} coins
          {coinsRes.fetchedAt !== null && ` · loaded ${formatDateTime(coinsRes.fetchedAt, true)}`}
        </span>
      </div>
      <ErrorBox error={coinsRes.error} what="The coin list" />
      {coinsRes.loading && !live.coins.length && <p className="muted">Loading coins…</p>}

      <div className="table-wrap">
        <table data-testid="coin-table">
          <caption className="skip-link">Coins, sortable by each column</caption>
          <thead>
            <tr>
              <th scope="col" className="num hide-sm">
                #
              </th>
              {COLUMNS.map((c) => (
                <th
                  key={c.key}
                  scope="col"
                  className={`${c.num ? 'num' : ''} ${c.hideSm ? 'hide-sm' : ''}`}
                  aria-sort={sort.key === c.key ? (sort.order === 'asc' ? 'ascending' : 'descending') : 'none'}
                >
                  <button type="button" onClick={() => setSort((s) => nextSort(s, c.key))} data-testid={`sort-${c.key}`}>
                    {c.label}
                    {sort.key === c.key ? (sort.order === 'asc' ? ' ▲' : ' ▼') : ''}
                  </button>
                </th>
              ))}
              <th scope="col" className="hide-sm">
                Last 24h
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((c, i) => {
              const f = live.flash[c.id];
              return (
                <tr key={c.id} data-testid="coin-row" data-coin={c.id}>
                  <td className="num muted hide-sm">{i + 1}</td>
                  <td className="coin-name">
                    <Link href={`/coin/?id=${encodeURIComponent(c.id)}`} data-testid={`coin-link-${c.id}`}>
                      {c.name ?? c.id}
                    </Link>
                    <span className="muted">{c.symbol?.toUpperCase()}</span>
                  </td>
                  <td className="num">
                    <span
                      key={f?.n ?? 0}
                      className={f && f.move !== 'same' ? `flash-${f.move}` : undefined}
                      data-testid="coin-price"
                    >
                      {formatUsd(c.price_usd)}
                    </span>
                  </td>
                  <td className="num hide-sm">
                    <Change value={c.change_1h} />
                  </td>
                  <td className="num">
                    <Change value={c.change_24h} />
                  </td>
                  <td className="num hide-sm">
                    <Change value={c.change_7d} />
                  </td>
                  <td className="num hide-sm">{formatCompactUsd(c.volume_24h)}</td>
                  <td className="num">{formatCompactUsd(c.market_cap)}</td>
                  <td className="num hide-sm">{formatPercent(c.volatility_pct, false)}</td>
                  <td className="hide-sm">
                    <Sparkline values={c.sparkline} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}
