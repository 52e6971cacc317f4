import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMae, disposeModel, type MaeModel } from '../mae/model';
import { TINY_MAE, useCpuBackend } from '../mae/mae.fixtures';
import { encodeBlockFeatures, encodeFeatures, rawPixelFeatures } from './probe-features';

let model: MaeModel;
beforeAll(async () => {
  await useCpuBackend();
  model = createMae({ ...TINY_MAE, depth: 3 }, 3);
});
afterAll(() => disposeModel(model));

describe('features of an encoder block', () => {
  it('reads the last block exactly as the encoder does, earlier blocks differently, in one pass, no leak', () => {
    const imgs = tf.randomNormal([2, 2, 8, 8], 0, 1, 'float32', 5);
    const before = tf.memory().numTensors;
    const [first, last] = encodeBlockFeatures(model, imgs, 'mean', [1, 3]);
    const reference = encodeFeatures(model, imgs, 'mean');
    expect(last!.shape).toEqual([2, 8]);
    const largestDifference = (a: tf.Tensor, b: tf.Tensor) =>
      tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
    expect(largestDifference(last!, reference)).toBeLessThan(1e-5);
    expect(largestDifference(first!, reference)).toBeGreaterThan(1e-3);
    for (const tensor of [first!, last!, reference]) tensor.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => encodeBlockFeatures(model, imgs, 'cls', [4])).toThrow(/encoder block must be 1..3, got 4/);
    imgs.dispose();
  });
});

describe('raw-pixel features', () => {
  it('box-averages each channel to the target side', () => {
    // One image, one channel, 4 × 4 → 2 × 2: each output the mean of a 2 × 2 cell.
    const image = Float32Array.from({ length: 16 }, (_, i) => i);
    expect([...rawPixelFeatures(image, 1, 1, 4, 2)]).toEqual([2.5, 4.5, 10.5, 12.5]);
    // 3 → 2 keeps every pixel: cells of 2 and 1 rows/columns.
    const odd = Float32Array.from([1, 1, 4, 1, 1, 4, 7, 7, 9]);
    expect([...rawPixelFeatures(odd, 1, 1, 3, 2)]).toEqual([1, 4, 7, 9]);
    expect(() => rawPixelFeatures(image, 1, 1, 4, 5)).toThrow(/target side must be 1..4, got 5/);
  });
});
