// Small presentational pieces shared by the pages.

import type { ReactNode } from 'react';
import type { ApiError } from '../lib/api';
import { direction, formatPercent } from '../lib/format';
import { fearGreedBand, fearGreedColor, gaugeNeedle, tone } from '../lib/sentiment';
import { sparklinePoints } from '../lib/table';
import type { Coin } from '../lib/schemas';

export function Change({ value, testId }: { value: number | null | undefined; testId?: string }) {
  return (
    <span className={direction(value)} data-testid={testId}>
      {formatPercent(value)}
    </span>
  );
}

export function Sparkline({ values, width = 100, height = 28 }: { values: readonly (number | null)[] | null | undefined; width?: number; height?: number }) {
  const points = values ? sparklinePoints(values, width, height) : '';
  if (!points) return <span className="muted">—</span>;
  const v = values!.filter((x): x is number => typeof x === 'number');
  const cls = v[v.length - 1] >= v[0] ? 'up' : 'down';
  return (
    <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} className={cls} role="img" aria-label="Price over the last 24 hours" data-testid="sparkline">
      <polyline points={points} fill="none" stroke="currentColor" strokeWidth="1.5" />
    </svg>
  );
}

export function SentimentBadge({ label, score }: { label: string | null | undefined; score: number | null | undefined }) {
  const t = tone(label, score);
  const s = typeof score === 'number' ? ` ${score >= 0 ? '+' : ''}${score.toFixed(2)}` : '';
  return (
    <span className={`badge badge-${t}`} data-testid="sentiment-badge" data-tone={t} title={`Sentiment: ${t}${s}`}>
      {t}
      {s}
    </span>
  );
}

export function SeverityBadge({ severity }: { severity: string | null | undefined }) {
  const s = severity ?? 'low';
  return <span className={`badge badge-${s}`}>{s}</span>;
}

export function FearGreedGauge({ value, classification }: { value: number | null | undefined; classification?: string | null }) {
  const cx = 90;
  const cy = 84;
  const r = 70;
  if (typeof value !== 'number') return <div className="muted">No Fear &amp; Greed reading yet</div>;
  const needle = gaugeNeedle(value, cx, cy, r - 12);
  const bands = [0, 25, 45, 56, 76, 100];
  const arc = (a: number, b: number) => {
    const p = gaugeNeedle(a, cx, cy, r);
    const q = gaugeNeedle(b, cx, cy, r);
    return `M ${p.x} ${p.y} A ${r} ${r} 0 0 1 ${q.x} ${q.y}`;
  };
  return (
    <svg viewBox="0 0 180 110" className="gauge" style={{ width: '100%', maxWidth: 180, height: 'auto' }} role="img" aria-label={`Fear and Greed index ${value}: ${classification ?? fearGreedBand(value)}`} data-testid="fear-greed-gauge" data-value={value}>
      {bands.slice(0, -1).map((b, i) => (
        <path key={b} d={arc(b, bands[i + 1] - 0.5)} stroke={fearGreedColor(b)} strokeWidth="12" fill="none" />
      ))}
      <line x1={cx} y1={cy} x2={needle.x} y2={needle.y} stroke="currentColor" strokeWidth="3" style={{ color: 'var(--text)' }} />
      <circle cx={cx} cy={cy} r="5" fill="var(--text)" />
      <text x={cx} y={cy + 22} textAnchor="middle" fontSize="14" fontWeight="700">
        {value} · {classification ?? fearGreedBand(value)}
      </text>
    </svg>
  );
}

export function Card({ label, value, testId, children }: { label: string; value: ReactNode; testId?: string; children?: ReactNode }) {
  return (
    <div className="card" data-testid={testId}>
      <div className="card-label">{label}</div>
      <div className="card-value">{value}</div>
      {children}
    </div>
  );
}

/** An API error, worded for a person: unreachable, or what the API said. */
export function ErrorBox({ error, what }: { error: ApiError | null; what: string }) {
  if (!error) return null;
  const text = error.unreachable
    ? `The API is unreachable: ${what} cannot be loaded.`
    : error.status === 404
      ? `${what}: not available (${error.message}).`
      : `${what} failed to load: ${error.message}`;
  return (
    <div className="error-box" role="alert" data-testid="api-error" data-code={error.code}>
      {text}
    </div>
  );
}

/** A labelled coin picker: `all` is the first option (its value and text), then every coin. */
export function CoinSelect({ label, value, onChange, coins, all, testId }: {
  label: string;
  value: string;
  onChange: (id: string) => void;
  coins: readonly Coin[] | undefined;
  all: { value: string; text: string };
  testId: string;
}) {
  return (
    <label>
      {label}
      <select value={value} onChange={(e) => onChange(e.target.value)} data-testid={testId}>
        <option value={all.value}>{all.text}</option>
        {(coins ?? []).map((c) => (
          <option key={c.id} value={c.id}>
            {c.name ?? c.id}
          </option>
        ))}
      </select>
    </label>
  );
}
