'use client';

// Pipeline status: each producer's health and breaker, each consumer's state (running,
// retrying, failed) with its last error, and its counters (lag, late rows, dead letters).
// Polled every 5 s.

import { ErrorBox } from '../../components/bits';
import { useNow } from '../../components/ConnectionIndicator';
import { useLive } from '../../components/LiveProvider';
import { useApi } from '../../components/useApi';
import { formatAgo, formatDateTime, formatNumber } from '../../lib/format';

// The API documents `/sources` and `/status` as free-form JSON (no schema in the OpenAPI
// document, so nothing to generate): these are the viewer's defensive reading of them, every
// field optional or checked before use.

interface SourceStatus {
  name: string;
  published?: number;
  rejected?: number;
  last_success_ms?: number | null;
  last_error?: [number, string] | { time?: number; message?: string } | null;
  breaker?: string | null;
  [key: string]: unknown;
}

/** `/sources`: `{count, data: [...]}`. */
interface SourceList {
  count?: number;
  data?: SourceStatus[];
}

type Counters = Record<string, unknown>;

/** One consumer group's lag on one topic, as `/status` reports it. */
interface Lag {
  group: string;
  topic: string;
  records: number;
}

function lastError(e: SourceStatus['last_error']): { at: number | null; message: string } | null {
  if (!e) return null;
  if (Array.isArray(e)) return { at: e[0], message: e[1] };
  return { at: e.time ?? null, message: e.message ?? '' };
}

function Value({ v, name = '' }: { v: unknown; name?: string }) {
  if (v === null || v === undefined) return <>—</>;
  // Epoch-millisecond fields (`closed_until_ms`, `last_success_ms`) read as times.
  if (typeof v === 'number' && name.endsWith('_ms') && v > 1e11) return <>{formatDateTime(v, true)}</>;
  if (typeof v === 'number') return <>{formatNumber(v, 3)}</>;
  if (typeof v === 'string' || typeof v === 'boolean') return <>{String(v)}</>;
  if (Array.isArray(v)) return <>{v.length ? JSON.stringify(v) : '—'}</>;
  const entries = Object.entries(v as Record<string, unknown>);
  if (!entries.length) return <>—</>;
  return (
    <dl className="kv">
      {entries.map(([k, x]) => (
        <div key={k} style={{ display: 'contents' }}>
          <dt>{k.replace(/_ms$/, '').replace(/_/g, ' ')}</dt>
          <dd>
            <Value v={x} name={k} />
          </dd>
        </div>
      ))}
    </dl>
  );
}

export default function StatusPage() {
  const sources = useApi<SourceList>('/sources', 5000);
  const status = useApi<{ sources?: unknown; consumers?: Record<string, Counters>; lag?: Lag[]; [k: string]: unknown }>('/status', 5000);
  const { state, lagged } = useLive();
  const now = useNow(5000);

  const consumers = status.data?.consumers ?? {};
  const lag = Array.isArray(status.data?.lag) ? status.data.lag : [];
  const others = Object.entries(status.data ?? {}).filter(([k]) => k !== 'sources' && k !== 'consumers' && k !== 'lag');
  const deadLetters = Object.values(consumers).reduce((n, c) => n + (typeof c.dead_letters === 'number' ? c.dead_letters : 0), 0);
  const lateRows = Object.values(consumers).reduce((n, c) => n + (typeof c.late_rows === 'number' ? c.late_rows : 0), 0);
  const rejected = (sources.data?.data ?? []).reduce((n, s) => n + (s.rejected ?? 0), 0);

  return (
    <div data-testid="status-page">
      <title>Status · CryptoViz</title>
      <h1>Pipeline status</h1>
      <p className="muted small">
        Refreshed every 5 s{status.fetchedAt !== null && `, last at ${formatDateTime(status.fetchedAt, true)}`}. Live stream: {state}
        {lagged > 0 && ` (this browser fell behind and skipped ${lagged} events)`}.
      </p>
      <div className="cards">
        <div className="card" data-testid="status-dlq">
          <div className="card-label">Dead letters (DLQ)</div>
          <div className="card-value">{formatNumber(deadLetters + rejected, 0)}</div>
          <div className="muted small">
            {rejected} rejected by validation, {deadLetters} undecodable
          </div>
        </div>
        <div className="card" data-testid="status-late">
          <div className="card-label">Late rows</div>
          <div className="card-value">{formatNumber(lateRows, 0)}</div>
        </div>
      </div>
      <ErrorBox error={sources.error} what="Producer status" />
      <h2>Producers</h2>
      <div className="table-wrap">
        <table data-testid="sources-status">
          <thead>
            <tr>
              <th scope="col">Source</th>
              <th scope="col">Breaker</th>
              <th scope="col">Last success</th>
              <th scope="col">Last error</th>
              <th scope="col" className="num">
                Published
              </th>
              <th scope="col" className="num">
                Rejected
              </th>
            </tr>
          </thead>
          <tbody>
            {(sources.data?.data ?? []).map((s) => {
              const err = lastError(s.last_error);
              const ok = s.last_success_ms ?? null;
              const failing = err !== null && (ok === null || (err.at ?? 0) > ok);
              return (
                <tr key={s.name} data-testid="source-row">
                  <td>
                    <span className={failing ? 'down' : 'up'} aria-hidden="true">
                      ●{' '}
                    </span>
                    {s.name}
                    <span className="skip-link">{failing ? ' failing' : ' healthy'}</span>
                  </td>
                  <td>
                    <span className={s.breaker === 'open' ? 'badge badge-high' : s.breaker === 'half-open' ? 'badge badge-medium' : 'badge badge-neutral'}>
                      {s.breaker ?? 'none'}
                    </span>
                  </td>
                  <td>{formatAgo(ok, now)}</td>
                  <td className="small">{err ? `${formatAgo(err.at, now)}: ${err.message}` : '—'}</td>
                  <td className="num">{formatNumber(s.published ?? null, 0)}</td>
                  <td className="num">{formatNumber(s.rejected ?? null, 0)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <h2>Consumers</h2>
      <ErrorBox error={status.error} what="Consumer status" />
      {lag.length > 0 && (
        <div className="table-wrap">
          <table data-testid="consumer-lag">
            <caption className="muted small">
              Lag: records appended to a topic and not yet committed by the group. The price group commits no further than the first tick of its
              oldest open window (up to an hour of ticks), so part of its lag is read and waiting for its window to close.
            </caption>
            <thead>
              <tr>
                <th scope="col">Group</th>
                <th scope="col">Topic</th>
                <th scope="col" className="num">
                  Lag (records)
                </th>
              </tr>
            </thead>
            <tbody>
              {lag.map((l) => (
                <tr key={`${l.group}/${l.topic}`}>
                  <td>{l.group}</td>
                  <td>{l.topic}</td>
                  <td className="num">{formatNumber(l.records, 0)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="cards">
        {Object.entries(consumers).map(([name, c]) => {
          const state = typeof c.state === 'string' ? c.state : 'unknown';
          const err = (c.last_error ?? null) as { message?: string; at_ms?: number; retryable?: boolean } | null;
          const counters = Object.fromEntries(Object.entries(c).filter(([k]) => k !== 'state' && k !== 'last_error'));
          return (
            <div key={name} className="card" data-testid="consumer-card">
              <div className="card-label">
                {name}{' '}
                <span
                  data-testid="consumer-state"
                  className={state === 'running' ? 'badge badge-neutral' : state === 'failed' ? 'badge badge-high' : 'badge badge-medium'}
                >
                  {state}
                </span>
              </div>
              {err && (
                <p className="small" data-testid="consumer-error">
                  Last error {formatAgo(err.at_ms ?? null, now)}
                  {err.retryable ? ' (retried)' : ''}: {err.message}
                </p>
              )}
              <Value v={counters} />
            </div>
          );
        })}
        {others.map(([name, v]) => (
          <div key={name} className="card">
            <div className="card-label">{name.replace(/_/g, ' ')}</div>
            <Value v={v} />
          </div>
        ))}
      </div>
    </div>
  );
}
