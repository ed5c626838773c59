'use client';

// Anomalies: a timeline and a list with filters; each one opens the coin chart at that moment.

import Link from 'next/link';
import { useState } from 'react';
import { CoinSelect, ErrorBox, SeverityBadge } from '../../components/bits';
import { useStreamEvent } from '../../components/LiveProvider';
import { useStale } from '../../components/StaleBanner';
import { useApi } from '../../components/useApi';
import { query } from '../../lib/api';
import { kindLabel, severityColor, timelinePosition } from '../../lib/anomalies';
import { formatDateTime, formatNumber, toMillis } from '../../lib/format';
import { mergeAnomaly } from '../../lib/live';
import type { Anomaly, AnomalyList, CoinPage, Severity } from '../../lib/schemas';
import type { AnomalyEvent } from '../../lib/stream-events';

const RANGES = ['1h', '24h', '7d', '30d'] as const;
const SEVERITY_Y = new Map<string, number>(Object.entries({ high: 15, medium: 35, low: 55 } satisfies Record<Severity, number>));

function coinHref(a: Anomaly): string {
  const at = toMillis(a.peak_time) ?? toMillis(a.time);
  return `/coin/${query({ id: a.crypto_id, range: '24h', at: at === null ? null : new Date(at).toISOString() })}`;
}

export default function AnomaliesPage() {
  const [coin, setCoin] = useState('');
  const [kind, setKind] = useState('');
  const [severity, setSeverity] = useState('');
  const [range, setRange] = useState<(typeof RANGES)[number]>('24h');
  const res = useApi<AnomalyList>(`/anomalies${query({ coin, kind, severity, range, limit: 500 })}`);
  const coins = useApi<CoinPage>('/coins?limit=100', 300_000);
  const stale = useStale();

  const [live, setLive] = useState<{ base: unknown; list: Anomaly[] }>({ base: null, list: [] });
  if (res.data && live.base !== res.data) setLive({ base: res.data, list: res.data.data });
  useStreamEvent<AnomalyEvent>('anomaly', (a) => {
    if ((coin && a.crypto_id !== coin) || (kind && a.kind !== kind) || (severity && a.severity !== severity)) return;
    setLive((s) => ({ ...s, list: mergeAnomaly(s.list, a) }));
  });

  const times = live.list.map((a) => toMillis(a.time)).filter((t): t is number => t !== null);
  const from = times.length ? Math.min(...times) : 0;
  const to = times.length ? Math.max(...times) : 1;

  return (
    <div className={stale ? 'stale' : undefined} data-testid="anomalies-page">
      <title>Anomalies · CryptoViz</title>
      <h1>Anomalies</h1>
      <div className="toolbar" role="group" aria-label="Filters">
        <CoinSelect label="Coin" value={coin} onChange={setCoin} coins={coins.data?.data} all={{ value: '', text: 'All coins' }} testId="anomaly-filter-coin" />
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.target.value)} data-testid="anomaly-filter-kind">
            <option value="">Any</option>
            <option value="price_return">Price move</option>
            <option value="volume">Volume spike</option>
            <option value="divergence">Source divergence</option>
          </select>
        </label>
        <label>
          Severity
          <select value={severity} onChange={(e) => setSeverity(e.target.value)} data-testid="anomaly-filter-severity">
            <option value="">Any</option>
            <option value="high">High</option>
            <option value="medium">Medium</option>
            <option value="low">Low</option>
          </select>
        </label>
        <div className="button-group" role="group" aria-label="Range">
          {RANGES.map((r) => (
            <button key={r} type="button" aria-pressed={r === range} onClick={() => setRange(r)}>
              {r}
            </button>
          ))}
        </div>
        <span className="muted small">{live.list.length} anomalies</span>
      </div>
      <ErrorBox error={res.error} what="Anomalies" />

      {live.list.length > 0 && (
        <div className="panel">
          <svg className="timeline" viewBox="0 0 1000 70" preserveAspectRatio="none" role="group" aria-label="Anomaly timeline, high severity on top" data-testid="anomaly-timeline">
            <line x1="0" y1="65" x2="1000" y2="65" stroke="var(--border)" />
            {live.list.map((a) => {
              const t = toMillis(a.time) ?? from;
              return (
                <a key={`${a.crypto_id}|${a.kind}|${a.source}|${a.time}`} href={coinHref(a)} aria-label={`${a.crypto_id} ${kindLabel(a.kind)} at ${formatDateTime(a.time)}`}>
                  <circle cx={8 + timelinePosition(t, from, to) * 984} cy={SEVERITY_Y.get(a.severity) ?? 55} r="6" fill={severityColor(a.severity)} />
                </a>
              );
            })}
          </svg>
          <div className="muted small toolbar">
            <span>{formatDateTime(from)}</span>
            <span style={{ marginLeft: 'auto' }}>{formatDateTime(to)}</span>
          </div>
        </div>
      )}

      {!res.loading && !res.error && live.list.length === 0 && <p className="muted">No anomalies match these filters in this range.</p>}
      <div className="table-wrap">
        <table data-testid="anomaly-table">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Coin</th>
              <th scope="col">Kind</th>
              <th scope="col">Severity</th>
              <th scope="col" className="num">
                Score
              </th>
              <th scope="col" className="num hide-sm">
                Observed
              </th>
              <th scope="col" className="num hide-sm">
                Baseline
              </th>
              <th scope="col" className="hide-sm">
                Status
              </th>
            </tr>
          </thead>
          <tbody>
            {live.list.map((a) => (
              <tr key={`${a.crypto_id}|${a.kind}|${a.source}|${a.time}`} data-testid="anomaly-row" data-coin={a.crypto_id}>
                <td>
                  <Link href={coinHref(a)} data-testid="anomaly-link">
                    {formatDateTime(a.time, true)}
                  </Link>
                </td>
                <td>{a.crypto_id}</td>
                <td>
                  {kindLabel(a.kind)}
                  {a.source && <span className="muted small"> · {a.source}</span>}
                </td>
                <td>
                  <SeverityBadge severity={a.severity} />
                </td>
                <td className="num">{formatNumber(a.score, 2)}</td>
                <td className="num hide-sm">{formatNumber(a.observed, 4)}</td>
                <td className="num hide-sm">{formatNumber(a.baseline, 4)}</td>
                <td className="hide-sm">{a.status || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
