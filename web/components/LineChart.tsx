'use client';

// A small multi-line time chart (sentiment, Fear & Greed history) on lightweight-charts.

import { useEffect, useRef } from 'react';
import { ColorType, createChart, LineSeries } from 'lightweight-charts';
import type { UTCTimestamp } from 'lightweight-charts';
import { useTheme } from './ThemeToggle';

export interface Line {
  label: string;
  color: string;
  points: { time: number; value: number }[];
  /** A separate price scale on the left (for a second unit). */
  left?: boolean;
}

export function LineChart({ lines, testId, label }: { lines: Line[]; testId: string; label: string }) {
  const el = useRef<HTMLDivElement>(null);
  const theme = useTheme();
  useEffect(() => {
    if (!el.current) return;
    const dark = theme === 'dark';
    const chart = createChart(el.current, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: dark ? '#161b22' : '#ffffff' },
        textColor: dark ? '#c9d1d9' : '#1f2328',
      },
      grid: { vertLines: { color: dark ? '#232a33' : '#eef1f5' }, horzLines: { color: dark ? '#232a33' : '#eef1f5' } },
      timeScale: { timeVisible: true },
      leftPriceScale: { visible: lines.some((l) => l.left) },
    });
    for (const l of lines) {
      const s = chart.addSeries(LineSeries, { color: l.color, lineWidth: 2, title: l.label, priceScaleId: l.left ? 'left' : 'right' });
      // A line needs strictly increasing times: keep the last value of a duplicated time.
      const byTime = new Map<number, number>();
      l.points.forEach((p) => byTime.set(p.time, p.value));
      s.setData([...byTime.entries()].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time: time as UTCTimestamp, value })));
    }
    chart.timeScale().fitContent();
    return () => chart.remove();
  }, [lines, theme]);
  const total = lines.reduce((n, l) => n + l.points.length, 0);
  return <div ref={el} className="chart-small" role="img" aria-label={label} data-testid={testId} data-points={total} />;
}
