/**
 * Test helpers of the 3-D MAE: a tiny config and smooth generated volumes.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../rng';
import { validateMae3dConfig, type Mae3dConfig } from './config3d';

/** 8×8×8 single-channel volumes of 4³ cubes (L = 8), one block each side, widths 12. */
export const TINY_MAE3D: Mae3dConfig = validateMae3dConfig({
  volumeSize: [8, 8, 8],
  patchSize: [4, 4, 4],
  inChans: 1,
  embedDim: 12,
  depth: 1,
  numHeads: 2,
  decoderEmbedDim: 12,
  decoderDepth: 1,
  decoderNumHeads: 2,
  mlpRatio: 2,
  normPixLoss: true,
});

/**
 * Smooth volumes [B, C, D, H, W]: a sum of two plane waves of random direction and phase per
 * sample and channel, so every patch is predictable from its neighbours.
 */
export function waveVolumes(batchSize: number, config: Mae3dConfig, rng: Rng): tf.Tensor {
  const [depth, height, width] = config.volumeSize;
  const channels = config.inChans;
  const values = new Float32Array(batchSize * channels * depth * height * width);
  let k = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let c = 0; c < channels; c++) {
      const waves = [0, 1].map(() => ({
        z: rng.uniformIn(-0.6, 0.6),
        y: rng.uniformIn(-0.6, 0.6),
        x: rng.uniformIn(-0.6, 0.6),
        phase: rng.uniformIn(0, 2 * Math.PI),
      }));
      for (let z = 0; z < depth; z++)
        for (let y = 0; y < height; y++)
          for (let x = 0; x < width; x++) {
            values[k++] = waves.reduce((sum, w) => sum + Math.sin(w.z * z + w.y * y + w.x * x + w.phase), 0);
          }
    }
  }
  return tf.tensor(values, [batchSize, channels, depth, height, width]);
}

/**
 * Volumes one smooth pattern generates, each at its own contrast and brightness with a little
 * noise: a·pattern + b + 0.05·noise. With norm-pix targets each patch's target is nearly the same
 * in every volume, so a model that learns anything learns it — the training tests' data.
 */
export function patternVolumes(batchSize: number, config: Mae3dConfig, rng: Rng): tf.Tensor {
  const [depth, height, width] = config.volumeSize;
  const perVolume = config.inChans * depth * height * width;
  const values = new Float32Array(batchSize * perVolume);
  for (let b = 0; b < batchSize; b++) {
    const contrast = rng.uniformIn(0.5, 2);
    const brightness = rng.uniformIn(-1, 1);
    for (let k = 0; k < perVolume; k++) {
      const x = k % width;
      const y = Math.floor(k / width) % height;
      const z = Math.floor(k / (width * height)) % depth;
      const c = Math.floor(k / (width * height * depth));
      const pattern = Math.sin(0.7 * x + 0.3 * y + c) + Math.cos(0.5 * z - 0.4 * y);
      values[b * perVolume + k] = contrast * pattern + brightness + 0.05 * rng.normal();
    }
  }
  return tf.tensor(values, [batchSize, config.inChans, depth, height, width]);
}
