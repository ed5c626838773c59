// The alert rule form: validation and the request body it produces.

import type { AlertKind, NewAlertRule } from './schemas';

export const ALERT_KINDS: { kind: AlertKind; label: string; unit: string }[] = [
  { kind: 'price_above', label: 'Price above', unit: 'USD' },
  { kind: 'price_below', label: 'Price below', unit: 'USD' },
  { kind: 'change_pct', label: 'Change over window (|%|)', unit: '%' },
  { kind: 'anomaly', label: 'Anomaly (minimum score)', unit: 'score' },
  { kind: 'sentiment_below', label: 'Sentiment below', unit: 'score' },
];

/** The windows a `change_pct` rule can watch: the changes the sources report (the API
 *  refuses any other; its schema types `window` as a plain string, so the list is kept here). */
export const CHANGE_WINDOWS = ['1h', '24h', '7d'] as const;

export interface RuleForm {
  kind: string;
  coin: string;
  threshold: string;
  window: string;
  webhookUrl: string;
}

export type RuleBody = NewAlertRule;

/** The body to POST, or the first problem with the form (naming the field). */
export function ruleBody(f: RuleForm): { body: RuleBody } | { error: string; field: keyof RuleForm } {
  const kind = ALERT_KINDS.find((k) => k.kind === f.kind)?.kind;
  if (!kind) return { error: 'Choose a kind of alert', field: 'kind' };
  const coin = f.coin.trim();
  if (!coin) return { error: 'Choose a coin', field: 'coin' };
  if (coin === 'market' && kind !== 'sentiment_below') {
    return { error: 'Only a sentiment alert can watch the whole market', field: 'coin' };
  }
  const threshold = Number(f.threshold.trim());
  if (f.threshold.trim() === '' || !Number.isFinite(threshold)) {
    return { error: 'The threshold must be a number', field: 'threshold' };
  }
  if ((kind === 'price_above' || kind === 'price_below' || kind === 'change_pct') && threshold <= 0) {
    return { error: 'The threshold must be positive', field: 'threshold' };
  }
  const body: RuleBody = { kind, coin, threshold };
  if (kind === 'change_pct') {
    if (!(CHANGE_WINDOWS as readonly string[]).includes(f.window)) {
      return { error: `Choose a window: ${CHANGE_WINDOWS.join(', ')}`, field: 'window' };
    }
    body.window = f.window;
  }
  const hook = f.webhookUrl.trim();
  if (hook) {
    if (!/^https?:\/\/\S+$/.test(hook)) return { error: 'The webhook must be an http(s) URL', field: 'webhookUrl' };
    body.webhook_url = hook;
  }
  return { body };
}

/** `bitcoin price above $65,000.00`-style description of a rule. */
export function describeRule(r: { kind: string; coin: string; threshold: number; window?: string | null }): string {
  const t = r.threshold;
  switch (r.kind) {
    case 'price_above':
      return `${r.coin} price above $${t.toLocaleString('en-US')}`;
    case 'price_below':
      return `${r.coin} price below $${t.toLocaleString('en-US')}`;
    case 'change_pct':
      return `${r.coin} moves more than ${t}% over ${r.window ?? '?'}`;
    case 'anomaly':
      return `any anomaly on ${r.coin} with score ≥ ${t}`;
    case 'sentiment_below':
      return `${r.coin} sentiment below ${t}`;
    default:
      return `${r.kind} ${r.coin} ${t}`;
  }
}
