'use client';

import { useEffect, useState } from 'react';
import { formatAgo } from '../lib/format';
import { useLive } from './LiveProvider';

const LABELS = { open: 'Live', connecting: 'Reconnecting…', closed: 'Disconnected' } as const;

/** The header's live-connection badge: state, last event age, a manual reconnect. */
export function ConnectionIndicator() {
  const { state, lastEventAt, reconnect } = useLive();
  const now = useNow(5000);
  const label = state === 'connecting' && lastEventAt === null ? 'Connecting…' : LABELS[state];
  return (
    <div className={`conn conn-${state}`} data-testid="connection-status" data-state={state} data-last-event={lastEventAt ?? ''}>
      <span className="conn-dot" aria-hidden="true" />
      <span role="status" aria-live="polite">
        {label}
      </span>
      {state === 'open' && lastEventAt !== null && <span className="muted conn-age">{formatAgo(lastEventAt, now)}</span>}
      {state !== 'open' && (
        <button type="button" className="link-button" onClick={reconnect} data-testid="reconnect">
          Retry now
        </button>
      )}
    </div>
  );
}

/** The current time, refreshed every `ms` (for "5 s ago" labels). */
export function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
