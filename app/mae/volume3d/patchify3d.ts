/**
 * Volumes ⇄ patch sequences for the 3-D MAE. Patches are row-major over the grid: token
 * l = (z·H' + y)·W' + x for the patch at slice z, row y, column x. Inside a patch the
 * C·pd·ph·pw values are ordered (c, k, i, j) — channel, slice in patch, row, column — the
 * flattening of a PyTorch Conv3d weight [D, C, pd, ph, pw], as the 2-D `patchify` flattens a
 * Conv2d weight. Every intermediate has rank ≤ 6, which every TF.js backend transposes.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Size3d } from './config3d';

/** [B, C, D, H, W] → [B, L, C·pd·ph·pw] with L = (D/pd)·(H/ph)·(W/pw). */
export function patchify3d(volumes: tf.Tensor, patchSize: Size3d): tf.Tensor {
  if (volumes.rank !== 5) throw new Error(`patchify3d expects [B, C, D, H, W], got ${JSON.stringify(volumes.shape)}`);
  const [batchSize, channels, depth, height, width] = volumes.shape as [number, number, number, number, number];
  const [pd, ph, pw] = patchSize;
  if (depth % pd !== 0 || height % ph !== 0 || width % pw !== 0) {
    throw new Error(`volume size ${depth}×${height}×${width} must be divisible by the patch size ${pd}×${ph}×${pw}`);
  }
  const [slices, rows, columns] = [depth / pd, height / ph, width / pw];
  return tf.tidy(() => {
    // In-plane first: [B*C*D, h, ph, w, pw] → [B*C*D, h, w, ph, pw]
    const plane = tf.transpose(
      tf.reshape(volumes, [batchSize * channels * depth, rows, ph, columns, pw]),
      [0, 1, 3, 2, 4],
    );
    // Then depth: [B, C, d, pd, h*w, ph*pw] → [B, d, h*w, C, pd, ph*pw]
    const split = tf.reshape(plane, [batchSize, channels, slices, pd, rows * columns, ph * pw]);
    const grouped = tf.transpose(split, [0, 2, 4, 1, 3, 5]);
    return tf.reshape(grouped, [batchSize, slices * rows * columns, channels * pd * ph * pw]); // [B, L, C*pd*ph*pw]
  });
}

/** [B, L, C·pd·ph·pw] → [B, C, D, H, W] for a grid of `grid` = (D', H', W') patches (the inverse of `patchify3d`). */
export function unpatchify3d(patches: tf.Tensor, patchSize: Size3d, grid: Size3d, channels: number): tf.Tensor {
  if (patches.rank !== 3) throw new Error(`unpatchify3d expects [B, L, P], got ${JSON.stringify(patches.shape)}`);
  const [batchSize, numPatches, patchLength] = patches.shape as [number, number, number];
  const [pd, ph, pw] = patchSize;
  const [slices, rows, columns] = grid;
  if (numPatches !== slices * rows * columns) {
    throw new Error(`unpatchify3d: ${numPatches} patches do not fill a ${slices}×${rows}×${columns} grid`);
  }
  if (patchLength !== channels * pd * ph * pw) {
    throw new Error(`unpatchify3d: patch length ${patchLength} ≠ C·pd·ph·pw = ${channels}·${pd}·${ph}·${pw}`);
  }
  return tf.tidy(() => {
    const grouped = tf.reshape(patches, [batchSize, slices, rows * columns, channels, pd, ph * pw]);
    const split = tf.transpose(grouped, [0, 3, 1, 4, 2, 5]); // [B, C, d, pd, h*w, ph*pw]
    const plane = tf.reshape(split, [batchSize * channels * slices * pd, rows, columns, ph, pw]);
    const image = tf.transpose(plane, [0, 1, 3, 2, 4]); // [B*C*D, h, ph, w, pw]
    return tf.reshape(image, [batchSize, channels, slices * pd, rows * ph, columns * pw]);
  });
}
