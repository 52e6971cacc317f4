/**
 * Frozen features for probing: the MAE encoder with every patch visible (mask ratio 0, patches
 * in grid order), read after any of its blocks and pooled to one vector per image — the cls
 * token, as the MAE paper's linear probe, or the mean of the patch tokens (its fine-tuning
 * default). MAE features are known to probe best below the top block (the last blocks
 * specialise in reconstructing pixels), so a probe may read block N; the tokens of every block
 * pass through the encoder's final LayerNorm, as timm's `forward_intermediates(norm=True)`, so
 * block `depth` is exactly `forwardEncoder`'s output. Also the raw-pixel baseline: the same
 * normalised images, box-averaged down to a small side.
 */
import * as tf from '@tensorflow/tfjs-core';
import { tokenCount } from '../mae/config';
import type { MaskSet } from '../mae/masking';
import { embedAllPatches, forwardEncoder, paramLookup, type MaeModel } from '../mae/model';
import { layerNorm } from '../mae/ops';
import { patchify } from '../mae/patchify';
import { block } from '../mae/vit';
import type { Pooling } from './probe-model';

/** A MaskSet that hides nothing: every sample keeps patches 0..L−1 in grid order. */
export function allVisibleMasks(batchSize: number, numPatches: number): MaskSet {
  const keep = new Int32Array(batchSize * numPatches);
  for (let b = 0; b < batchSize; b++) for (let l = 0; l < numPatches; l++) keep[b * numPatches + l] = l;
  return {
    batchSize,
    numPatches,
    numKeep: numPatches,
    keep,
    restore: keep.slice(),
    mask: new Uint8Array(batchSize * numPatches),
  };
}

/**
 * Encoder tokens of whole images: imgs [B, C, H, W] → [B, 1 + L, D] (cls first, then grid order).
 * CA-MAE: [B, 1 + C·L, D] for any channel count C, so pooling averages over every channel token.
 * SatMAE temporal: T dated frames [B, T·C, H, W] with `timestamps` [B, T, 3] → [B, 1 + T·L, D].
 */
export function encodeAllPatches(model: MaeModel, imgs: tf.Tensor, timestamps?: Float32Array): tf.Tensor3D {
  const batchSize = imgs.shape[0]!;
  return tf.tidy(() => {
    if (model.config.channelAgnostic || model.config.temporal) {
      const param = paramLookup(model);
      let x = embedAllPatches(model, imgs, timestamps); // [B, 1+C*L, D]; temporal: [B, 1+T*L, D]
      for (let i = 0; i < model.config.depth; i++) x = block(x, param, `blocks.${i}`, model.config.numHeads);
      return layerNorm(x, param('norm.weight'), param('norm.bias')) as tf.Tensor3D;
    }
    const patches = patchify(imgs, model.config.patchSize); // [B, L, C*p*p]
    // [B, 1+L, D]; SatMAE: every band-group token, [B, 1+G·L, D]
    return forwardEncoder(model, patches, allVisibleMasks(batchSize, tokenCount(model.config))) as tf.Tensor3D;
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
export function encodeFeatures(
  model: MaeModel,
  imgs: tf.Tensor,
  pooling: Pooling,
  timestamps?: Float32Array,
): tf.Tensor2D {
  return tf.tidy(() => poolTokens(encodeAllPatches(model, imgs, timestamps), pooling));
}

/**
 * Pooled features after each of `blocks` (1-based; `depth` is the last): imgs [B, C, H, W] →
 * one [B, D] per requested block, in the order asked (SatMAE temporal: with each frame's
 * `timestamps`). One pass through the encoder serves them all.
 */
export function encodeBlockFeatures(
  model: MaeModel,
  imgs: tf.Tensor,
  pooling: Pooling,
  blocks: readonly number[],
  timestamps?: Float32Array,
): tf.Tensor2D[] {
  const { depth, numHeads } = model.config;
  for (const wanted of blocks) {
    if (!Number.isInteger(wanted) || wanted < 1 || wanted > depth)
      throw new Error(`encoder block must be 1..${depth}, got ${wanted}`);
  }
  const param = paramLookup(model);
  const last = Math.max(...blocks);
  return tf.tidy(() => {
    let x = embedAllPatches(model, imgs, timestamps); // [B, 1+L, D]; temporal: [B, 1+T*L, D]
    const pooled = new Map<number, tf.Tensor2D>();
    for (let i = 1; i <= last; i++) {
      x = block(x, param, `blocks.${i - 1}`, numHeads); // [B, 1+L, D]
      if (blocks.includes(i))
        pooled.set(i, poolTokens(layerNorm(x, param('norm.weight'), param('norm.bias')), pooling));
    }
    return blocks.map((wanted) => pooled.get(wanted)!);
  });
}

/**
 * Raw-pixel features: normalised images [B, C, side, side] (row-major) box-averaged to
 * [B, C·target²], each output pixel the mean of the input pixels that fall in its cell — the
 * pixels themselves at a resolution a linear probe can fit on a few hundred images.
 */
export function rawPixelFeatures(
  images: Float32Array,
  batchSize: number,
  channels: number,
  side: number,
  target: number,
): Float32Array {
  if (images.length !== batchSize * channels * side * side)
    throw new Error(`rawPixelFeatures: ${images.length} values for ${batchSize}×${channels}×${side}×${side}`);
  if (!Number.isInteger(target) || target < 1 || target > side)
    throw new Error(`rawPixelFeatures: target side must be 1..${side}, got ${target}`);
  const cellOf = Int32Array.from({ length: side }, (_, y) => Math.floor((y * target) / side));
  const cellSize = new Float64Array(target);
  for (let y = 0; y < side; y++) cellSize[cellOf[y]!]! += 1;
  const out = new Float32Array(batchSize * channels * target * target);
  const sums = new Float64Array(target * target);
  for (let plane = 0; plane < batchSize * channels; plane++) {
    sums.fill(0);
    const offset = plane * side * side;
    for (let y = 0; y < side; y++) {
      const row = cellOf[y]! * target;
      for (let x = 0; x < side; x++) sums[row + cellOf[x]!]! += images[offset + y * side + x]!;
    }
    for (let cy = 0; cy < target; cy++) {
      for (let cx = 0; cx < target; cx++)
        out[plane * target * target + cy * target + cx] = sums[cy * target + cx]! / (cellSize[cy]! * cellSize[cx]!);
    }
  }
  return out;
}
