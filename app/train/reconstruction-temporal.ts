/**
 * Reconstructions of a SatMAE temporal model: each sample's T dates become T rows of the grid
 * (original | masked | reconstruction of that date), in date order. The model predicts the masked
 * tokens of every date from the visible tokens of all of them; each prediction is pasted at its
 * date and patch, brought back to pixels as reconstruction.ts does (norm-pix undone with the
 * patch's own mean and unbiased variance, then the dataset normalisation).
 */
import * as tf from '@tensorflow/tfjs-core';
import { gridSize } from '../mae/config';
import { shuffleOrder, type MaskSet } from '../mae/masking';
import { paramLookup, type MaeModel } from '../mae/model';
import { unpatchify } from '../mae/patchify';
import { forwardTemporal, framePatches } from '../mae/temporal';
import type { ReconstructionPixels } from './reconstruction';

/**
 * Frames [B, T·C, S, S] (normalised), masks over T·L tokens and timestamps [B, T, 3] → pixels of
 * B·T rows [C, S, S] in [0, 1] units, with each date's mask [B·T, L].
 */
export async function reconstructTemporal(
  model: MaeModel,
  images: tf.Tensor4D,
  masks: MaskSet,
  timestamps: Float32Array,
  mean: number[],
  std: number[],
): Promise<ReconstructionPixels> {
  const { patchSize, inChans, normPixLoss, imgSize } = model.config;
  const frames = model.config.temporal!.frames;
  const { numPatches } = gridSize(model.config);
  const { batchSize, numKeep } = masks;
  const tokens = frames * numPatches;
  const rows = batchSize * frames;
  // Each masked prediction's row in [B·T·L]: the shuffled order's masked part, kept order.
  const shuffle = shuffleOrder(masks);
  const masked = Int32Array.from({ length: batchSize * (tokens - numKeep) }, (_, k) => {
    const b = Math.floor(k / (tokens - numKeep));
    return b * tokens + shuffle[b * tokens + numKeep + (k % (tokens - numKeep))]!;
  });
  const [original, pasted] = tf.tidy(() => {
    const input = { config: model.config, imgs: images, timestamps, masks };
    const pred = forwardTemporal(paramLookup(model), input).pred; // [B, Tm, C*p*p], masked tokens
    const patches = framePatches(images, frames, patchSize); // [B, T*L, C*p*p]
    const width = patches.shape[2]!;
    let values = tf.reshape(pred, [-1, width]); // [B*Tm, C*p*p]
    const indices = tf.tensor2d(masked, [masked.length, 1], 'int32');
    const flat = tf.reshape(patches, [batchSize * tokens, width]); // [B*T*L, C*p*p]
    if (normPixLoss) {
      const own = tf.gatherND(flat, indices); // the masked patches' own values
      const { mean: patchMean, variance } = tf.moments(own, -1, true);
      const unbiased = tf.mul(variance, width / Math.max(1, width - 1));
      values = tf.add(tf.mul(values, tf.sqrt(tf.add(unbiased, 1e-6))), patchMean);
    }
    const hidden = tf.tensor2d(Float32Array.from(masks.mask), [batchSize * tokens, 1]); // 1 where masked
    const placed = tf.scatterND(indices, values, [batchSize * tokens, width]); // predictions at their tokens
    const merged = tf.add(tf.mul(flat, tf.sub(1, hidden)), placed); // [B*T*L, C*p*p]
    const byDate = tf.reshape(merged, [rows, numPatches, width]); // [B*T, L, C*p*p], frame-major
    const scale = tf.tensor4d(std, [1, inChans, 1, 1]);
    const shift = tf.tensor4d(mean, [1, inChans, 1, 1]);
    const toUnits = (x: tf.Tensor) => tf.add(tf.mul(x, scale), shift); // [B*T, C, S, S] in [0, 1] units
    const dates = tf.reshape(images, [rows, inChans, imgSize, imgSize]);
    return [toUnits(dates), toUnits(unpatchify(byDate, patchSize, inChans))];
  });
  const result: ReconstructionPixels = {
    original: (await original.data()) as Float32Array, // async reads: webgpu has none synchronous in Node
    pasted: (await pasted.data()) as Float32Array,
    mask: masks.mask, // [B, T*L] frame-major is [B*T, L]
    batchSize: rows,
    channels: inChans,
    size: imgSize,
    patchSize,
  };
  tf.dispose([original, pasted]);
  return result;
}
