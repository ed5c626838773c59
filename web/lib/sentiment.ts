// Sentiment labels and the Fear & Greed gauge.

export type Tone = 'positive' | 'negative' | 'neutral';

/** The badge tone of an article: its label when known, else the sign of its score. */
export function tone(label: string | null | undefined, score: number | null | undefined): Tone {
  if (label === 'positive' || label === 'negative' || label === 'neutral') return label;
  if (typeof score === 'number' && Number.isFinite(score)) {
    if (score > 0.05) return 'positive';
    if (score < -0.05) return 'negative';
  }
  return 'neutral';
}

/** Fear & Greed bands as the index defines them (0–24, 25–44, 45–55, 56–75, 76–100). */
export function fearGreedBand(value: number): string {
  if (value < 25) return 'Extreme Fear';
  if (value < 45) return 'Fear';
  if (value <= 55) return 'Neutral';
  if (value <= 75) return 'Greed';
  return 'Extreme Greed';
}

export function fearGreedColor(value: number): string {
  if (value < 25) return '#e5484d';
  if (value < 45) return '#f76b15';
  if (value <= 55) return '#f5d90a';
  if (value <= 75) return '#46a758';
  return '#30a46c';
}

/**
 * Needle end point of a half-circle gauge centred at (cx, cy) with radius r: 0 points left,
 * 100 right, 50 straight up (SVG y grows down).
 */
export function gaugeNeedle(value: number, cx: number, cy: number, r: number): { x: number; y: number } {
  const v = Math.min(100, Math.max(0, value));
  const angle = Math.PI * (1 - v / 100);
  return { x: cx + r * Math.cos(angle), y: cy - r * Math.sin(angle) };
}
