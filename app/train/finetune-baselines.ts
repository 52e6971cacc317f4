/**
 * What a fine-tuned classifier is measured against, on the same validation images: the same
 * encoder fine-tuned from its random initialisation with the same budget (trained by the run,
 * `finetune-train.ts`), and the raw pixels — the images normalised and box-averaged to 16×16 per
 * channel, fitted by the probe's linear model, exactly the probe's pixel baseline. Each gain is a
 * paired bootstrap over those images; the warnings are the probe's, in the probe's words.
 */
import type { AccuracyGain, ClassificationScores } from '../contract';
import { DEFAULT_BOOTSTRAP, pairedBootstrap } from './intervals';
import { forEachBatch, type LabelledEntry, type LabelledSplits } from './probe-data';
import { rawPixelFeatures } from './probe-features';
import { classificationScores } from './probe-metrics';
import { probePredictor } from './probe-predictor';
import { RAW_PIXEL_SIDE } from './probe-run';
import { gainText } from './probe-format';
import { probeWarnings } from './probe-warnings';
import type { PretrainPlan } from './pretrain-plan';

/** The raw-pixel baseline's predictions on the val split and its scores. */
export interface PixelBaseline {
  side: number;
  scores: ClassificationScores;
  predicted: number[];
}

async function pixelRows(entries: LabelledEntry[], plan: PretrainPlan, side: number): Promise<Float32Array> {
  const { imgSize } = plan.recipe.model;
  const width = plan.data.channels * side * side;
  const rows = new Float32Array(entries.length * width);
  let row = 0;
  await forEachBatch(entries, plan, 16, (images, batch) => {
    rows.set(rawPixelFeatures(images, batch.length, plan.data.channels, imgSize, side), row * width);
    row += batch.length;
  });
  return rows;
}

/** The probe's linear model on the raw pixels: fitted on the train split, scored on the val split. */
export async function rawPixelBaseline(plan: PretrainPlan, splits: LabelledSplits): Promise<PixelBaseline> {
  const side = Math.min(RAW_PIXEL_SIDE, plan.recipe.model.imgSize);
  const width = plan.data.channels * side * side;
  const predict = probePredictor({ method: 'linear', k: 1 }, splits.classes.length);
  const predicted = predict(
    await pixelRows(splits.train, plan, side),
    splits.train.map((entry) => entry.label),
    await pixelRows(splits.val, plan, side),
    width,
  );
  const labels = splits.val.map((entry) => entry.label);
  return { side, scores: classificationScores(labels, predicted, splits.classes), predicted };
}

/** The fine-tuned classifier's gains over each baseline it has, and the warnings about them. */
export function finetuneComparison(input: {
  splits: LabelledSplits;
  seed: number;
  finetuned: number[];
  randomInit: number[] | null;
  rawPixels: number[];
  /** The probe-started head's predictions before any step (LP-FT), when it had one. */
  start: number[] | null;
}): { gain: { randomInit?: AccuracyGain; rawPixels: AccuracyGain; start?: AccuracyGain }; warnings: string[] } {
  const valLabels = input.splits.val.map((entry) => entry.label);
  const right = (predicted: number[]) => predicted.map((label, i) => label === valLabels[i]);
  const bootstrap = { ...DEFAULT_BOOTSTRAP, seed: input.seed };
  const gain = {
    ...(input.randomInit && {
      randomInit: pairedBootstrap(right(input.finetuned), right(input.randomInit), bootstrap),
    }),
    rawPixels: pairedBootstrap(right(input.finetuned), right(input.rawPixels), bootstrap),
    ...(input.start && { start: pairedBootstrap(right(input.finetuned), right(input.start), bootstrap) }),
  };
  const warnings = probeWarnings({
    classes: input.splits.classes,
    trainLabels: input.splits.train.map((entry) => entry.label),
    valLabels,
    method: 'linear',
    k: null,
    gain,
  });
  if (gain.start && gain.start.high < 0)
    warnings.push(
      `Fine-tuning lowered the accuracy below where it started, the linear probe of the frozen ` +
        `features: ${gainText(gain.start)}. On this data the probe is the better classifier; ` +
        `fewer steps or a lower learning rate may keep what the probe had.`,
    );
  return { gain, warnings };
}
