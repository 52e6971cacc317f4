import { describe, expect, it } from 'vitest';
import references from './references.json';
import { hogPerPatch, hogWidth } from './hog';
import { hogTestImage } from './recipes.fixtures';

describe('hogPerPatch', () => {
  it('equals scikit-image HOG (9 bins, 8-px cells, per-cell L2) on every patch of a 2-channel image', () => {
    const ours = hogPerPatch(hogTestImage(), { batchSize: 1, channels: 2, height: 32, width: 32 }, 16);
    const expected = references.hog_patch16; // [L = 4][2 channels · 4 cells · 9 bins]
    expect(hogWidth(2, 16)).toBe(72);
    expect(ours.length).toBe(4 * 72);
    expected.forEach((patch, index) => patch.forEach((value, k) => expect(ours[index * 72 + k]).toBeCloseTo(value, 5)));
  });

  it('gives zeros for a flat region and unit-norm histograms elsewhere', () => {
    const ours = hogPerPatch(hogTestImage(), { batchSize: 1, channels: 2, height: 32, width: 32 }, 16);
    // Patch 0, channel 1 is flat inside (its cell touching the textured neighbours is not).
    const flatCell = ours.subarray(36, 45);
    expect(Array.from(flatCell).every((value) => value === 0)).toBe(true);
    const textured = ours.subarray(0, 9);
    expect(Math.hypot(...textured)).toBeCloseTo(1, 5);
  });

  it('treats each image of a batch on its own', () => {
    const one = hogTestImage();
    const two = new Float32Array(2 * one.length);
    two.set(one.map((value) => 100 - value));
    two.set(one, one.length);
    const batch = hogPerPatch(two, { batchSize: 2, channels: 2, height: 32, width: 32 }, 16);
    const single = hogPerPatch(one, { batchSize: 1, channels: 2, height: 32, width: 32 }, 16);
    expect(Array.from(batch.subarray(single.length))).toEqual(Array.from(single));
  });
});
