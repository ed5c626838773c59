'use client';

import { formatDateTime, formatNumber } from '../lib/format';
import { useLive } from './LiveProvider';

/** Fired alerts from the live stream, as dismissable toasts on every page. */
export function Notifications() {
  const { notifications, dismiss } = useLive();
  return (
    <div className="toasts" aria-live="assertive" aria-label="Alert notifications" data-testid="notifications">
      {notifications.map((n) => (
        <div key={n.key} className="toast" role="alert" data-testid="notification" data-rule-id={String(n.rule_id)}>
          <div className="toast-title">
            Alert: {n.coin} · {n.kind.replace(/_/g, ' ')}
          </div>
          <div>{n.message}</div>
          <div className="muted small">
            value {formatNumber(n.value, 6)} · threshold {formatNumber(n.threshold, 6)} · {formatDateTime(n.time, true)}
          </div>
          <button type="button" className="link-button" onClick={() => dismiss(n.key)} aria-label="Dismiss notification">
            Dismiss
          </button>
        </div>
      ))}
    </div>
  );
}
