import { describe, expect, it } from 'vitest';
import { snapToBar, toMarkers, timelinePosition } from '../lib/anomalies';
import { fearGreedBand, gaugeNeedle, tone } from '../lib/sentiment';
import { describeRule, ruleBody } from '../lib/alerts';
import { errorFrom, query } from '../lib/api';
import type { Anomaly } from '../lib/schemas';

describe('anomaly markers', () => {
  const times = [0, 60, 120, 180];
  const base: Anomaly = {
    time: '1970-01-01T00:02:10Z',
    crypto_id: 'x',
    kind: 'price_return',
    source: 's',
    end_time: '1970-01-01T00:03:10Z',
    peak_time: '1970-01-01T00:02:10Z',
    observed: 1,
    baseline: 0,
    score: 5,
    severity: 'high',
    status: 'ongoing',
    detail: '',
  };
  it('snaps a time to the bar containing it', () => {
    expect(snapToBar(times, 61, 60)).toBe(60);
    expect(snapToBar(times, 180, 60)).toBe(180);
    expect(snapToBar(times, 239, 60)).toBe(180);
    expect(snapToBar(times, 240, 60)).toBeNull();
    expect(snapToBar(times, -1, 60)).toBeNull();
    expect(snapToBar([], 5, 60)).toBeNull();
  });
  it('places anomalies on bars, sorted, coloured by severity, down moves below', () => {
    const m = toMarkers(
      [
        { ...base, observed: -3, baseline: 0 },
        { ...base, time: '1970-01-01T00:00:30Z', peak_time: '1970-01-01T00:00:30Z', kind: 'volume', severity: 'low' },
        { ...base, time: '1970-01-01T01:00:00Z', peak_time: '1970-01-01T01:00:00Z' },
      ],
      times,
      60,
    );
    expect(m.map((x) => x.time)).toEqual([0, 120]);
    expect(m[1]).toMatchObject({ position: 'belowBar', color: '#e5484d', text: 'Price move' });
    expect(m[0]).toMatchObject({ position: 'aboveBar', text: 'Volume spike' });
  });
  it('uses the peak time when given', () => {
    const a: Anomaly = { ...base, time: '1970-01-01T00:00:10Z', peak_time: '1970-01-01T00:03:05Z', kind: 'volume', severity: 'medium' };
    expect(toMarkers([a], times, 60)[0].time).toBe(180);
  });
  it('positions on a timeline', () => {
    expect(timelinePosition(5, 0, 10)).toBe(0.5);
    expect(timelinePosition(50, 0, 10)).toBe(1);
    expect(timelinePosition(5, 10, 10)).toBe(0.5);
  });
});

describe('sentiment', () => {
  it('prefers the label, else the score', () => {
    expect(tone('negative', 0.9)).toBe('negative');
    expect(tone(null, 0.3)).toBe('positive');
    expect(tone(undefined, -0.3)).toBe('negative');
    expect(tone('weird', 0)).toBe('neutral');
  });
  it('bands the Fear & Greed index', () => {
    expect([10, 30, 50, 70, 90].map(fearGreedBand)).toEqual(['Extreme Fear', 'Fear', 'Neutral', 'Greed', 'Extreme Greed']);
  });
  it('points the needle', () => {
    const left = gaugeNeedle(0, 50, 50, 40);
    const up = gaugeNeedle(50, 50, 50, 40);
    const right = gaugeNeedle(100, 50, 50, 40);
    expect(left.x).toBeCloseTo(10);
    expect(left.y).toBeCloseTo(50);
    expect(up.x).toBeCloseTo(50);
    expect(up.y).toBeCloseTo(10);
    expect(right.x).toBeCloseTo(90);
    expect(gaugeNeedle(150, 50, 50, 40).x).toBeCloseTo(90);
  });
});

describe('alert form', () => {
  const form = { kind: 'price_above', coin: 'bitcoin', threshold: '65000', window: '', webhookUrl: '' };
  it('builds the body', () => {
    expect(ruleBody(form)).toEqual({ body: { kind: 'price_above', coin: 'bitcoin', threshold: 65000 } });
    expect(ruleBody({ ...form, kind: 'change_pct', threshold: '5', window: '1h' })).toEqual({
      body: { kind: 'change_pct', coin: 'bitcoin', threshold: 5, window: '1h' },
    });
  });
  it('names the bad field', () => {
    expect(ruleBody({ ...form, threshold: 'x' })).toMatchObject({ field: 'threshold' });
    expect(ruleBody({ ...form, threshold: '-1' })).toMatchObject({ field: 'threshold' });
    expect(ruleBody({ ...form, coin: ' ' })).toMatchObject({ field: 'coin' });
    expect(ruleBody({ ...form, kind: 'nope' })).toMatchObject({ field: 'kind' });
    expect(ruleBody({ ...form, kind: 'change_pct', threshold: '5', window: '2h' })).toMatchObject({ field: 'window' });
    // The API takes the changes the sources report: 1h, 24h, 7d (not 5m).
    expect(ruleBody({ ...form, kind: 'change_pct', threshold: '5', window: '5m' })).toMatchObject({ field: 'window' });
    expect(ruleBody({ ...form, kind: 'change_pct', threshold: '5', window: '7d' })).toMatchObject({ body: { window: '7d' } });
    expect(ruleBody({ ...form, coin: 'market' })).toMatchObject({ field: 'coin' });
    expect(ruleBody({ ...form, webhookUrl: 'ftp://x' })).toMatchObject({ field: 'webhookUrl' });
  });
  it('allows a market-wide sentiment alert with a negative threshold', () => {
    expect(ruleBody({ ...form, kind: 'sentiment_below', coin: 'market', threshold: '-0.2' })).toEqual({
      body: { kind: 'sentiment_below', coin: 'market', threshold: -0.2 },
    });
  });
  it('describes rules', () => {
    expect(describeRule({ kind: 'price_above', coin: 'bitcoin', threshold: 65000 })).toBe('bitcoin price above $65,000');
  });
});

describe('api helpers', () => {
  it('builds query strings from defined values', () => {
    expect(query({ a: 1, b: '', c: null, d: 'x y' })).toBe('?a=1&d=x%20y');
    expect(query({})).toBe('');
  });
  it('reads the error shape', () => {
    const e = errorFrom(400, { error: { code: 'invalid_parameter', message: 'bad', param: 'interval' } });
    expect([e.status, e.code, e.message, e.param, e.unreachable]).toEqual([400, 'invalid_parameter', 'bad', 'interval', false]);
    const g = errorFrom(502, 'garbage');
    expect([g.code, g.unreachable]).toEqual(['http_502', true]);
  });
});
