/**
 * Frozen features for probing: the MAE encoder (`forwardEncoder`) with every patch visible
 * (mask ratio 0, patches in grid order), pooled to one vector per image — the cls token, as the
 * MAE paper's linear probe, or the mean of the patch tokens (its fine-tuning default).
 */
import * as tf from '@tensorflow/tfjs-core';
import { gridSize } from '../mae/config';
import type { MaskSet } from '../mae/masking';
import { forwardEncoder, type MaeModel } from '../mae/model';
import { patchify } from '../mae/patchify';
import type { Pooling } from './probe-model';

/** A MaskSet that hides nothing: every sample keeps patches 0..L−1 in grid order. */
export function allVisibleMasks(batchSize: number, numPatches: number): MaskSet {
  const keep = new Int32Array(batchSize * numPatches);
  for (let b = 0; b < batchSize; b++) for (let l = 0; l < numPatches; l++) keep[b * numPatches + l] = l;
  return { batchSize, numPatches, numKeep: numPatches, keep, restore: keep.slice(), mask: new Uint8Array(batchSize * numPatches) };
}

/** Encoder tokens of whole images: imgs [B, C, H, W] → [B, 1 + L, D] (cls first, then grid order). */
export function encodeAllPatches(model: MaeModel, imgs: tf.Tensor): tf.Tensor3D {
  const batchSize = imgs.shape[0]!;
  return tf.tidy(() => {
    const patches = patchify(imgs, model.config.patchSize); // [B, L, C*p*p]
    return forwardEncoder(model, patches, allVisibleMasks(batchSize, gridSize(model.config).numPatches)) as tf.Tensor3D; // [B, 1+L, D]
  });
}

/** Pools tokens [B, 1 + L, D] to features [B, D]. */
export function poolTokens(tokens: tf.Tensor, pooling: Pooling): tf.Tensor2D {
  return tf.tidy(() => {
    if (pooling === 'cls') return tf.squeeze(tf.slice(tokens, [0, 0, 0], [-1, 1, -1]), [1]) as tf.Tensor2D; // [B, D]
    return tf.mean(tf.slice(tokens, [0, 1, 0], [-1, -1, -1]), 1) as tf.Tensor2D; // [B, D], patch tokens only
  });
}

/** Pooled features of whole images: imgs [B, C, H, W] → [B, D]. */
export function encodeFeatures(model: MaeModel, imgs: tf.Tensor, pooling: Pooling): tf.Tensor2D {
  return tf.tidy(() => poolTokens(encodeAllPatches(model, imgs), pooling));
}
