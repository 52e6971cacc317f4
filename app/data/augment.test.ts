import { describe, expect, it } from 'vitest';
import { Rng } from '../mae/rng';
import { augment, resizeCrop, sampleCropBox } from './augment';

describe('augmentation', () => {
  it('samples crops inside the image with area 0.2–1 and ratio 3/4–4/3', () => {
    const rng = Rng.fromSeed(1);
    for (let i = 0; i < 200; i++) {
      const box = sampleCropBox(120, 200, rng);
      expect(box.top + box.height).toBeLessThanOrEqual(120);
      expect(box.left + box.width).toBeLessThanOrEqual(200);
      const area = (box.height * box.width) / (120 * 200);
      expect(area).toBeGreaterThan(0.15);
      expect(box.width / box.height).toBeGreaterThan(0.7);
      expect(box.width / box.height).toBeLessThan(1.4);
    }
  });

  it('resizes a full-image crop to the same pixels and mirrors on flip', () => {
    const image = { data: Float32Array.from({ length: 2 * 4 * 4 }, (_, k) => k), channels: 2, height: 4, width: 4 };
    const box = { top: 0, left: 0, height: 4, width: 4 };
    expect(resizeCrop(image, box, 4, false)).toEqual(image.data);
    const flipped = resizeCrop(image, box, 4, true);
    expect(flipped[0]).toBe(3);
    expect(flipped[16 + 4 + 3]).toBe(16 + 4);
  });

  it('is deterministic for a seed', () => {
    const image = {
      data: Float32Array.from({ length: 3 * 32 * 32 }, (_, k) => Math.sin(k)),
      channels: 3,
      height: 32,
      width: 32,
    };
    expect(augment(image, 16, Rng.fromSeed(4))).toEqual(augment(image, 16, Rng.fromSeed(4)));
  });
});
