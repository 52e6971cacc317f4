/**
 * Images ⇄ patch sequences. Patches are row-major over the grid; inside a patch the C·p·p
 * values are ordered (c, i, j) — channel, then row, then column — which is the flattening of a
 * PyTorch Conv2d weight [D, C, p, p]. (The MAE reference `patchify` orders its *targets*
 * (i, j, c); since pred and target use the same order the loss is unchanged, only the rows
 * of `decoder_pred` are permuted.)
 */
import * as tf from '@tensorflow/tfjs-core';

/** [B, C, H, W] → [B, L, C·p·p] with L = (H/p)·(W/p). */
export function patchify(imgs: tf.Tensor, patchSize: number): tf.Tensor {
  const [batchSize, channels, height, width] = imgs.shape as [number, number, number, number];
  if (imgs.rank !== 4) throw new Error(`patchify expects [B, C, H, W], got ${JSON.stringify(imgs.shape)}`);
  if (height % patchSize !== 0 || width % patchSize !== 0) {
    throw new Error(`image size ${height}×${width} must be divisible by the patch size ${patchSize}`);
  }
  const rows = height / patchSize;
  const columns = width / patchSize;
  return tf.tidy(() => {
    const split = tf.reshape(imgs, [batchSize, channels, rows, patchSize, columns, patchSize]); // [B, C, h, p, w, p]
    const grouped = tf.transpose(split, [0, 2, 4, 1, 3, 5]); // [B, h, w, C, p, p]
    return tf.reshape(grouped, [batchSize, rows * columns, channels * patchSize * patchSize]); // [B, L, C*p*p]
  });
}

/** [B, L, C·p·p] → [B, C, H, W] for a square grid (the inverse of `patchify`). */
export function unpatchify(patches: tf.Tensor, patchSize: number, channels: number): tf.Tensor {
  const [batchSize, numPatches, patchLength] = patches.shape as [number, number, number];
  const side = Math.round(Math.sqrt(numPatches));
  if (side * side !== numPatches) throw new Error(`unpatchify needs a square grid, got L = ${numPatches}`);
  if (patchLength !== channels * patchSize * patchSize) {
    throw new Error(`unpatchify: patch length ${patchLength} ≠ C·p·p = ${channels}·${patchSize}²`);
  }
  return tf.tidy(() => {
    const grouped = tf.reshape(patches, [batchSize, side, side, channels, patchSize, patchSize]); // [B, h, w, C, p, p]
    const split = tf.transpose(grouped, [0, 3, 1, 4, 2, 5]); // [B, C, h, p, w, p]
    return tf.reshape(split, [batchSize, channels, side * patchSize, side * patchSize]); // [B, C, H, W]
  });
}
