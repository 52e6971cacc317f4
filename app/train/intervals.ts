/**
 * How sure a score is: the Wilson score interval of an accuracy (Wilson 1927; the interval
 * Newcombe 1998 recommends over the normal approximation, which collapses to a point at 0 % and
 * 100 % and undercovers on small sets) and a paired bootstrap of the difference between two
 * classifiers scored on the same images (Efron & Tibshirani 1993, percentile interval): both
 * are resampled together, so the interval of a gain reflects only the images on which they differ.
 */
import type { AccuracyGain, Interval } from '../contract';
import { Rng } from '../mae/rng';

export type { AccuracyGain, Interval } from '../contract';

/** Two-sided 95 %: the standard normal quantile Φ⁻¹(0.975). */
export const Z_95 = 1.959963984540054;

/** Settings of the paired bootstrap. */
export interface BootstrapOptions {
  /** Resamples of the scored images. */
  resamples: number;
  /** Seed of the resampling (through `Rng`), so a probe repeated reports the same interval. */
  seed: number;
}

/** 2 000 resamples put the 2.5 % and 97.5 % percentiles within about ±0.5 points of their limit. */
export const DEFAULT_BOOTSTRAP: BootstrapOptions = {
  resamples: 2000, // Efron & Tibshirani: 1 000–2 000 for percentile intervals
  seed: 0,
};

/** Stream of the run seed that draws bootstrap resamples (apart from the label budget's 102). */
export const BOOTSTRAP_STREAM = 103;

/** The 95 % Wilson score interval of `correct` successes out of `total` trials. */
export function wilsonInterval(correct: number, total: number, z = Z_95): Interval {
  if (!Number.isInteger(total) || total < 0)
    throw new Error(`wilsonInterval: total must be a non-negative integer, got ${total}`);
  if (!Number.isInteger(correct) || correct < 0 || correct > total)
    throw new Error(`wilsonInterval: correct must be an integer in 0..${total}, got ${correct}`);
  if (total === 0) return { low: 0, high: 1 }; // nothing scored: nothing known
  const p = correct / total;
  const z2 = z * z;
  const denominator = 1 + z2 / total;
  const centre = (p + z2 / (2 * total)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / total + z2 / (4 * total * total));
  // Clamp rounding at the ends: 0/n has low exactly 0, n/n high exactly 1.
  return {
    low: correct === 0 ? 0 : Math.max(0, centre - half),
    high: correct === total ? 1 : Math.min(1, centre + half),
  };
}

/**
 * Accuracy of `a` minus accuracy of `b` on the same images (`a[i]`, `b[i]`: image i right or
 * wrong), with the 2.5 / 97.5 percentiles of that difference over `resamples` draws of the
 * images with replacement — the same draw for both, which is what makes it paired.
 */
export function pairedBootstrap(
  a: readonly boolean[],
  b: readonly boolean[],
  options: BootstrapOptions = DEFAULT_BOOTSTRAP,
): AccuracyGain {
  if (a.length !== b.length)
    throw new Error(
      `pairedBootstrap: both classifiers must be scored on the same images, got ${a.length} and ${b.length}`,
    );
  if (!Number.isInteger(options.resamples) || options.resamples < 1)
    throw new Error(`pairedBootstrap: resamples must be a positive integer, got ${options.resamples}`);
  const count = a.length;
  if (count === 0) return { estimate: 0, low: -1, high: 1 };
  // Only the difference per image matters: +1, 0 or −1.
  const difference = Int8Array.from({ length: count }, (_, i) => Number(a[i]) - Number(b[i]));
  const estimate = difference.reduce((sum, d) => sum + d, 0) / count;
  const rng = Rng.fromSeed(options.seed, BOOTSTRAP_STREAM);
  const draws = new Float64Array(options.resamples);
  for (let r = 0; r < options.resamples; r++) {
    let sum = 0;
    for (let i = 0; i < count; i++) sum += difference[rng.int(count)]!;
    draws[r] = sum / count;
  }
  draws.sort();
  return { estimate, low: percentile(draws, 0.025), high: percentile(draws, 0.975) };
}

/** The q-quantile of sorted values, linearly interpolated between order statistics (numpy's default). */
export function percentile(sorted: Float64Array | readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error('percentile of no values');
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (position - below) * (sorted[above]! - sorted[below]!);
}

/** Whether an interval of a difference holds 0: the two are not distinguishable on this data. */
export function includesZero(interval: Interval): boolean {
  return interval.low <= 0 && interval.high >= 0;
}
