'use client';

import { formatClock } from '../lib/format';
import { useLive } from './LiveProvider';

/**
 * Shown under the header while the live connection is down: the numbers on the page stopped
 * updating when it was lost, and the page says so instead of passing them off as current.
 */
export function StaleBanner() {
  const { state, lostAt } = useLive();
  if (state === 'open' || lostAt === null) return null;
  return (
    <div className="banner banner-warn" role="alert" data-testid="disconnected-banner">
      <strong>The API is unreachable.</strong> Live updates stopped at {formatClock(lostAt)} UTC; the figures
      below are not current. Reconnecting automatically…
    </div>
  );
}

/** True while shown data may be stale (the live connection is down). */
export function useStale(): boolean {
  const { state, lostAt } = useLive();
  return state !== 'open' && lostAt !== null;
}
