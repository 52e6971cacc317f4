/**
 * Reconstruction grids show what users expect: the visible patches are the original pixels
 * (pasted back, dataset normalisation undone), the masked input is grey exactly where the mask
 * hides patches, and nothing leaks.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomMasking } from '../mae/masking';
import { createMae, disposeModel } from '../mae/model';
import { Rng } from '../mae/rng';
import { TINY_MAE, useCpuBackend } from '../mae/mae.fixtures';
import { gridPixels, reconstruct } from './reconstruction';

beforeAll(() => useCpuBackend());

describe('reconstruction grids', () => {
  it('pastes the visible patches back as original pixels, in [0, 1] units, and frees its tensors', async () => {
    const model = createMae(TINY_MAE, 1);
    const mean = [0.4, 0.2];
    const std = [0.1, 0.05];
    const rng = Rng.fromSeed(3, 1);
    const values = Float32Array.from({ length: 2 * 2 * 8 * 8 }, () => rng.normal());
    const images = tf.tensor4d(values, [2, 2, 8, 8]);
    const masks = randomMasking({ batchSize: 2, gridSide: 2, maskRatio: 0.5 }, Rng.fromSeed(4, 2));
    const before = tf.memory().numTensors;
    const recon = await reconstruct(model, images, masks, mean, std);
    expect(tf.memory().numTensors).toBe(before);
    for (let b = 0; b < 2; b++) {
      for (let c = 0; c < 2; c++) {
        for (let y = 0; y < 8; y++) {
          for (let x = 0; x < 8; x++) {
            const index = ((b * 2 + c) * 8 + y) * 8 + x;
            const expected = values[index]! * std[c]! + mean[c]!;
            expect(recon.original[index]).toBeCloseTo(expected, 5);
            const masked = masks.mask[b * 4 + Math.floor(y / 4) * 2 + Math.floor(x / 4)] === 1;
            if (!masked) expect(recon.pasted[index]).toBeCloseTo(expected, 5);
          }
        }
      }
    }
    images.dispose();
    disposeModel(model);
  });

  it('draws rows of original | masked | reconstruction, grey exactly on the masked patches', () => {
    const size = 4;
    const mask = Uint8Array.from([1, 0, 0, 1]); // 2×2 grid of 2-px patches
    const original = Float32Array.from({ length: size * size }, (_, i) => i / 15);
    const { pixels, width, height } = gridPixels({
      original,
      pasted: original,
      mask,
      batchSize: 1,
      channels: 1,
      size,
      patchSize: 2,
    });
    expect([width, height]).toEqual([3 * size + 8, size]);
    const at = (x: number, y: number) => pixels[(y * width + x) * 3]!;
    const maskedColumn = size + 4;
    expect(at(maskedColumn + 0, 0)).toBe(128); // patch 0 masked
    expect(at(maskedColumn + 3, 3)).toBe(128); // patch 3 masked
    expect(at(maskedColumn + 2, 0)).toBe(at(2, 0)); // patch 1 visible: the original
    expect(at(0, 0)).toBe(0);
    expect(at(3, 3)).toBe(255); // stretched to the original's range
  });
});
