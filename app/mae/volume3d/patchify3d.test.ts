import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from '../mae.fixtures';
import { patchify3d, unpatchify3d } from './patchify3d';

beforeAll(useCpuBackend);

/** A volume whose every voxel holds a code of its coordinates: ((b·10 + c)·100 + z)·10000 + y·100 + x. */
function codedVolume(batchSize: number, channels: number, depth: number, height: number, width: number): tf.Tensor {
  const values = new Float32Array(batchSize * channels * depth * height * width);
  let k = 0;
  for (let b = 0; b < batchSize; b++)
    for (let c = 0; c < channels; c++)
      for (let z = 0; z < depth; z++)
        for (let y = 0; y < height; y++)
          for (let x = 0; x < width; x++) values[k++] = ((b * 10 + c) * 100 + z) * 10000 + y * 100 + x;
  return tf.tensor(values, [batchSize, channels, depth, height, width]);
}

describe('patchify3d', () => {
  it('orders tokens (slice, row, column) and values (channel, slice, row, column) like a Conv3d weight', () => {
    // 2 channels, volume 4×6×8, patch 2×3×4: grid 2×2×2 (L = 8), 48 values per patch
    const volume = codedVolume(1, 2, 4, 6, 8);
    const patches = patchify3d(volume, [2, 3, 4]);
    expect(patches.shape).toEqual([1, 8, 48]);
    const data = patches.arraySync() as number[][][];
    const token = (1 * 2 + 0) * 2 + 1; // slice 1, row 0, column 1
    for (let c = 0; c < 2; c++)
      for (let k = 0; k < 2; k++)
        for (let i = 0; i < 3; i++)
          for (let j = 0; j < 4; j++) {
            const z = 1 * 2 + k;
            const y = 0 * 3 + i;
            const x = 1 * 4 + j;
            expect(data[0]![token]![((c * 2 + k) * 3 + i) * 4 + j]).toBe((c * 100 + z) * 10000 + y * 100 + x);
          }
    tf.dispose([volume, patches]);
  });

  it('round-trips through unpatchify3d for cubic and thick-slice patches', () => {
    for (const [shape, patch] of [
      [
        [2, 1, 8, 8, 8],
        [4, 4, 4],
      ],
      [
        [1, 3, 4, 16, 8],
        [4, 8, 4],
      ],
      [
        [2, 2, 6, 4, 4],
        [2, 2, 2],
      ],
    ] as const) {
      const volume = tf.randomNormal(shape as unknown as number[]);
      const grid = [shape[2] / patch[0], shape[3] / patch[1], shape[4] / patch[2]] as const;
      const back = unpatchify3d(patchify3d(volume, patch), patch, grid, shape[1]);
      expect(back.shape).toEqual([...shape]);
      expect(Array.from(back.dataSync())).toEqual(Array.from(volume.dataSync()));
      tf.dispose([volume, back]);
    }
  });

  it('refuses a volume the patch does not divide, naming both sizes', () => {
    const volume = tf.zeros([1, 1, 5, 8, 8]);
    expect(() => patchify3d(volume, [2, 4, 4])).toThrow(/5×8×8 must be divisible by the patch size 2×4×4/);
    volume.dispose();
  });

  it('leaks no tensors', () => {
    const volume = tf.randomNormal([1, 1, 4, 4, 4]);
    const before = tf.memory().numTensors;
    const patches = patchify3d(volume, [2, 2, 2]);
    const back = unpatchify3d(patches, [2, 2, 2], [2, 2, 2], 1);
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.dispose([volume, patches, back]);
  });
});
