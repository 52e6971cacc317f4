/**
 * Random 3-D crops for the 3-D MAE, read from a generated NIfTI file on disk (float32, voxel value
 * 10000·k + 100·j + i, so every value says where it came from) and from the same volume stored as
 * separate slices (a DICOM series' path), then fed to the 3-D MAE.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from '../../mae/mae.fixtures';
import { Rng } from '../../mae/rng';
import { validateMae3dConfig } from '../../mae/volume3d/config3d';
import { createMae3d, disposeMae3d, forwardMae3d, randomMasking3d } from '../../mae/volume3d/mae3d';
import { makeNifti } from '../formats/nifti.fixtures';
import type { Raster } from '../formats/raster';
import { centreCrop3d, cropBatch3d, randomCrop3d, standardiseChannels } from './volume-crops';
import { openVolumeFile, sliceGrid } from './volume-planes';

const [X, Y, Z, T] = [10, 9, 7, 2];
const value = (i: number, j: number, k: number, t = 0) => 10000 * k + 100 * j + i + 0.5 * t;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'volume-crops-'));
const file = path.join(dir, 'coded.nii.gz');
beforeAll(async () => {
  await useCpuBackend();
  const values: number[] = [];
  for (let t = 0; t < T; t++)
    for (let k = 0; k < Z; k++) for (let j = 0; j < Y; j++) for (let i = 0; i < X; i++) values.push(value(i, j, k, t));
  fs.writeFileSync(file, makeNifti({ datatype: 16, dims: [X, Y, Z, T], values, gzip: true }));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const raw = { standardise: false, flip: [false, false, false] as const };

describe('random 3-D crops of a stored volume', () => {
  it('reads [C, D, H, W]: D along the stored slices, H down the shown rows (highest j first), W along i', async () => {
    const grid = await openVolumeFile(file);
    const crop = randomCrop3d(grid, { size: [3, 4, 5], ...raw }, Rng.fromSeed(1, 2));
    const [k0, row0, i0] = crop.origin;
    expect(crop.values.length).toBe(3 * 4 * 5);
    for (let z = 0; z < 3; z++)
      for (let y = 0; y < 4; y++)
        for (let x = 0; x < 5; x++) {
          expect(crop.values[(z * 4 + y) * 5 + x]).toBe(value(i0 + x, Y - 1 - (row0 + y), k0 + z));
        }
  });

  it('mirrors each enabled axis about half the time and reaches every corner position', async () => {
    const grid = await openVolumeFile(file);
    const rng = Rng.fromSeed(2, 2);
    const seen = new Set<string>();
    let flips = 0;
    for (let n = 0; n < 400; n++) {
      const crop = randomCrop3d(grid, { size: [6, 8, 8], standardise: false }, rng); // default flip: W only
      seen.add(crop.origin.join(','));
      expect(crop.flipped.slice(0, 2)).toEqual([false, false]);
      if (crop.flipped[2]) {
        flips++;
        const [k0, row0, i0] = crop.origin;
        expect(crop.values[0]).toBe(value(i0 + 7, Y - 1 - row0, k0)); // first column is the crop's last
      }
    }
    expect(seen.size).toBe(2 * 2 * 3); // (7−6+1)·(9−8+1)·(10−8+1) corners
    expect(flips).toBeGreaterThan(160);
    expect(flips).toBeLessThan(240);
  });

  it('mirrors all three axes when asked, and reads the second volume of a 4-D file', async () => {
    const grid = await openVolumeFile(file);
    const crop = randomCrop3d(grid, { size: [7, 9, 10], ...raw, time: 1 }, Rng.fromSeed(3, 2));
    expect(crop.values[0]).toBe(value(0, Y - 1, 0, 1)); // the first shown row is the highest j
    const all = randomCrop3d(
      grid,
      { size: [7, 9, 10], standardise: false, flip: [true, true, true] },
      Rng.fromSeed(4, 2),
    );
    const [fz, fy, fx] = all.flipped;
    expect(all.values[0]).toBe(value(fx ? X - 1 : 0, fy ? 0 : Y - 1, fz ? Z - 1 : 0));
  });

  it('standardises each crop to mean 0, deviation 1 by default', async () => {
    const crop = randomCrop3d(await openVolumeFile(file), { size: [4, 4, 4] }, Rng.fromSeed(5, 2));
    const mean = crop.values.reduce((a, b) => a + b, 0) / crop.values.length;
    const variance = crop.values.reduce((a, b) => a + (b - mean) ** 2, 0) / crop.values.length;
    expect(Math.abs(mean)).toBeLessThan(1e-5);
    expect(variance).toBeCloseTo(1, 4);
  });

  it('standardises over the finite voxels: NaN outside a mask becomes 0, the rest keeps its contrast', () => {
    const values = Float32Array.from([Number.NaN, 1, 3, Number.NaN, Number.POSITIVE_INFINITY, 5, 7, 9]);
    standardiseChannels(values, 2);
    // Channel 1: 1 and 3 → −1, +1; channel 2: 5, 7, 9 → −√1.5, 0, +√1.5.
    expect(Array.from(values)).toEqual([
      0,
      -1,
      1,
      0,
      0,
      expect.closeTo(-Math.sqrt(1.5), 5),
      0,
      expect.closeTo(Math.sqrt(1.5), 5),
    ]);
    const empty = Float32Array.from([Number.NaN, Number.NaN]);
    standardiseChannels(empty, 1);
    expect(Array.from(empty)).toEqual([0, 0]);
  });

  it('refuses a crop larger than the volume, naming the file and both sizes', async () => {
    const grid = await openVolumeFile(file);
    expect(() => randomCrop3d(grid, { size: [8, 4, 4] }, Rng.fromSeed(1, 2), 'coded.nii.gz')).toThrow(
      'coded.nii.gz is 7 slices × 9 rows × 10 columns, too small for a 8×4×4 crop',
    );
    expect(() => randomCrop3d(grid, { size: [4, 4, 4], time: 2 }, Rng.fromSeed(1, 2), 'coded.nii.gz')).toThrow(
      'coded.nii.gz holds 2 volume(s); volume 3 was asked for',
    );
  });

  it('crops a series of stored slices (the DICOM path) exactly as the same volume in one file', async () => {
    const slices: Raster[] = Array.from({ length: Z }, (_, k) => ({
      width: X,
      height: Y,
      bands: 1,
      sampleType: 'float32',
      values: Float32Array.from({ length: X * Y }, (_, p) => value(p % X, Y - 1 - Math.floor(p / X), k)),
    }));
    const series = sliceGrid(slices, [1, 1, 1]);
    const fromFile = randomCrop3d(await openVolumeFile(file), { size: [5, 6, 7] }, Rng.fromSeed(6, 2));
    const fromSeries = randomCrop3d(series, { size: [5, 6, 7] }, Rng.fromSeed(6, 2));
    expect(Array.from(fromSeries.values)).toEqual(Array.from(fromFile.values));
  });

  it('batches crops from the file into [B, C, D, H, W] that the 3-D MAE trains on', async () => {
    const config = validateMae3dConfig({
      volumeSize: [4, 8, 8],
      patchSize: [2, 4, 4],
      inChans: 1,
      embedDim: 12,
      depth: 1,
      numHeads: 2,
      decoderEmbedDim: 12,
      decoderDepth: 1,
      decoderNumHeads: 2,
      mlpRatio: 2,
      normPixLoss: true,
    });
    const grid = await openVolumeFile(file);
    const rng = Rng.fromSeed(7, 2);
    const batch = cropBatch3d([grid], 3, { size: config.volumeSize }, rng, ['coded.nii.gz']);
    expect(batch.shape).toEqual([3, 1, 4, 8, 8]);
    const model = createMae3d(config, 1);
    const volumes = tf.tensor(batch.values, batch.shape);
    const { loss, pred } = forwardMae3d(model, volumes, randomMasking3d(config, 3, 0.75, rng));
    expect(Number.isFinite(loss.dataSync()[0])).toBe(true);
    tf.dispose([loss, pred, volumes]);
    disposeMae3d(model);
  });
});

describe('the centre crop', () => {
  it('sits in the middle of each axis, unmirrored', async () => {
    const crop = centreCrop3d(await openVolumeFile(file), { size: [3, 4, 5], standardise: false });
    expect(crop.origin).toEqual([2, 2, 2]); // ⌊(7−3)/2⌋, ⌊(9−4)/2⌋, ⌊(10−5)/2⌋
    expect(crop.flipped).toEqual([false, false, false]);
    expect(crop.values[0]).toBe(value(2, Y - 1 - 2, 2));
  });
});
