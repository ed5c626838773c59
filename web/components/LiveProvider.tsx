'use client';

// The one live connection every page shares: an EventSource on /api/v1/stream, its state for
// the indicator, a subscription API for pages, and the fired-alert notifications.
//
// Reconnecting: the browser's EventSource retries by itself after a dropped connection and
// sends Last-Event-ID, so the server replays what was missed. When it gives up (readyState
// CLOSED, e.g. the server answered an error), we reconnect by hand with back-off and pass
// `?last_event_id=`. A `reset` event (the server no longer has what we missed) and every
// reopening after an outage bump `generation`, which pages use to reload their REST data.

import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { backoffMs, parseData, streamUrl } from '../lib/live';
import type { FiredAlert } from '../lib/schemas';
import { STREAM_EVENTS } from '../lib/stream-events';
import type { StreamEventName } from '../lib/stream-events';

export type ConnectionState = 'connecting' | 'open' | 'closed';

type Handler = (data: unknown, id: string | null) => void;

export interface Notification extends FiredAlert {
  key: string;
}

interface LiveValue {
  state: ConnectionState;
  /** When the stream last delivered an event (ms), or null. */
  lastEventAt: number | null;
  /** When the connection was lost (ms), or null while it is up. */
  lostAt: number | null;
  /** Bumped whenever REST data may have missed events and should be reloaded. */
  generation: number;
  lagged: number;
  subscribe: (event: StreamEventName, handler: Handler) => () => void;
  notifications: Notification[];
  dismiss: (key: string) => void;
  reconnect: () => void;
}

const LiveContext = createContext<LiveValue | null>(null);

export function useLive(): LiveValue {
  const v = useContext(LiveContext);
  if (!v) throw new Error('useLive outside LiveProvider');
  return v;
}

/** Calls `handler` for every `event` of the stream while the component is mounted. */
export function useStreamEvent<T>(event: StreamEventName, handler: (data: T) => void): void {
  const { subscribe } = useLive();
  const ref = useRef(handler);
  useEffect(() => {
    ref.current = handler;
  });
  useEffect(() => subscribe(event, (d) => ref.current(d as T)), [subscribe, event]);
}

/**
 * Collects every `event` of the stream and hands them over in batches every `ms` (the stream
 * can carry hundreds of ticks a second; a page re-renders a few times a second at most).
 */
export function useStreamBatch<T>(event: StreamEventName, handler: (items: T[]) => void, ms = 250): void {
  const { subscribe } = useLive();
  const ref = useRef(handler);
  useEffect(() => {
    ref.current = handler;
  });
  useEffect(() => {
    let buffer: T[] = [];
    const off = subscribe(event, (d) => {
      buffer.push(d as T);
    });
    const timer = setInterval(() => {
      if (!buffer.length) return;
      const batch = buffer;
      buffer = [];
      ref.current(batch);
    }, ms);
    return () => {
      off();
      clearInterval(timer);
    };
  }, [subscribe, event, ms]);
}

export function LiveProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<ConnectionState>('connecting');
  const [lastEventAt, setLastEventAt] = useState<number | null>(null);
  const [lostAt, setLostAt] = useState<number | null>(null);
  const [generation, setGeneration] = useState(0);
  const [lagged, setLagged] = useState(0);
  const [notifications, setNotifications] = useState<Notification[]>([]);
  const [attempt, setAttempt] = useState(0);

  const handlers = useRef(new Map<StreamEventName, Set<Handler>>());
  const lastId = useRef<string | null>(null);
  const wasLost = useRef(false);
  const failures = useRef(0);

  const subscribe = useCallback((event: StreamEventName, handler: Handler) => {
    let set = handlers.current.get(event);
    if (!set) {
      set = new Set();
      handlers.current.set(event, set);
    }
    set.add(handler);
    return () => {
      set.delete(handler);
    };
  }, []);

  useEffect(() => {
    // The first connection is plain; a manual reconnect resumes after the last seen id.
    const es = new EventSource(attempt === 0 ? streamUrl(null) : streamUrl(lastId.current));
    let retry: ReturnType<typeof setTimeout> | null = null;
    let lastSeenAt = 0;

    const markLost = () => {
      if (!wasLost.current) {
        wasLost.current = true;
        setLostAt(Date.now());
      }
    };

    es.onopen = () => {
      failures.current = 0;
      setState('open');
      setLostAt(null);
      if (wasLost.current) {
        wasLost.current = false;
        setGeneration((g) => g + 1);
      }
    };
    es.onerror = () => {
      markLost();
      if (es.readyState === EventSource.CLOSED) {
        setState('closed');
        failures.current += 1;
        retry = setTimeout(() => setAttempt((a) => a + 1), backoffMs(failures.current));
      } else {
        setState('connecting');
      }
    };
    for (const name of STREAM_EVENTS) {
      es.addEventListener(name, (e) => {
        const msg = e as MessageEvent<string>;
        if (msg.lastEventId) lastId.current = msg.lastEventId;
        // Re-render the "last event" clock at most once a second.
        const now = Date.now();
        if (now - lastSeenAt > 1000) {
          lastSeenAt = now;
          setLastEventAt(now);
        }
        const data = parseData<Record<string, unknown>>(msg.data);
        if (name === 'reset') {
          setGeneration((g) => g + 1);
        } else if (name === 'lagged') {
          const missed = Number((data as { missed?: unknown } | null)?.missed ?? msg.data);
          setLagged((n) => n + (Number.isFinite(missed) ? missed : 1));
          setGeneration((g) => g + 1);
        } else if (name === 'alert' && data) {
          const fired = data as unknown as FiredAlert;
          const key = `${fired.rule_id}|${fired.time}`;
          setNotifications((list) =>
            list.some((n) => n.key === key) ? list : [{ ...fired, key }, ...list].slice(0, 5),
          );
        }
        if (data === null && name !== 'lagged' && name !== 'reset') return;
        handlers.current.get(name)?.forEach((h) => h(data, msg.lastEventId || null));
      });
    }
    return () => {
      if (retry) clearTimeout(retry);
      es.close();
    };
  }, [attempt]);

  const dismiss = useCallback((key: string) => {
    setNotifications((list) => list.filter((n) => n.key !== key));
  }, []);

  const reconnect = useCallback(() => {
    failures.current = 0;
    setState('connecting');
    setAttempt((a) => a + 1);
  }, []);

  const value = useMemo<LiveValue>(
    () => ({ state, lastEventAt, lostAt, generation, lagged, subscribe, notifications, dismiss, reconnect }),
    [state, lastEventAt, lostAt, generation, lagged, subscribe, notifications, dismiss, reconnect],
  );
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}
