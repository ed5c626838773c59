'use client';

// Loading one API resource: keeps the previous answer while a new one loads (so a page does not
// blank on every refresh), reloads when the live stream says data may have been missed, and
// optionally polls.

import { useCallback, useEffect, useState } from 'react';
import { api, ApiError } from '../lib/api';
import { useLive } from './LiveProvider';

export interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
  /** True until the current path has answered once (data or error). */
  loading: boolean;
  /** When the data shown was fetched (ms). */
  fetchedAt: number | null;
  reload: () => void;
}

interface State<T> {
  path: string | null;
  data: T | null;
  error: ApiError | null;
  fetchedAt: number | null;
}

export function useApi<T>(path: string | null, pollMs?: number): Loaded<T> {
  const { generation } = useLive();
  const [tick, setTick] = useState(0);
  const [state, setState] = useState<State<T>>({ path: null, data: null, error: null, fetchedAt: null });

  useEffect(() => {
    if (!path) return;
    const ctl = new AbortController();
    api<T>(path, { signal: ctl.signal }).then(
      (data) => setState({ path, data, error: null, fetchedAt: Date.now() }),
      (e: unknown) => {
        if (ctl.signal.aborted) return;
        const error = e instanceof ApiError ? e : new ApiError(0, 'unreachable', String(e));
        // Keep what was shown, marked with the error, when the same resource fails to refresh.
        setState((s) => ({ path, data: s.path === path ? s.data : null, error, fetchedAt: s.path === path ? s.fetchedAt : null }));
      },
    );
    return () => ctl.abort();
  }, [path, generation, tick]);

  useEffect(() => {
    if (!pollMs || !path) return;
    const t = setInterval(() => setTick((n) => n + 1), pollMs);
    return () => clearInterval(t);
  }, [pollMs, path]);

  const reload = useCallback(() => setTick((n) => n + 1), []);
  const current = state.path === path;
  return {
    data: current ? state.data : null,
    error: current ? state.error : null,
    loading: path !== null && !current,
    fetchedAt: current ? state.fetchedAt : null,
    reload,
  };
}
