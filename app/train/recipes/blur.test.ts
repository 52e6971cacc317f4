import { describe, expect, it } from 'vitest';
import references from './references.json';
import { gaussianBlur, gaussianKernel } from './blur';
import { blurTestImage } from './recipes.fixtures';

describe('gaussianBlur', () => {
  it('equals scipy.ndimage.gaussian_filter (reflect, truncate 4) on a small image with an edge', () => {
    const ours = gaussianBlur(blurTestImage(), { batchSize: 1, channels: 1, height: 7, width: 9 }, 1.3);
    references.blur_sigma1_3.forEach((row, y) =>
      row.forEach((value, x) => expect(ours[y * 9 + x]).toBeCloseTo(value, 4)),
    );
  });

  it('keeps a constant image and the mean of each plane, and leaves its input sharp', () => {
    const flat = new Float32Array(2 * 16 * 16).fill(3);
    expect(
      Array.from(gaussianBlur(flat, { batchSize: 1, channels: 2, height: 16, width: 16 }, 2)).every(
        (value) => Math.abs(value - 3) < 1e-5,
      ),
    ).toBe(true);
    const input = blurTestImage();
    const copy = Float32Array.from(input);
    gaussianBlur(input, { batchSize: 1, channels: 1, height: 7, width: 9 }, 1);
    expect(input).toEqual(copy);
  });

  it('refuses a non-positive sigma and a wrong shape', () => {
    expect(() => gaussianKernel(0)).toThrow(/positive number of pixels, got 0/);
    expect(() => gaussianBlur(new Float32Array(10), { batchSize: 1, channels: 1, height: 3, width: 3 }, 1)).toThrow(
      /10 values do not make \[1, 1, 3, 3\]/,
    );
  });
});
