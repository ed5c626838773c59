import { Suspense } from 'react';
import { CoinView } from './CoinView';

// A static page: the coin comes from the query string (`/coin/?id=bitcoin&range=24h`), read on
// the client, so one exported HTML file serves every coin.
export default function CoinPage() {
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <CoinView />
    </Suspense>
  );
}
