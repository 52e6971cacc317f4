/**
 * Scores as text, one way for the CLI, the demo and the model card: an accuracy with its 95 %
 * interval and the number of images it was measured on, a gain in points with its interval.
 * Results stored before intervals existed print without one.
 */
import type { AccuracyGain, ClassificationScores } from '../contract';

/** 0.717 → "71.7%". */
export function percent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

/** Signed points with one decimal: +3.1, −0.4 (a true minus sign). */
export function points(value: number): string {
  const rounded = (value * 100).toFixed(1);
  return value >= 0 || rounded === '-0.0' ? `+${rounded.replace('-', '')}` : `−${rounded.slice(1)}`;
}

/** "71.7% (95% CI 62.9–79.0%, n = 120)"; without an interval, "71.7%". */
export function accuracyText(scores: ClassificationScores): string {
  if (!scores.interval) return percent(scores.accuracy);
  return (
    `${percent(scores.accuracy)} ` +
    `(95% CI ${(scores.interval.low * 100).toFixed(1)}–${percent(scores.interval.high)}, n = ${scores.images})`
  );
}

/** "+10.0 points (95% CI +3.3 to +16.7)". */
export function gainText(gain: AccuracyGain): string {
  return `${points(gain.estimate)} points (95% CI ${points(gain.low)} to ${points(gain.high)})`;
}
