/**
 * The fine-tuning classifier (MAE `models_vit.py` with `main_finetune.py`'s recipe): the
 * pretrained encoder on all patches, patch tokens mean-pooled (or the cls token), a linear
 * head; stochastic depth ("drop path", Huang et al. 2016) on every residual branch with a
 * rate rising linearly over the blocks; label-smoothed cross-entropy; and layer-wise lr decay
 * (Clark et al. 2020; BEiT): block i learns at decay^(depth + 1 − layer(i)) of the head's rate.
 *
 * Without drop path the training forward is the encoder of app/mae (`forwardEncoder` with
 * every patch visible) — the test checks they agree; evaluation and export use that one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { embedAllPatches, paramLookup, type MaeModel } from '../mae/model';
import { layerNorm, linear } from '../mae/ops';
import type { Rng } from '../mae/rng';
import { attention, mlp } from '../mae/vit';
import { poolTokens } from './probe-features';
import type { Pooling } from './probe-model';

/** Stochastic depth rate of each block: linspace(0, rate, depth), as timm. */
export function dropPathRates(rate: number, depth: number): number[] {
  return Array.from({ length: depth }, (_, i) => (depth === 1 ? 0 : (rate * i) / (depth - 1)));
}

/** Per-sample keep mask [B, 1, 1], scaled by 1 / keep so the expectation is unchanged. */
function dropPathMask(batchSize: number, rate: number, rng: Rng): tf.Tensor {
  const keep = 1 - rate;
  return tf.tensor3d(
    Float32Array.from({ length: batchSize }, () => (rng.uniform() < keep ? 1 / keep : 0)),
    [batchSize, 1, 1],
  );
}

/** Options of the training forward. */
export interface ClassifierForwardOptions {
  pooling: Pooling;
  /** Largest drop-path rate (last block); 0 disables it. */
  dropPath: number;
  /** Draws the drop-path masks. */
  rng: Rng;
}

/** Encoder tokens with drop path: imgs [B, C, H, W] → [B, 1 + L, D]. */
export function encoderTokensWithDropPath(model: MaeModel, imgs: tf.Tensor, dropPath: number, rng: Rng): tf.Tensor {
  const param = paramLookup(model);
  const { depth, numHeads } = model.config;
  const batchSize = imgs.shape[0]!;
  const rates = dropPathRates(dropPath, depth);
  return tf.tidy(() => {
    let x = embedAllPatches(model, imgs); // [B, 1+L, D]
    for (let i = 0; i < depth; i++) {
      const prefix = `blocks.${i}`;
      const branch = (y: tf.Tensor) => (rates[i]! > 0 ? tf.mul(y, dropPathMask(batchSize, rates[i]!, rng)) : y);
      x = tf.add(
        x,
        branch(
          attention(
            layerNorm(x, param(`${prefix}.norm1.weight`), param(`${prefix}.norm1.bias`)),
            param,
            `${prefix}.attn`,
            numHeads,
          ),
        ),
      );
      x = tf.add(
        x,
        branch(
          mlp(layerNorm(x, param(`${prefix}.norm2.weight`), param(`${prefix}.norm2.bias`)), param, `${prefix}.mlp`),
        ),
      );
    }
    return layerNorm(x, param('norm.weight'), param('norm.bias')); // [B, 1+L, D]
  });
}

/** Training forward: imgs [B, C, H, W] → logits [B, K]. */
export function classifierLogits(
  model: MaeModel,
  head: { weight: tf.Tensor; bias: tf.Tensor },
  imgs: tf.Tensor,
  options: ClassifierForwardOptions,
): tf.Tensor2D {
  return tf.tidy(() => {
    const tokens = encoderTokensWithDropPath(model, imgs, options.dropPath, options.rng); // [B, 1+L, D]
    return linear(poolTokens(tokens, options.pooling), head.weight, head.bias) as tf.Tensor2D; // [B, K]
  });
}

/** Cross-entropy against labels smoothed to (1 − ε)·onehot + ε/K, averaged over the batch. */
export function labelSmoothedLoss(logits: tf.Tensor2D, labels: readonly number[], smoothing: number): tf.Scalar {
  return tf.tidy(() => {
    const targets = tf.cast(tf.oneHot(tf.tensor1d(Array.from(labels), 'int32'), logits.shape[1]), 'float32'); // [B, K]
    return tf.losses.softmaxCrossEntropy(targets, logits, undefined, smoothing) as tf.Scalar;
  });
}

/**
 * Layer of a parameter for lr decay (MAE `util/lrd.py`): embeddings and cls token 0, block i
 * is i + 1, the final norm and the head depth + 1.
 */
export function layerOf(name: string, depth: number): number {
  if (name === 'cls_token' || name === 'pos_embed' || name.startsWith('patch_embed')) return 0;
  const block = /^blocks\.(\d+)\./.exec(name);
  return block ? Number(block[1]) + 1 : depth + 1;
}

/** lr multiplier of a parameter: decay^(depth + 1 − layer). */
export function layerLrScale(name: string, depth: number, layerDecay: number): number {
  return layerDecay ** (depth + 1 - layerOf(name, depth));
}
