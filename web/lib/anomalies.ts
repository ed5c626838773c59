// Anomalies → chart markers, and the timeline's helpers.

import type { Anomaly, AnomalyKind, Severity } from './schemas';
import { toSeconds } from './candles';

export interface Marker {
  time: number;
  position: 'aboveBar' | 'belowBar';
  shape: 'arrowUp' | 'arrowDown' | 'circle';
  color: string;
  text: string;
  /** The anomaly's own start time (seconds), before snapping to a bar. */
  at: number;
  key: string;
}

// One entry per value the API documents (`satisfies` fails the build when one is missing); a
// lookup takes any string, so a row whose kind or severity the viewer does not know yet still
// renders.
const SEVERITY_COLORS = new Map<string, string>(
  Object.entries({
    high: '#e5484d',
    medium: '#f5a524',
    low: '#8e8cf3',
  } satisfies Record<Severity, string>),
);

const KIND_LABELS = new Map<string, string>(
  Object.entries({
    price_return: 'Price move',
    volume: 'Volume spike',
    divergence: 'Source divergence',
  } satisfies Record<AnomalyKind, string>),
);

/** A severity's colour; an unknown severity gets the colour of `low`. */
export function severityColor(severity: string): string {
  return SEVERITY_COLORS.get(severity) ?? SEVERITY_COLORS.get('low')!;
}

/** A kind's label; an unknown kind shows as it is. */
export function kindLabel(kind: string): string {
  return KIND_LABELS.get(kind) ?? kind;
}

/**
 * The bar a time falls in: the last bar starting at or before it, when it is within one
 * interval of that bar's start; null outside the bars.
 */
export function snapToBar(barTimes: readonly number[], t: number, intervalSec: number): number | null {
  let lo = 0;
  let hi = barTimes.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (barTimes[mid] <= t) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (found < 0) return null;
  return t - barTimes[found] < intervalSec ? barTimes[found] : null;
}

/**
 * Markers for the anomalies that fall within the bars, sorted by time as the chart requires.
 * A move down (observed below baseline) points down under the bar, anything else up above it.
 */
export function toMarkers(anomalies: readonly Anomaly[], barTimes: readonly number[], intervalSec: number): Marker[] {
  const out: Marker[] = [];
  for (const a of anomalies) {
    const at = toSeconds(a.peak_time) ?? toSeconds(a.time);
    if (at === null) continue;
    const time = snapToBar(barTimes, at, intervalSec);
    if (time === null) continue;
    const down = a.kind === 'price_return' && a.observed < a.baseline;
    out.push({
      time,
      at,
      position: down ? 'belowBar' : 'aboveBar',
      shape: a.kind === 'divergence' ? 'circle' : down ? 'arrowUp' : 'arrowDown',
      color: severityColor(a.severity),
      text: kindLabel(a.kind),
      key: `${a.crypto_id}|${a.kind}|${a.source}|${a.time}`,
    });
  }
  return out.sort((x, y) => x.time - y.time);
}

/** x position (0–1) of each anomaly on a timeline from `from` to `to` (ms). */
export function timelinePosition(t: number, from: number, to: number): number {
  if (to <= from) return 0.5;
  return Math.min(1, Math.max(0, (t - from) / (to - from)));
}
