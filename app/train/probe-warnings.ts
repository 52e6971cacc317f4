/**
 * What makes a probe's numbers less trustworthy, said in words a user can act on: classes too
 * small in the validation split to score, a kNN k larger than a class, and gains whose
 * interval includes 0 (over random init: pretraining bought nothing measurable; over raw
 * pixels: the encoder is not yet better than the images themselves).
 */
import type { AccuracyGain } from '../contract';
import { includesZero } from './intervals';
import { gainText } from './probe-format';

/** Below this many validation images a class's accuracy swings by tens of points on one image. */
export const MIN_CLASS_IMAGES = 10;

/** What the warnings are about. */
export interface ProbeWarningInput {
  classes: readonly string[];
  trainLabels: readonly number[];
  valLabels: readonly number[];
  method: 'linear' | 'knn';
  k: number | null;
  /** A fine-tuning run stopped before its random-init baseline finished has no gain over it. */
  gain: { randomInit?: AccuracyGain; rawPixels: AccuracyGain };
  /**
   * The encoder was read frozen and the run can be fine-tuned: when the pixels are not beaten, the
   * warning says so (MAE features are made to be fine-tuned; bench:finetune measures the difference).
   */
  canFinetune?: boolean;
}

/** What to do when a frozen read-out of an MAE does not beat the pixels. */
export const FINETUNE_ADVICE =
  'MAE features are made to be fine-tuned, not read frozen (He et al.): fine-tune this run ' +
  '(Evaluate → Fine-tune, or the finetune command) and compare its classifier with the pixels.';

function counts(labels: readonly number[], classes: number): number[] {
  const out = new Array<number>(classes).fill(0);
  for (const label of labels) out[label]! += 1;
  return out;
}

/** The warnings of one probe, most important first. */
export function probeWarnings(input: ProbeWarningInput): string[] {
  const warnings: string[] = [];
  const { randomInit, rawPixels } = input.gain;
  const advice = input.canFinetune ? ` ${FINETUNE_ADVICE}` : '';
  if (randomInit && includesZero(randomInit)) {
    warnings.push(
      `The gain over random init, ${gainText(randomInit)}, includes ` +
        `0: not distinguishable from random init on this data.`,
    );
  }
  if (rawPixels.high < 0) {
    warnings.push(
      `Raw pixels score higher than the encoder, ${gainText(rawPixels)}: ` +
        `on this data the encoder does not beat the pixels themselves.${advice}`,
    );
  } else if (includesZero(rawPixels)) {
    warnings.push(
      `The gain over raw pixels, ${gainText(rawPixels)}, includes 0: ` +
        `not distinguishable from the pixels themselves on this data.${advice}`,
    );
  }
  const val = counts(input.valLabels, input.classes.length);
  input.classes.forEach((name, label) => {
    if (val[label] === 0) warnings.push(`Class '${name}' has no validation images; it is not scored.`);
    else if (val[label]! < MIN_CLASS_IMAGES) {
      warnings.push(
        `Class '${name}' has ${val[label]} validation image${val[label] === 1 ? '' : 's'}; ` +
          `accuracy per class is unreliable below ~${MIN_CLASS_IMAGES}.`,
      );
    }
  });
  if (input.method === 'knn' && input.k !== null) {
    const train = counts(input.trainLabels, input.classes.length);
    const smallest = Math.min(...train);
    if (input.k > smallest) {
      const name = input.classes[train.indexOf(smallest)]!;
      warnings.push(
        `k = ${input.k} exceeds the smallest class of the fitted images ('${name}' has ${smallest}): ` +
          `its images can be outvoted by neighbours from larger classes; choose k ≤ ${smallest}.`,
      );
    }
  }
  return warnings;
}
