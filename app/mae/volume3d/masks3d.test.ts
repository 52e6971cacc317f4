import { describe, expect, it } from 'vitest';
import type { MaskSet } from '../masking';
import { Rng } from '../rng';
import { validateMae3dConfig } from './config3d';
import { TINY_MAE3D } from './mae3d.fixtures';
import { makeMasks3d } from './masks3d';

/** A 6×8×8 token grid (L = 384). */
const CONFIG = validateMae3dConfig({ ...TINY_MAE3D, volumeSize: [24, 32, 32], patchSize: [4, 4, 4] });
const SIZE = [6, 8, 8] as const;

/** Of the face neighbours of masked tokens, the fraction also masked (1: one solid lump). */
function clustering(masks: MaskSet): number {
  let same = 0;
  let total = 0;
  const [d, h, w] = SIZE;
  for (let b = 0; b < masks.batchSize; b++) {
    const mask = masks.mask.subarray(b * masks.numPatches, (b + 1) * masks.numPatches);
    for (let z = 0; z < d; z++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          if (!mask[(z * h + y) * w + x]) continue;
          for (const [dz, dy, dx] of [
            [1, 0, 0],
            [-1, 0, 0],
            [0, 1, 0],
            [0, -1, 0],
            [0, 0, 1],
            [0, 0, -1],
          ]) {
            const [zz, yy, xx] = [z + dz!, y + dy!, x + dx!];
            if (zz < 0 || yy < 0 || xx < 0 || zz >= d || yy >= h || xx >= w) continue;
            total++;
            same += mask[(zz * h + yy) * w + xx]!;
          }
        }
  }
  return same / total;
}

describe('3-D masks', () => {
  for (const strategy of ['random', 'block', 'noise'] as const) {
    it(`${strategy}: masks exactly L − round(L/4) tokens of every volume`, () => {
      const masks = makeMasks3d(strategy, CONFIG, 4, 0.75, Rng.fromSeed(1, 3));
      expect(masks.numKeep).toBe(96);
      for (let b = 0; b < 4; b++) {
        expect(masks.mask.subarray(b * 384, (b + 1) * 384).reduce((a, m) => a + m, 0)).toBe(288);
      }
    });
  }

  it('cuboid blocks and red noise clump the masked tokens in 3-D; blue noise spreads them', () => {
    const measure = (strategy: 'random' | 'block' | 'noise', noiseColor?: 'red' | 'blue') =>
      clustering(makeMasks3d(strategy, CONFIG, 8, 0.5, Rng.fromSeed(2, 3), { noiseColor }));
    const random = measure('random');
    if (process.env.MAE3D_LOG) {
      console.log(
        JSON.stringify({
          random,
          block: measure('block'),
          red: measure('noise', 'red'),
          blue: measure('noise', 'blue'),
        }),
      );
    }
    expect(random).toBeGreaterThan(0.45); // ≈ the masked fraction, 0.5
    expect(random).toBeLessThan(0.55);
    expect(measure('block')).toBeGreaterThan(random + 0.1);
    expect(measure('noise', 'red')).toBeGreaterThan(random + 0.1);
    expect(measure('noise', 'blue')).toBeLessThan(random);
  });

  it('names the strategies it knows when given another', () => {
    expect(() => makeMasks3d('tube' as never, CONFIG, 1, 0.75, Rng.fromSeed(1, 3))).toThrow(/random, block or noise/);
  });
});
