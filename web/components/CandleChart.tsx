'use client';

// The coin's candlestick chart (lightweight-charts): candles and volume in the main pane,
// optional SMA/EMA/Bollinger overlays, RSI and MACD in panes of their own, anomaly markers,
// zoom and pan (mouse, touch, and keyboard via the buttons or arrow/+/- keys when focused).
// Live prices for the coin extend the last candle as they arrive.

import { useEffect, useRef, useState } from 'react';
import {
  CandlestickSeries,
  ColorType,
  createChart,
  createSeriesMarkers,
  HistogramSeries,
  LineSeries,
} from 'lightweight-charts';
import type { IChartApi, ISeriesApi, ISeriesMarkersPluginApi, SeriesMarker, Time, UTCTimestamp } from 'lightweight-charts';
import type { Bar, VolumeBar } from '../lib/candles';
import { mergeTick, toSeconds } from '../lib/candles';
import { bollinger, ema, macd, rsi, sma, toLine } from '../lib/indicators';
import type { Marker } from '../lib/anomalies';
import type { PriceEvent } from '../lib/stream-events';
import { useStreamBatch } from './LiveProvider';
import { useTheme } from './ThemeToggle';

export interface Overlays {
  sma20: boolean;
  sma50: boolean;
  ema20: boolean;
  ema50: boolean;
  bollinger: boolean;
  rsi: boolean;
  macd: boolean;
}

interface Props {
  coinId: string;
  bars: Bar[];
  volume: VolumeBar[];
  intervalSec: number;
  overlays: Overlays;
  markers: Marker[];
  /** A time (s) to centre the view on, e.g. an anomaly's. */
  focus: number | null;
}

const ts = (t: number) => t as UTCTimestamp;

function palette(theme: 'dark' | 'light') {
  return theme === 'dark'
    ? { bg: '#161b22', text: '#c9d1d9', grid: '#232a33', up: '#26a69a', down: '#ef5350', border: '#2d3540' }
    : { bg: '#ffffff', text: '#1f2328', grid: '#eef1f5', up: '#0f7b6c', down: '#c62828', border: '#d0d7de' };
}

export function CandleChart({ coinId, bars, volume, intervalSec, overlays, markers, focus }: Props) {
  const container = useRef<HTMLDivElement>(null);
  const chartRef = useRef<IChartApi | null>(null);
  const candleRef = useRef<ISeriesApi<'Candlestick'> | null>(null);
  const markersRef = useRef<ISeriesMarkersPluginApi<Time> | null>(null);
  const barsRef = useRef<Bar[]>(bars);
  const theme = useTheme();
  // What the chart actually holds, read back from it, for people (the caption) and tests.
  const [drawn, setDrawn] = useState({ bars: 0, from: 0, to: 0, markers: 0 });

  useEffect(() => {
    const el = container.current;
    if (!el) return;
    const c = palette(theme);
    const chart = createChart(el, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: c.bg },
        textColor: c.text,
        panes: { separatorColor: c.border },
        attributionLogo: true,
      },
      grid: { vertLines: { color: c.grid }, horzLines: { color: c.grid } },
      timeScale: { timeVisible: true, secondsVisible: intervalSec < 60, borderColor: c.border },
      rightPriceScale: { borderColor: c.border },
      localization: { priceFormatter: (p: number) => (Math.abs(p) >= 1 ? p.toFixed(2) : p.toPrecision(4)) },
    });
    chartRef.current = chart;

    const candles = chart.addSeries(CandlestickSeries, {
      upColor: c.up,
      downColor: c.down,
      borderVisible: false,
      wickUpColor: c.up,
      wickDownColor: c.down,
    });
    // Leave the bottom fifth of the price pane to the volume bars.
    candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: volume.length ? 0.22 : 0.08 } });
    candles.setData(bars.map((b) => ({ ...b, time: ts(b.time) })));
    candleRef.current = candles;
    barsRef.current = bars;

    if (volume.length) {
      const vol = chart.addSeries(HistogramSeries, { priceFormat: { type: 'volume' }, priceScaleId: 'volume', lastValueVisible: false, priceLineVisible: false });
      vol.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
      vol.setData(volume.map((v) => ({ ...v, time: ts(v.time) })));
    }

    const times = bars.map((b) => b.time);
    const closes = bars.map((b) => b.close);
    const line = (values: (number | null)[], color: string, pane = 0, width: 1 | 2 = 1) => {
      const s = chart.addSeries(LineSeries, { color, lineWidth: width, priceLineVisible: false, lastValueVisible: false, crosshairMarkerVisible: false }, pane);
      s.setData(toLine(times, values).map((p) => ({ ...p, time: ts(p.time) })));
      return s;
    };
    if (overlays.sma20) line(sma(closes, 20), '#f5a524');
    if (overlays.sma50) line(sma(closes, 50), '#8e8cf3');
    if (overlays.ema20) line(ema(closes, 20), '#4c8dff');
    if (overlays.ema50) line(ema(closes, 50), '#e93d82');
    if (overlays.bollinger) {
      const b = bollinger(closes, 20, 2);
      line(b.upper, '#8b949e');
      line(b.middle, '#8b949e');
      line(b.lower, '#8b949e');
    }
    let pane = 1;
    if (overlays.rsi) {
      const s = line(rsi(closes, 14), '#a371f7', pane, 2);
      s.createPriceLine({ price: 70, color: c.down, lineWidth: 1, lineStyle: 2, axisLabelVisible: false, title: '70' });
      s.createPriceLine({ price: 30, color: c.up, lineWidth: 1, lineStyle: 2, axisLabelVisible: false, title: '30' });
      pane += 1;
    }
    if (overlays.macd) {
      const m = macd(closes);
      const hist = chart.addSeries(HistogramSeries, { priceLineVisible: false, lastValueVisible: false }, pane);
      hist.setData(
        toLine(times, m.histogram).map((p) => ({ time: ts(p.time), value: p.value, color: p.value >= 0 ? c.up : c.down })),
      );
      line(m.macd, '#4c8dff', pane);
      line(m.signal, '#f5a524', pane);
    }
    // The price pane gets the most room; each indicator pane about a fifth of it.
    chart.panes().forEach((p, i) => p.setStretchFactor(i === 0 ? 1 : 0.25));

    markersRef.current = createSeriesMarkers(candles, []);

    if (focus !== null && bars.length) {
      const half = intervalSec * 40;
      chart.timeScale().setVisibleRange({ from: ts(focus - half), to: ts(focus + half) });
    } else {
      chart.timeScale().fitContent();
    }

    return () => {
      chartRef.current = null;
      candleRef.current = null;
      markersRef.current = null;
      chart.remove();
    };
  }, [bars, volume, intervalSec, overlays, theme, focus]);

  // Markers change more often than the bars (live anomalies): set them on their own.
  useEffect(() => {
    const m = markersRef.current;
    if (!m) return;
    const list: SeriesMarker<Time>[] = markers.map((x) => ({
      time: ts(x.time),
      position: x.position,
      shape: x.shape,
      color: x.color,
      text: x.text,
    }));
    m.setMarkers(list);
    const data = candleRef.current?.data() ?? [];
    setDrawn({
      bars: data.length,
      from: data.length ? Number(data[0].time) : 0,
      to: data.length ? Number(data[data.length - 1].time) : 0,
      markers: m.markers().length,
    });
  }, [markers, bars, volume, intervalSec, overlays, theme, focus]);

  useStreamBatch<PriceEvent>('price', (events) => {
    const series = candleRef.current;
    if (!series) return;
    // Bars touched by the batch, in time order; each is handed to the chart once, as it ended.
    const touched = new Map<number, Bar>();
    for (const ev of events) {
      if (ev.id !== coinId || typeof ev.price_usd !== 'number') continue;
      const t = toSeconds(ev.time);
      if (t === null) continue;
      const r = mergeTick(barsRef.current, ev.price_usd, t, intervalSec);
      if (!r) continue;
      barsRef.current = r.bars;
      touched.set(r.bar.time, r.bar);
    }
    for (const bar of touched.values()) series.update({ ...bar, time: ts(bar.time) });
  }, 200);

  const zoom = (factor: number) => {
    const ts2 = chartRef.current?.timeScale();
    const r = ts2?.getVisibleLogicalRange();
    if (!ts2 || !r) return;
    const mid = (r.from + r.to) / 2;
    const half = ((r.to - r.from) / 2) * factor;
    ts2.setVisibleLogicalRange({ from: mid - half, to: mid + half });
  };
  const pan = (bars: number) => {
    const ts2 = chartRef.current?.timeScale();
    const r = ts2?.getVisibleLogicalRange();
    if (!ts2 || !r) return;
    ts2.setVisibleLogicalRange({ from: r.from + bars, to: r.to + bars });
  };
  const onKey = (e: React.KeyboardEvent) => {
    const actions: Record<string, () => void> = {
      ArrowLeft: () => pan(-5),
      ArrowRight: () => pan(5),
      '+': () => zoom(0.8),
      '=': () => zoom(0.8),
      '-': () => zoom(1.25),
      '0': () => chartRef.current?.timeScale().fitContent(),
    };
    const a = actions[e.key];
    if (a) {
      e.preventDefault();
      a();
    }
  };

  return (
    <div>
      <div className="toolbar" role="group" aria-label="Zoom and pan">
        <button type="button" onClick={() => zoom(0.8)} aria-label="Zoom in" data-testid="zoom-in">
          +
        </button>
        <button type="button" onClick={() => zoom(1.25)} aria-label="Zoom out" data-testid="zoom-out">
          −
        </button>
        <button type="button" onClick={() => pan(-10)} aria-label="Pan left">
          ←
        </button>
        <button type="button" onClick={() => pan(10)} aria-label="Pan right">
          →
        </button>
        <button type="button" onClick={() => chartRef.current?.timeScale().fitContent()} data-testid="zoom-reset">
          Fit
        </button>
        <span className="muted small">Drag to pan, wheel or pinch to zoom; arrow keys and +/− when the chart has focus.</span>
      </div>
      <div
        ref={container}
        className={`chart${overlays.rsi || overlays.macd ? ' chart-tall' : ''}`}
        tabIndex={0}
        role="img"
        aria-label={`Candlestick chart of ${coinId}: ${drawn.bars} candles`}
        onKeyDown={onKey}
        data-testid="candle-chart"
        data-bars={drawn.bars}
        data-from={drawn.from}
        data-to={drawn.to}
        data-markers={drawn.markers}
        data-interval={intervalSec}
      />
    </div>
  );
}
