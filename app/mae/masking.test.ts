import { describe, expect, it } from 'vitest';
import { MASK_STRATEGIES } from '../contract';
import { keepCount, makeMasks, shuffleOrder, type MaskStrategyName } from './masking';
import { Rng } from './rng';

const strategies: readonly MaskStrategyName[] = MASK_STRATEGIES;

describe('masking', () => {
  it.each(strategies)('%s keeps exactly round(L(1 − r)) patches per sample', (strategy) => {
    for (const [gridSide, maskRatio] of [
      [14, 0.75],
      [8, 0.6],
      [4, 0.5],
      [7, 0.9],
    ] as const) {
      const masks = makeMasks(strategy, { batchSize: 4, gridSide, maskRatio }, Rng.fromSeed(1));
      const numPatches = gridSide * gridSide;
      expect(masks.numKeep).toBe(Math.round(numPatches * (1 - maskRatio)));
      for (let b = 0; b < 4; b++) {
        const masked = masks.mask.subarray(b * numPatches, (b + 1) * numPatches).reduce((a, v) => a + v, 0);
        expect(masked).toBe(numPatches - masks.numKeep);
        for (let i = 0; i < masks.numKeep; i++)
          expect(masks.mask[b * numPatches + masks.keep[b * masks.numKeep + i]!]).toBe(0);
      }
    }
  });

  it.each(strategies)('%s: gathering by keep then unshuffling by restore is the identity', (strategy) => {
    const masks = makeMasks(strategy, { batchSize: 3, gridSide: 6, maskRatio: 0.75 }, Rng.fromSeed(5));
    const { batchSize, numPatches, numKeep } = masks;
    const shuffle = shuffleOrder(masks);
    for (let b = 0; b < batchSize; b++) {
      const tokens = Array.from({ length: numPatches }, (_, l) => 100 * b + l);
      // x_masked ++ masked
      const shuffled = Array.from({ length: numPatches }, (_, i) => tokens[shuffle[b * numPatches + i]!]!);
      expect(shuffled.slice(0, numKeep)).toEqual(
        Array.from(masks.keep.subarray(b * numKeep, (b + 1) * numKeep), (l) => tokens[l]),
      );
      const unshuffled = Array.from({ length: numPatches }, (_, l) => shuffled[masks.restore[b * numPatches + l]!]);
      expect(unshuffled).toEqual(tokens);
    }
  });

  it.each(strategies)('%s is deterministic for a seed and varies across samples', (strategy) => {
    const first = makeMasks(strategy, { batchSize: 2, gridSide: 8, maskRatio: 0.75 }, Rng.fromSeed(9));
    const second = makeMasks(strategy, { batchSize: 2, gridSide: 8, maskRatio: 0.75 }, Rng.fromSeed(9));
    expect(first.mask).toEqual(second.mask);
    expect(first.mask.subarray(0, 64)).not.toEqual(first.mask.subarray(64, 128));
  });

  it('block masking produces contiguous regions (fewer masked/visible borders than random)', () => {
    const borders = (strategy: MaskStrategyName): number => {
      const masks = makeMasks(strategy, { batchSize: 16, gridSide: 14, maskRatio: 0.5 }, Rng.fromSeed(2));
      let count = 0;
      for (let b = 0; b < 16; b++)
        for (let r = 0; r < 14; r++)
          for (let c = 0; c < 13; c++) {
            count += Number(masks.mask[b * 196 + r * 14 + c] !== masks.mask[b * 196 + r * 14 + c + 1]);
          }
      return count;
    };
    expect(borders('block')).toBeLessThan(0.7 * borders('random'));
    expect(borders('noise')).toBeLessThan(borders('random'));
  });

  it('rejects a mask ratio outside (0, 1)', () => {
    expect(() => keepCount(196, 1.2)).toThrow('maskRatio must be in (0, 1), got 1.2');
  });
});
