'use client';

// Alert rules: create, list, delete. Writes need the API key, entered once and kept in this
// browser's localStorage; fired alerts arrive on the live stream (and show as notifications
// on every page).

import { useState, useSyncExternalStore } from 'react';
import { ErrorBox } from '../../components/bits';
import { useStreamEvent } from '../../components/LiveProvider';
import { useApi } from '../../components/useApi';
import { ALERT_KINDS, CHANGE_WINDOWS, describeRule, ruleBody } from '../../lib/alerts';
import type { RuleForm } from '../../lib/alerts';
import { api, ApiError } from '../../lib/api';
import { formatDateTime, formatNumber, formatUsd } from '../../lib/format';
import { mergeFired } from '../../lib/live';
import type { AlertRule, AlertRuleList, CoinPage, CreatedAlertRule, FiredAlert, FiredAlertList } from '../../lib/schemas';
import type { AlertEvent } from '../../lib/stream-events';

const KEY = 'cryptoviz.apiKey';
const keyListeners = new Set<() => void>();

function readKey(): string {
  try {
    return localStorage.getItem(KEY) ?? '';
  } catch {
    return '';
  }
}

function writeKey(k: string) {
  try {
    if (k) localStorage.setItem(KEY, k);
    else localStorage.removeItem(KEY);
  } catch {
    // Storage refused (private mode): the key is not kept.
  }
  keyListeners.forEach((l) => l());
}

function useApiKey(): string {
  return useSyncExternalStore(
    (l) => {
      keyListeners.add(l);
      return () => keyListeners.delete(l);
    },
    readKey,
    () => '',
  );
}

export default function AlertsPage() {
  const apiKey = useApiKey();
  const [keyDraft, setKeyDraft] = useState('');
  const rules = useApi<AlertRuleList>('/alerts');
  const fired = useApi<FiredAlertList>('/alerts/fired?limit=50');
  const coins = useApi<CoinPage>('/coins?limit=100', 30_000);
  const [form, setForm] = useState<RuleForm>({ kind: 'price_above', coin: 'bitcoin', threshold: '', window: '1h', webhookUrl: '' });
  const [formError, setFormError] = useState<{ message: string; field?: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  const [firedLive, setFiredLive] = useState<{ base: unknown; list: FiredAlert[] }>({ base: null, list: [] });
  if (fired.data && firedLive.base !== fired.data) setFiredLive({ base: fired.data, list: fired.data.data });
  useStreamEvent<AlertEvent>('alert', (f) => setFiredLive((s) => ({ ...s, list: mergeFired(s.list, f) })));

  const selected = coins.data?.data.find((c) => c.id === form.coin);
  const unit = ALERT_KINDS.find((k) => k.kind === form.kind)?.unit ?? '';

  const describeError = (e: unknown) =>
    e instanceof ApiError ? (e.status === 401 ? 'The API key was refused (401): check it below.' : e.unreachable ? 'The API is unreachable.' : e.message) : String(e);

  const create = async (ev: React.FormEvent) => {
    ev.preventDefault();
    setNotice(null);
    const r = ruleBody(form);
    if ('error' in r) {
      setFormError({ message: r.error, field: r.field });
      return;
    }
    if (!apiKey) {
      setFormError({ message: 'Enter the API key first: creating a rule needs it.', field: 'apiKey' });
      return;
    }
    setBusy(true);
    try {
      const rule = await api<CreatedAlertRule>('/alerts', { method: 'POST', body: r.body, apiKey });
      setFormError(null);
      setNotice(`Created: ${describeRule(rule ?? r.body)}`);
      rules.reload();
    } catch (e) {
      setFormError({ message: describeError(e) });
    } finally {
      setBusy(false);
    }
  };

  const remove = async (rule: AlertRule) => {
    setNotice(null);
    try {
      await api<null>(`/alerts/${encodeURIComponent(rule.id)}`, { method: 'DELETE', apiKey });
      setNotice(`Deleted: ${describeRule(rule)}`);
      rules.reload();
    } catch (e) {
      setFormError({ message: describeError(e) });
    }
  };

  const field = (name: keyof RuleForm) => ({
    'aria-invalid': formError?.field === name ? true : undefined,
    'aria-describedby': formError?.field === name ? 'form-error' : undefined,
  });

  return (
    <div data-testid="alerts-page">
      <title>Alerts · CryptoViz</title>
      <h1>Alerts</h1>
      <section className="panel" aria-labelledby="key-h">
        <h2 id="key-h">API key</h2>
        {apiKey ? (
          <p data-testid="api-key-saved">
            A key is saved in this browser (…{apiKey.slice(-2)}).{' '}
            <button type="button" onClick={() => writeKey('')} data-testid="api-key-forget">
              Forget it
            </button>
          </p>
        ) : (
          <form
            className="toolbar"
            onSubmit={(e) => {
              e.preventDefault();
              writeKey(keyDraft.trim());
              setKeyDraft('');
            }}
          >
            <label>
              Key
              <input type="password" autoComplete="off" value={keyDraft} onChange={(e) => setKeyDraft(e.target.value)} data-testid="api-key-input" {...field('apiKey' as keyof RuleForm)} />
            </label>
            <button type="submit" disabled={!keyDraft.trim()} data-testid="api-key-save">
              Save in this browser
            </button>
            <span className="muted small">Needed to create and delete rules; sent as the x-api-key header.</span>
          </form>
        )}
      </section>

      <section className="panel" aria-labelledby="new-h">
        <h2 id="new-h">New rule</h2>
        <form onSubmit={create} className="form-grid" noValidate data-testid="alert-form">
          <label>
            Kind
            <select value={form.kind} onChange={(e) => setForm({ ...form, kind: e.target.value })} data-testid="alert-kind" {...field('kind')}>
              {ALERT_KINDS.map((k) => (
                <option key={k.kind} value={k.kind}>
                  {k.label}
                </option>
              ))}
            </select>
          </label>
          <label>
            Coin
            <select value={form.coin} onChange={(e) => setForm({ ...form, coin: e.target.value })} data-testid="alert-coin" {...field('coin')}>
              {form.kind === 'sentiment_below' && <option value="market">Whole market</option>}
              {(coins.data?.data.map((c) => ({ id: c.id, label: c.name ?? c.id })) ?? [{ id: form.coin, label: form.coin }]).map((c) => (
                <option key={c.id} value={c.id}>
                  {c.label}
                </option>
              ))}
            </select>
          </label>
          <label>
            Threshold ({unit})
            <input inputMode="decimal" value={form.threshold} onChange={(e) => setForm({ ...form, threshold: e.target.value })} data-testid="alert-threshold" {...field('threshold')} />
          </label>
          {form.kind === 'change_pct' && (
            <label>
              Window
              <select value={form.window} onChange={(e) => setForm({ ...form, window: e.target.value })} data-testid="alert-window" {...field('window')}>
                {CHANGE_WINDOWS.map((w) => (
                  <option key={w} value={w}>
                    {w}
                  </option>
                ))}
              </select>
            </label>
          )}
          <label>
            Webhook URL (optional)
            <input type="url" value={form.webhookUrl} onChange={(e) => setForm({ ...form, webhookUrl: e.target.value })} data-testid="alert-webhook" {...field('webhookUrl')} />
          </label>
          <button type="submit" disabled={busy} data-testid="alert-create">
            {busy ? 'Creating…' : 'Create rule'}
          </button>
        </form>
        {selected && (form.kind === 'price_above' || form.kind === 'price_below') && (
          <p className="muted small" data-testid="alert-current-price" data-price={selected.price_usd}>
            {selected.name} is at {formatUsd(selected.price_usd)} now.
          </p>
        )}
        {formError && (
          <div className="error-box" role="alert" id="form-error" data-testid="alert-form-error">
            {formError.message}
          </div>
        )}
        {notice && (
          <p role="status" data-testid="alert-notice">
            {notice}
          </p>
        )}
      </section>

      <section className="panel" aria-labelledby="rules-h">
        <h2 id="rules-h">Rules</h2>
        <ErrorBox error={rules.error} what="Alert rules" />
        {rules.data && rules.data.data.length === 0 && <p className="muted">No rules yet.</p>}
        <ul className="news-list" data-testid="alert-rules">
          {(rules.data?.data ?? []).map((r) => (
            <li key={r.id} className="news-item toolbar" data-testid="alert-rule" data-rule-id={r.id}>
              <span>{describeRule(r)}</span>
              {r.webhook_url && <span className="muted small">→ {r.webhook_url}</span>}
              <button type="button" onClick={() => remove(r)} disabled={!apiKey} aria-label={`Delete rule: ${describeRule(r)}`} data-testid="alert-delete">
                Delete
              </button>
            </li>
          ))}
        </ul>
      </section>

      <section className="panel" aria-labelledby="fired-h">
        <h2 id="fired-h">Fired</h2>
        <ErrorBox error={fired.error} what="Fired alerts" />
        {firedLive.list.length === 0 && <p className="muted">Nothing has fired yet.</p>}
        <ul className="news-list" data-testid="alert-fired">
          {firedLive.list.map((f) => (
            <li key={`${f.rule_id}|${f.time}`} className="news-item" data-testid="alert-fired-item">
              <strong>{f.coin}</strong> {f.message} <span className="muted small">(value {formatNumber(f.value, 6)}, threshold {formatNumber(f.threshold, 6)}, {formatDateTime(f.time, true)})</span>
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}
