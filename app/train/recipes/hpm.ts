/**
 * Hard Patches Mining, the trainer's part (Wang et al. 2023, "Hard Patches Mining for Masked
 * Image Modeling", CVPR 2023, arXiv:2304.05919): which patches a batch masks. What we follow of
 * their reference code (`engine_pretrain.py`, `generate_mask` in `models_mae_learn_loss.py`):
 *
 * - A teacher, the exponential moving average of the model, sees every patch of the image
 *   (nothing masked) and its loss predictor scores each patch; no gradient flows.
 * - Easy to hard: of the L − Lkeep masked patches, the α_t share with the highest predicted loss
 *   is masked for certain (⌊(L − Lkeep)·α_t⌋ patches); every other patch is ordered at random
 *   and the first Lkeep of them are the visible ones, the rest masked too. α_t grows linearly
 *   from ≈0 to α_T = 0.5 at the end of training: the reference's ((epoch + 1) / epochs) · 0.5,
 *   taken per optimizer step here ((step + 1) / steps · α_T).
 * - The teacher's EMA decay rises from 0.999 to 0.9999 over the first 100 of their 800 epochs,
 *   then stays. Those decays average over 1 000 and 10 000 of their ~250 000 steps, 0.4 % and
 *   4 % of the run; a desktop run is 1 000 steps, where 0.999 would leave the teacher at its
 *   initialisation. We keep the same fractions of the run instead: the averaging window grows from
 *   0.4 % to 4 % of the steps over the first eighth of training (decay = 1 − 1/window).
 */
import * as tf from '@tensorflow/tfjs-core';
import { predictLosses } from '../../mae/hard-patches';
import { gridSize } from '../../mae/config';
import { masksFromScores, type MaskSet } from '../../mae/masking';
import { decoderTokens, forwardEncoder, paramLookup, type MaeModel } from '../../mae/model';
import { patchify } from '../../mae/patchify';
import type { Rng } from '../../mae/rng';

/** The reference's schedule, as fractions of the run. */
export const DEFAULT_HPM = {
  finalHardShare: 0.5, // generate_mask: keep_ratio = (epoch + 1) / total_epoch * 0.5
  emaWindowStart: 0.004, // decay 0.999 = a window of 1 000 of their ~250 000 steps
  emaWindowEnd: 0.04, // decay 0.9999 = 10 000 steps
  emaRampShare: 1 / 8, // the decay rises over epochs 0–100 of 800
} as const;

/** The share of the masked patches chosen as the predicted-hardest at `step` (0-based) of `totalSteps`. */
export function hardShareAt(step: number, totalSteps: number, finalHardShare: number): number {
  return (Math.min(step + 1, totalSteps) / totalSteps) * finalHardShare;
}

/** The teacher's EMA decay at `step` of `totalSteps` (see the header). */
export function teacherDecayAt(step: number, totalSteps: number): number {
  const { emaWindowStart, emaWindowEnd, emaRampShare } = DEFAULT_HPM;
  const ramp = Math.min(1, step / Math.max(1, emaRampShare * totalSteps));
  const window = Math.max(1, (emaWindowStart + ramp * (emaWindowEnd - emaWindowStart)) * totalSteps);
  return 1 - 1 / window;
}

/**
 * Masks from predicted losses [B, L] (row-major): per image, the ⌊(L − numKeep)·hardShare⌋
 * patches of highest predicted loss are masked; the others are shuffled by `rng` and the first
 * `numKeep` of them stay visible.
 */
export function hardPatchMasks(
  predicted: Float32Array,
  batchSize: number,
  numKeep: number,
  hardShare: number,
  rng: Rng,
): MaskSet {
  const numPatches = predicted.length / batchSize;
  const hardCount = Math.floor((numPatches - numKeep) * hardShare);
  const scores = Array.from({ length: batchSize }, (_, b) => {
    const row = predicted.subarray(b * numPatches, (b + 1) * numPatches);
    // random order in [0, 1) for every patch; the hardest get 2, 3, … so they sort last (masked)
    const score = Float64Array.from({ length: numPatches }, () => rng.uniform());
    const byLoss = Array.from({ length: numPatches }, (_, i) => i).sort((i, j) => row[i]! - row[j]! || i - j);
    byLoss.slice(numPatches - hardCount).forEach((patch, rank) => {
      score[patch] = 2 + rank;
    });
    return score;
  });
  return masksFromScores(scores, numPatches, numKeep);
}

/** Every patch visible, in patch order: the teacher's view of a batch. */
function allVisible(batchSize: number, numPatches: number): MaskSet {
  const identity = Int32Array.from({ length: batchSize * numPatches }, (_, k) => k % numPatches);
  return {
    batchSize,
    numPatches,
    numKeep: numPatches,
    keep: identity,
    restore: identity.slice(),
    mask: new Uint8Array(identity.length),
  };
}

/** The loss predictor's score of every patch of images [B, C, H, W], nothing masked: [B, L] in patch order. */
export function predictPatchLosses(model: MaeModel, imgs: tf.Tensor): tf.Tensor {
  if (model.config.lossPredictorWeight === undefined) throw new Error('the model has no loss predictor (HPM)');
  const masks = allVisible(imgs.shape[0]!, gridSize(model.config).numPatches);
  return tf.tidy(() => {
    const latent = forwardEncoder(model, patchify(imgs, model.config.patchSize), masks); // [B, 1+L, D]
    return predictLosses(paramLookup(model), model.config, decoderTokens(model, latent, masks)); // [B, L]
  });
}

/** The EMA teacher of an HPM run: a copy of the model's weights, averaged after each step. */
export class HardPatchTeacher {
  private constructor(readonly model: MaeModel) {}

  /** A teacher starting from the model's current weights (the reference's ModelEma). */
  static of(student: MaeModel): HardPatchTeacher {
    const params = new Map([...student.params].map(([name, value]) => [name, tf.variable(value.clone(), false)]));
    return new HardPatchTeacher({ ...student, params });
  }

  /** teacher ← decay · teacher + (1 − decay) · student. */
  update(student: MaeModel, decay: number): void {
    tf.tidy(() => {
      for (const [name, value] of this.model.params)
        value.assign(tf.add(tf.mul(value, decay), tf.mul(student.params.get(name)!, 1 - decay)));
    });
  }

  /** The masks of one batch (host images, [B, C, H, W]) at `step` of `totalSteps`. */
  async masks(
    images: tf.Tensor,
    options: { numKeep: number; step: number; totalSteps: number; finalHardShare: number },
    rng: Rng,
  ): Promise<MaskSet> {
    const predicted = predictPatchLosses(this.model, images);
    const values = (await predicted.data()) as Float32Array;
    predicted.dispose();
    const share = hardShareAt(options.step, options.totalSteps, options.finalHardShare);
    return hardPatchMasks(values, images.shape[0]!, options.numKeep, share, rng);
  }

  /** Frees the teacher's weights (the position tables are the student's). */
  dispose(): void {
    for (const value of this.model.params.values()) value.dispose();
  }
}
