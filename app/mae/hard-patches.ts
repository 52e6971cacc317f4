/**
 * Hard Patches Mining, the model's part (Wang et al. 2023, "Hard Patches Mining for Masked Image
 * Modeling", CVPR 2023, arXiv:2304.05919), checked against their public reference code
 * (`models_mae_learn_loss.py`, `engine_pretrain.py` with `--learning_loss --relative`):
 *
 * - A loss predictor beside the pixel decoder: it reads the same decoder input tokens (decoder
 *   embedding, mask tokens, positions; cls first), runs its own stack of `decoderDepth` blocks,
 *   its own norm and a linear head to C·p·p values, and the mean of those values is the patch's
 *   predicted reconstruction loss (`decoder_blocks_losspred`, `decoder_norm_losspred`,
 *   `decoder_pred_losspred`, named as the reference).
 * - Its target is each masked patch's reconstruction loss (the MSE over the patch's values),
 *   detached: the predictor learns from the losses, the losses get no gradient from it.
 * - The relative objective: for every ordered pair (i, j) of masked patches of an image, a binary
 *   cross-entropy on σ(p_j − p_i) whose label is whether t_j > t_i (pairs with t_i = t_j count
 *   for nothing), −log(σ + 1e-6) and −log(1 − σ + 1e-6) as the reference, summed over the batch
 *   and divided by the number of pairs with a label.
 * - The training loss is the MSE plus this objective (weight 1 in the reference); the
 *   predictor's gradient reaches the encoder and the patch embedding, as there.
 *
 * The masks it mines, and its easy-to-hard schedule, are the trainer's (app/train/recipes/hpm.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MaeConfig } from './config';
import { layerNorm, linear, type ParamLookup } from './ops';
import { block } from './vit';

/** The reference's settings. */
export const DEFAULT_HARD_PATCHES = {
  lossPredictorWeight: 1, // engine_pretrain.py: loss += loss_learn
  logEps: 1e-6, // forward_learning_loss: log(sigmoid(·) + 1e-6)
} as const;

/**
 * The predicted loss of every token: decoder input tokens [B, 1 + T, Dd] (cls first) → [B, T],
 * in the tokens' order (cls dropped).
 */
export function predictLosses(param: ParamLookup, config: MaeConfig, tokens: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    let x = tokens;
    for (let i = 0; i < config.decoderDepth; i++)
      x = block(x, param, `decoder_blocks_losspred.${i}`, config.decoderNumHeads);
    x = layerNorm(x, param('decoder_norm_losspred.weight'), param('decoder_norm_losspred.bias')); // [B, 1+T, Dd]
    // [B, 1+T, C*p*p]
    const values = linear(x, param('decoder_pred_losspred.weight'), param('decoder_pred_losspred.bias'));
    return tf.mean(tf.slice(values, [0, 1, 0], [-1, -1, -1]), -1); // [B, T]
  });
}

/** Each patch's reconstruction loss, the mean over its values: pred, target [B, M, W] → [B, M]. */
export function patchLosses(pred: tf.Tensor, target: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mean(tf.squaredDifference(pred, target), -1));
}

/**
 * sign(t_j − t_i) for every ordered pair of each row of losses [B, M] → [B, M, M], with no gradient
 * (the reference's labels come from `loss_target.detach()`).
 */
const pairLabels = tf.customGrad(((losses: tf.Tensor, save: tf.GradSaveFunc) => {
  save([]);
  return {
    // entry (i, j) compares patch j with patch i, as the reference's unsqueeze(1) − unsqueeze(2)
    value: tf.sign(tf.sub(tf.expandDims(losses, 1), tf.expandDims(losses, 2))),
    gradFunc: () => tf.zerosLike(losses),
  };
}) as never) as unknown as (losses: tf.Tensor) => tf.Tensor;

/**
 * The paper's relative objective: predicted [B, M] against the patches' true losses [B, M]
 * (no gradient reaches them) → scalar, over every ordered pair of the M patches of each image.
 */
export function relativeLossObjective(predicted: tf.Tensor, losses: tf.Tensor): tf.Scalar {
  const eps = DEFAULT_HARD_PATCHES.logEps;
  return tf.tidy(() => {
    const labels = pairLabels(losses); // [B, M, M] in {−1, 0, 1}
    const difference = tf.sub(tf.expandDims(predicted, 1), tf.expandDims(predicted, 2)); // [B, M, M]: p_j − p_i
    const positive = tf.relu(labels); // t_j > t_i
    const negative = tf.relu(tf.neg(labels)); // t_j < t_i
    const sigmoid = tf.sigmoid(difference);
    const crossEntropy = tf.add(
      tf.mul(positive, tf.neg(tf.log(tf.add(sigmoid, eps)))),
      tf.mul(negative, tf.neg(tf.log(tf.add(tf.sub(1, sigmoid), eps)))),
    );
    // every pair with a label; at least 1 so an image of equal losses gives 0, not NaN
    const labelled = tf.maximum(tf.sum(tf.add(positive, negative)), 1);
    return tf.div(tf.sum(crossEntropy), labelled) as tf.Scalar;
  });
}

/**
 * HPM's training loss for one batch: the MSE of the masked patches plus `lossPredictorWeight` ×
 * the relative objective of the loss predictor on them. tokens [B, 1 + L, Dd] are the decoder's
 * input in shuffled order (masked last); pred and target [B, L − Lkeep, C·p·p] the masked patches.
 */
export function hardPatchesLoss(
  param: ParamLookup,
  config: MaeConfig,
  tokens: tf.Tensor,
  pred: tf.Tensor,
  target: tf.Tensor,
  numKeep: number,
): tf.Scalar {
  return tf.tidy(() => {
    const losses = patchLosses(pred, target); // [B, L-Lkeep]
    // every patch has the same number of values, so the mean of the means is the reference's loss.mean()
    const reconstruction = tf.mean(losses);
    const predicted = tf.slice(predictLosses(param, config, tokens), [0, numKeep], [-1, -1]); // [B, L-Lkeep]
    const weight = config.lossPredictorWeight ?? DEFAULT_HARD_PATCHES.lossPredictorWeight;
    return tf.add(reconstruction, tf.mul(relativeLossObjective(predicted, losses), weight)) as tf.Scalar;
  });
}
