import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../mae/rng';
import { fileBatchSource, decodePlanar } from './batches';

let directory = '';
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'mae-batches-'));
  // a 16-bit grey ramp, 32×32: value = 2000·x (a Uint16Array tells sharp the samples are 16-bit)
  const ramp = new Uint16Array(32 * 32).map((_, k) => 2000 * (k % 32));
  await sharp(ramp, { raw: { width: 32, height: 32, channels: 1, premultiplied: false } })
    .toColourspace('grey16')
    .png()
    .toFile(join(directory, 'ramp16.png'));
  await sharp({ create: { width: 20, height: 24, channels: 3, background: { r: 255, g: 0, b: 51 } } })
    .png()
    .toFile(join(directory, 'flat8.png'));
});
afterAll(async () => rm(directory, { recursive: true, force: true }));

describe('fileBatchSource', () => {
  it('decodes 16-bit images at native depth, planar, scaled to [0, 1]', async () => {
    const image = await decodePlanar({ path: join(directory, 'ramp16.png'), channels: 1, bitDepth: 16 });
    expect([image.channels, image.height, image.width]).toEqual([1, 32, 32]);
    expect(image.data[5]).toBeCloseTo((5 * 2000) / 65535, 6);
  });

  it('crops, normalises per channel and is deterministic for a seed', async () => {
    const source = fileBatchSource({
      images: [{ path: join(directory, 'flat8.png'), channels: 3, bitDepth: 8 }],
      imgSize: 8,
      mean: [0.5, 0.5, 0.2],
      std: [0.5, 0.25, 0.1],
    });
    const batch = await source.next(Rng.fromSeed(1), 2);
    expect([batch.batchSize, batch.channels, batch.height, batch.width]).toEqual([2, 3, 8, 8]);
    expect(batch.images[0]).toBeCloseTo((1 - 0.5) / 0.5, 5); // red = 255 → 1
    expect(batch.images[64]).toBeCloseTo((0 - 0.5) / 0.25, 5); // green = 0
    expect(batch.images[128]).toBeCloseTo((0.2 - 0.2) / 0.1, 5); // blue = 51 → 0.2
    const again = await source.next(Rng.fromSeed(1), 2);
    expect(again.images).toEqual(batch.images);
  });

  it('names the file that does not match its declared channels', async () => {
    const source = fileBatchSource({
      images: [{ path: join(directory, 'flat8.png'), channels: 1, bitDepth: 8 }],
      imgSize: 8,
      mean: [0],
      std: [1],
    });
    await expect(source.next(Rng.fromSeed(1), 1)).rejects.toThrow(/flat8\.png: decoded 3 channels/);
  });
});
