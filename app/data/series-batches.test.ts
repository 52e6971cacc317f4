import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../mae/rng';
import type { ChannelTransform, ImageEntry } from './batches';
import { writeTiff } from './formats/formats.fixtures';
import { temporaryFolder } from './images.fixtures';
import { drawDates, seriesBatchSource, stackFrames, type PlaceSeries } from './series-batches';

const folder = temporaryFolder('mae-series-');
afterAll(() => folder.remove());

/** A 24×24 two-band uint16 image: a gradient times `scale`, so frames differ only by a factor. */
function frameFile(name: string, scale: number, side = 24): ImageEntry {
  const values = Uint16Array.from({ length: side * side * 2 }, (_, k) => {
    const pixel = Math.floor(k / 2);
    return scale * (1 + (pixel % side) + 2 * Math.floor(pixel / side) + 50 * (k % 2));
  });
  const file = path.join(folder.dir, name);
  fs.writeFileSync(file, writeTiff([{ width: side, height: side, bands: 2, sampleType: 'uint16', values }]));
  return { path: file, channels: 2, bitDepth: 16, width: side, height: side };
}

const TRANSFORM: ChannelTransform = { bands: [0, 1], clip: [null, null], center: [0, 0], spread: [100, 100] };

describe('series batches', () => {
  it('draws distinct dates in date order', () => {
    const rng = Rng.fromSeed(3);
    for (let draw = 0; draw < 50; draw++) {
      const dates = drawDates(5, 3, rng);
      expect(new Set(dates).size).toBe(3);
      expect(dates).toEqual([...dates].sort((a, b) => a - b));
      expect(dates.every((index) => index >= 0 && index < 5)).toBe(true);
    }
  });

  it('moves every date of a sample by the same crop and flip, and carries their timestamps', async () => {
    const place: PlaceSeries = {
      place: 'farm',
      frames: [1, 2, 3].map((scale, t) => ({
        entry: frameFile(`farm-${t}.tif`, scale),
        timestamp: [t, 3 * t, 10] as [number, number, number],
      })),
    };
    const source = seriesBatchSource({ places: [place], frames: 3, imgSize: 16, transform: TRANSFORM });
    const batch = await source.next(Rng.fromSeed(1), 4);
    expect(batch).toMatchObject({ batchSize: 4, channels: 6, height: 16, width: 16 });
    expect(Array.from(batch.timestamps!)).toEqual(Array(4).fill([0, 0, 10, 1, 3, 10, 2, 6, 10]).flat());
    const frame = 2 * 16 * 16;
    for (let b = 0; b < 4; b++) {
      const sample = batch.images.subarray(b * 3 * frame, (b + 1) * 3 * frame);
      // Date t is (t + 1) × date 0 pixel for pixel: the same window and flip (bilinear is linear).
      for (let k = 0; k < frame; k += 37) {
        expect(sample[frame + k]).toBeCloseTo(2 * sample[k]!, 3);
        expect(sample[2 * frame + k]).toBeCloseTo(3 * sample[k]!, 3);
      }
    }
  });

  it('resamples a date of another size to the first, and refuses places with too few dates', () => {
    const small = { data: new Float32Array(4 * 4).fill(1), channels: 1, height: 4, width: 4 };
    const large = { data: new Float32Array(8 * 8).fill(2), channels: 1, height: 8, width: 8 };
    const stacked = stackFrames([small, large]);
    expect(stacked).toMatchObject({ channels: 2, height: 4, width: 4 });
    expect(Array.from(stacked.data.subarray(16))).toEqual(Array(16).fill(2));
    const place: PlaceSeries = {
      place: 'pond',
      frames: [{ entry: frameFile('pond.tif', 1), timestamp: [0, 0, 0] }],
    };
    expect(() => seriesBatchSource({ places: [place], frames: 2, imgSize: 16, transform: TRANSFORM })).toThrow(
      'place pond has 1 date; each sample needs 2',
    );
  });
});
