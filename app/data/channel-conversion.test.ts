import { describe, expect, it } from 'vitest';
import { conversionChoices } from '../contract';
import { convertRaster, convertStats, conversionOf } from './channel-conversion';
import type { Raster } from './formats/raster';

/** Two pixels of `bands` interleaved uint8 values. */
function raster(bands: number, values: number[]): Raster {
  return { width: 2, height: 1, bands, sampleType: 'uint8', values: Uint8Array.from(values) };
}

describe('conversion choices', () => {
  it('offers the conversions of the issue, best first, and always leaving out', () => {
    expect(conversionChoices(3, 3)).toEqual(['keep', 'exclude']);
    expect(conversionChoices(1, 3)).toEqual(['repeat', 'exclude']);
    expect(conversionChoices(1, 13)).toEqual(['repeat', 'exclude']);
    expect(conversionChoices(2, 1)).toEqual(['drop-alpha', 'exclude']);
    expect(conversionChoices(2, 3)).toEqual(['repeat', 'exclude']);
    expect(conversionChoices(3, 1)).toEqual(['luminance', 'exclude']);
    expect(conversionChoices(4, 1)).toEqual(['luminance', 'exclude']);
    expect(conversionChoices(4, 3)).toEqual(['drop-alpha', 'exclude']);
    // No honest way from RGB to 13 bands, or from 13 bands to RGB: only leaving out.
    expect(conversionChoices(3, 13)).toEqual(['exclude']);
    expect(conversionChoices(13, 3)).toEqual(['exclude']);
  });

  it('takes a saved conversion, else the default for the count', () => {
    expect(conversionOf({ 1: 'exclude' }, 1, 3)).toBe('exclude');
    expect(conversionOf({}, 1, 3)).toBe('repeat');
    expect(conversionOf({}, 13, 3)).toBe('exclude');
  });
});

describe('convertRaster', () => {
  it('repeats a grey band to three', () => {
    const out = convertRaster(raster(1, [10, 200]), 'repeat', 3);
    expect([out.bands, out.sampleType, [...out.values]]).toEqual([3, 'uint8', [10, 10, 10, 200, 200, 200]]);
  });

  it('repeats the grey band of grey + alpha and drops the alpha', () => {
    expect([...convertRaster(raster(2, [10, 255, 20, 0]), 'repeat', 3).values]).toEqual([10, 10, 10, 20, 20, 20]);
    expect([...convertRaster(raster(2, [10, 255, 20, 0]), 'drop-alpha', 1).values]).toEqual([10, 20]);
  });

  it('drops the alpha of RGBA', () => {
    expect([...convertRaster(raster(4, [1, 2, 3, 255, 4, 5, 6, 0]), 'drop-alpha', 3).values]).toEqual([
      1, 2, 3, 4, 5, 6,
    ]);
  });

  it('turns RGB and RGBA into Rec. 601 luminance as float values', () => {
    const out = convertRaster(raster(3, [255, 0, 0, 10, 20, 30]), 'luminance', 1);
    expect(out.sampleType).toBe('float32');
    expect(out.values[0]).toBeCloseTo(0.299 * 255, 4);
    expect(out.values[1]).toBeCloseTo(0.299 * 10 + 0.587 * 20 + 0.114 * 30, 4);
    expect(convertRaster(raster(4, [0, 255, 0, 9, 0, 0, 255, 9]), 'luminance', 1).values[1]).toBeCloseTo(
      0.114 * 255,
      4,
    );
  });

  it('keeps a raster of the target count as it is, and refuses what the plan cannot do', () => {
    const same = raster(3, [1, 2, 3, 4, 5, 6]);
    expect(convertRaster(same, 'keep', 3)).toBe(same);
    expect(() => convertRaster(same, 'repeat', 3)).toThrow(
      'cannot "repeat" 3-channel images into 3 bands; it can keep or exclude',
    );
    expect(() => convertRaster(raster(1, [1, 2]), 'exclude', 3)).toThrow('leaves 1-channel images out of training');
  });
});

describe('convertStats', () => {
  const rgb = [
    { mean: 100, std: 10, min: 0, max: 200 },
    { mean: 50, std: 5, min: 10, max: 100 },
    { mean: 20, std: 2, min: 5, max: 40 },
  ];

  it('copies the statistics of repeated and kept bands', () => {
    expect(convertStats([rgb[0]!], 1, 'repeat', 3)).toEqual([rgb[0], rgb[0], rgb[0]]);
    expect(convertStats([...rgb, { mean: 255, std: 0, min: 255, max: 255 }], 4, 'drop-alpha', 3)).toEqual(rgb);
  });

  it('gives luminance the exact mean and bounds for std, min and max', () => {
    const [grey] = convertStats(rgb, 3, 'luminance', 1);
    expect(grey!.mean).toBeCloseTo(0.299 * 100 + 0.587 * 50 + 0.114 * 20, 9);
    expect(grey!.std).toBeCloseTo(0.299 * 10 + 0.587 * 5 + 0.114 * 2, 9);
    expect([grey!.min, grey!.max].map((value) => Math.round(value * 1000) / 1000)).toEqual([6.44, 123.06]);
  });
});
