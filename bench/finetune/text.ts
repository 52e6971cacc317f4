/** How the fine-tuning benches print an accuracy with its interval, and a gain in points with its interval. */
import type { AccuracyGain, ClassificationScores } from '../../app/contract';

/** A fraction as a percentage with one decimal, or '–' when there is none. */
export function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : `${(value * 100).toFixed(1)}`;
}

/** Accuracy with its Wilson interval (`71.3 [64.0–77.6]`), or '–'. */
export function scoreText(scores: ClassificationScores | null): string {
  return scores === null
    ? '–'
    : `${percent(scores.accuracy)} [${percent(scores.interval?.low)}–${percent(scores.interval?.high)}]`;
}

/** A fraction as signed percentage points (`+4.2`, `−1.0`). */
function points(value: number): string {
  return `${value >= 0 ? '+' : '−'}${Math.abs(value * 100).toFixed(1)}`;
}

/** A paired gain with its bootstrap interval in points (`+4.2 [−1.0, 9.4]`), or '–'. */
export function gainText(gain: AccuracyGain | undefined): string {
  return gain === undefined ? '–' : `${points(gain.estimate)} [${points(gain.low)}, ${points(gain.high)}]`;
}
