/**
 * The MAE's losses (He et al. 2021, `forward_loss` in `models_mae.py`): the regression targets of
 * the masked patches (normalised per patch with `normPixLoss`), the mean squared error on them,
 * and FG-MAE's per-feature-head losses. Predictions and targets are in the decoder's shuffled
 * order (visible first, then masked; see model.ts), so the masked ones are the last L − Lkeep rows.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MaeConfig } from './config';
import { shuffleOrder, type MaskSet } from './masking';
import { gatherRows, linear, type ParamLookup } from './ops';
import { featureHeadName } from './params';

/**
 * Regression targets of the masked patches, in the decoder's shuffled order:
 * patches [B, L, C·p·p] → [B, L − Lkeep, C·p·p], normalised per patch when `normPixLoss`
 * (mean and variance over the patch's own values; the reference's `target.var` is torch's
 * default unbiased estimator; eps 1e-6).
 */
export function maskedTargets(model: { config: MaeConfig }, patches: tf.Tensor, masks: MaskSet): tf.Tensor {
  const { batchSize, numPatches, numKeep } = masks;
  const patchLength = patches.shape[2]!;
  const numMasked = numPatches - numKeep;
  const shuffle = shuffleOrder(masks);
  const masked = new Int32Array(batchSize * numMasked);
  for (let b = 0; b < batchSize; b++) {
    for (let i = 0; i < numMasked; i++)
      masked[b * numMasked + i] = b * numPatches + shuffle[b * numPatches + numKeep + i]!;
  }
  return tf.tidy(() => {
    const rows = tf.reshape(patches, [batchSize * numPatches, patchLength]); // [B*L, C*p*p]
    const target = tf.reshape(gatherRows(rows, masked), [batchSize, numMasked, patchLength]); // [B, L-Lkeep, C*p*p]
    return model.config.normPixLoss ? normalisePerPatch(target) : target;
  });
}

/** Each row normalised by its own mean and unbiased variance (eps 1e-6), as the reference's norm_pix_loss. */
export function normalisePerPatch(target: tf.Tensor): tf.Tensor {
  const patchLength = target.shape[2]!;
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(target, -1, true);
    const unbiased = tf.mul(variance, patchLength / Math.max(1, patchLength - 1));
    return tf.div(tf.sub(target, mean), tf.sqrt(tf.add(unbiased, 1e-6)));
  });
}

/** Mean squared error over the masked patches: pred [B, L, C·p·p] in shuffled order → scalar. */
export function forwardLoss(
  model: { config: MaeConfig },
  patches: tf.Tensor,
  pred: tf.Tensor,
  masks: MaskSet,
): tf.Scalar {
  return tf.tidy(() => {
    const target = maskedTargets(model, patches, masks); // [B, L-Lkeep, C*p*p]
    const predMasked = tf.slice(pred, [0, masks.numKeep, 0], [-1, -1, -1]); // [B, L-Lkeep, C*p*p]
    // Every sample masks the same count, so the mean over all equals (loss·mask).sum()/mask.sum().
    return tf.mean(tf.squaredDifference(predMasked, target)) as tf.Scalar;
  });
}

/**
 * The loss of one feature head (FG-MAE): MSE on the masked patches, targets normalised per patch
 * with norm-pix. `hidden` is the decoder's output [B, 1 + L, Dd] in shuffled order, cls first.
 */
export function featureLoss(
  model: { config: MaeConfig },
  param: ParamLookup,
  hidden: tf.Tensor,
  name: string,
  target: tf.Tensor,
  masks: MaskSet,
): tf.Scalar {
  const prefix = featureHeadName(name);
  return tf.tidy(() => {
    const pred = linear(
      tf.slice(hidden, [0, 1 + masks.numKeep, 0], [-1, -1, -1]),
      param(`${prefix}.weight`),
      param(`${prefix}.bias`),
    ); // [B, L-Lkeep, W], masked only
    return tf.mean(tf.squaredDifference(pred, maskedTargets(model, target, masks))) as tf.Scalar;
  });
}
