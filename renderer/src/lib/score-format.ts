/**
 * Probe and fine-tune scores as the Evaluate tab shows them: an accuracy, its 95 % interval
 * and the images behind it; a gain in points with its interval, and whether that interval
 * clears 0. Results stored before intervals existed have none and show the accuracy alone.
 */
import type { AccuracyGain, Interval } from '$contract';

/** 0.717 → "71.7%". */
export function formatPercent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

/** { low: 0.629, high: 0.79 } → "62.9–79.0%". */
export function formatInterval(interval: Interval): string {
  return `${(interval.low * 100).toFixed(1)}–${formatPercent(interval.high)}`;
}

/** Signed points with one decimal and a true minus sign: "+3.1", "−0.4". */
export function formatPoints(value: number): string {
  const rounded = (value * 100).toFixed(1);
  return value >= 0 || rounded === '-0.0' ? `+${rounded.replace('-', '')}` : `−${rounded.slice(1)}`;
}

/** Whether a gain is measurably above 0, measurably below, or not distinguishable from 0. */
export function gainVerdict(gain: AccuracyGain): 'better' | 'worse' | 'unclear' {
  if (gain.low > 0) return 'better';
  if (gain.high < 0) return 'worse';
  return 'unclear';
}
