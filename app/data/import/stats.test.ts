import { describe, expect, it } from 'vitest';
import { summarizePixels } from './stats';

describe('summarizePixels', () => {
  it('computes mean, population std, min and max per channel of 8-bit RGB', () => {
    // Four pixels: red 0,10,20,30 · green all 100 · blue 0,0,255,255.
    const pixels = Uint8Array.from([0, 100, 0, 10, 100, 0, 20, 100, 255, 30, 100, 255]);
    const { stats } = summarizePixels(pixels, 3, 8);
    expect(stats[0]).toEqual({ mean: 15, std: Math.sqrt(125), min: 0, max: 30 });
    expect(stats[1]).toEqual({ mean: 100, std: 0, min: 100, max: 100 });
    expect(stats[2]).toEqual({ mean: 127.5, std: 127.5, min: 0, max: 255 });
  });

  it('keeps 16-bit values in their own units', () => {
    const pixels = Uint16Array.from([1000, 3000, 65535, 1000]);
    const { stats } = summarizePixels(pixels, 1, 16);
    expect(stats[0]!.mean).toBeCloseTo(17633.75, 6);
    expect(stats[0]!.min).toBe(1000);
    expect(stats[0]!.max).toBe(65535);
  });

  it('handles grey + alpha and RGBA layouts channel by channel', () => {
    const greyAlpha = summarizePixels(Uint8Array.from([10, 255, 30, 0]), 2, 8);
    expect(greyAlpha.stats.map((channel) => channel.mean)).toEqual([20, 127.5]);
    const rgba = summarizePixels(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 4, 8);
    expect(rgba.stats.map((channel) => channel.mean)).toEqual([3, 4, 5, 6]);
  });

  it('gives 0.5 and 99.5 percentiles that ignore a few outliers', () => {
    const pixels = new Uint16Array(1000).fill(2000);
    for (let index = 0; index < 500; index++) pixels[index] = 1000 + index;
    pixels[0] = 0;
    pixels[999] = 65535;
    const { low, high, stats } = summarizePixels(pixels, 1, 16);
    expect(low[0]).toBeGreaterThan(0);
    expect(high[0]).toBe(2000);
    expect(stats[0]!.min).toBe(0);
    expect(stats[0]!.max).toBe(65535);
  });
});
