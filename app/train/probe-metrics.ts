/**
 * Classification scores: accuracy with its Wilson 95 % interval and image count, per-class
 * precision and recall (with the recall's interval over the class's images), and the confusion matrix.
 */

import type { ClassificationScores } from '../contract';
import { wilsonInterval } from './intervals';

export type { ClassScore, ClassificationScores } from '../contract';

/** Scores predictions against the truth; `classes` names the label indices. */
export function classificationScores(
  truth: readonly number[],
  predicted: readonly number[],
  classes: readonly string[],
): ClassificationScores {
  if (truth.length !== predicted.length)
    throw new Error(`scores need one prediction per image: ${truth.length} labels, ${predicted.length} predictions`);
  const confusion = classes.map(() => classes.map(() => 0));
  truth.forEach((label, i) => {
    confusion[label]![predicted[i]!]! += 1;
  });
  const correct = classes.reduce((sum, _, k) => sum + confusion[k]![k]!, 0);
  const perClass = classes.map((label, k) => {
    const support = confusion[k]!.reduce((a, b) => a + b, 0);
    const predictedAs = confusion.reduce((sum, row) => sum + row[k]!, 0);
    // A class never predicted has no defined precision; 0 is the conservative convention (sklearn's zero_division=0).
    return {
      label,
      precision: predictedAs === 0 ? 0 : confusion[k]![k]! / predictedAs,
      recall: support === 0 ? 0 : confusion[k]![k]! / support,
      support,
      recallInterval: wilsonInterval(confusion[k]![k]!, support),
    };
  });
  return {
    accuracy: truth.length === 0 ? 0 : correct / truth.length,
    interval: wilsonInterval(correct, truth.length),
    images: truth.length,
    perClass,
    confusion,
  };
}

/** Index of the largest value of each row of a row-major [N, K] matrix. */
export function argmaxRows(values: ArrayLike<number>, columns: number): number[] {
  const rows = values.length / columns;
  return Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let k = 1; k < columns; k++) if (values[r * columns + k]! > values[r * columns + best]!) best = k;
    return best;
  });
}
