import { describe, expect, it } from 'vitest';
import type { Raster } from './raster';
import { maskCells, otsuThreshold, tissueMask, tissuePixels, tissueShare } from './tissue';

function rgb(width: number, height: number, paint: (x: number, y: number) => [number, number, number]): Raster {
  const values = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) values.set(paint(x, y), (y * width + x) * 3);
  return { width, height, bands: 3, sampleType: 'uint8', values };
}

describe('tissue mask', () => {
  it("puts Otsu's threshold between the two modes of a bimodal histogram", () => {
    const histogram = new Array<number>(256).fill(0);
    for (let bin = 20; bin <= 40; bin++) histogram[bin] = 100;
    for (let bin = 180; bin <= 200; bin++) histogram[bin] = 50;
    const threshold = otsuThreshold(histogram);
    expect(threshold).toBeGreaterThanOrEqual(40);
    expect(threshold).toBeLessThan(180);
  });

  it('calls stained pixels tissue and grey glass background, and none of a colourless slide', () => {
    const half = rgb(40, 20, (x) => (x < 10 ? [190, 80, 160] : [235, 235, 238]));
    const pixels = tissuePixels(half);
    expect(pixels.reduce((sum, value) => sum + value, 0)).toBe(10 * 20);
    // Glass alone (saturation below the floor everywhere): no tissue, not half of it.
    const glass = rgb(40, 20, (x, y) => [230 + ((x + y) % 5), 232, 231]);
    expect(tissuePixels(glass).reduce((sum, value) => sum + value, 0)).toBe(0);
  });

  it('keeps one bit per cell over level 0 and weighs a window by the cells it overlaps', () => {
    // A 4000 × 2000 slide whose left quarter is tissue, seen at 400 × 200.
    const mask = tissueMask(
      rgb(400, 200, (x) => (x < 100 ? [190, 80, 160] : [240, 240, 240])),
      4000,
      2000,
    );
    expect([mask.columns, mask.rows]).toEqual([128, 64]);
    expect(mask.share).toBeCloseTo(0.25, 2);
    const cells = maskCells(mask);
    expect(tissueShare(cells, mask, 4000, 2000, { x: 0, y: 0, width: 500, height: 500 })).toBeCloseTo(1, 5);
    expect(tissueShare(cells, mask, 4000, 2000, { x: 2000, y: 0, width: 500, height: 500 })).toBe(0);
    // Straddling the edge at x = 1000: half on tissue.
    expect(tissueShare(cells, mask, 4000, 2000, { x: 750, y: 0, width: 500, height: 500 })).toBeCloseTo(0.5, 1);
  });
});
