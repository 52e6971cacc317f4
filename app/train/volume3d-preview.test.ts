/**
 * The 3-D mask preview: the crop and mask it shows are the ones a 3-D run of the seed draws
 * first (the same calls on the same Rng streams as `pretrainMae3d`), cut into three planes whose
 * counts add up; and through the studio's `volumes.previewMask` on an imported NIfTI volume, an
 * imported DICOM series and a plain image, with the errors a user can meet.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StudioError, type VolumeMaskPreview } from '../contract';
import { makeNifti } from '../data/formats/nifti.fixtures';
import { writeDicom } from '../data/formats/formats.fixtures';
import { temporaryFolder, writeFixture } from '../data/images.fixtures';
import { cropBatch3d } from '../data/volumes/volume-crops';
import { openVolumeFile } from '../data/volumes/volume-planes';
import { Rng, RNG_STREAMS } from '../mae/rng';
import { DEFAULT_MAE3D_CONFIG } from '../mae/volume3d/config3d';
import { randomMasking3d } from '../mae/volume3d/mae3d';
import { maskPlanes3d, volumePlanes3d } from '../mae/volume3d/planes3d';
import { Studio } from '../studio';
import { DEFAULT_PRETRAIN3D } from './volume3d-pretrain';
import { checkPreview3d, previewVolume3d, type Volume3dPreviewOptions } from './volume3d-preview';

const [X, Y, Z] = [16, 12, 8];
const data = temporaryFolder();
const workspaceDir = temporaryFolder('mae-workspace-');
const niftiFile = path.join(data.dir, 'ct', 'patient.nii.gz');
let studio: Studio;
let projectId: number;

function decode(base64: string): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

beforeAll(async () => {
  fs.mkdirSync(path.dirname(niftiFile), { recursive: true });
  const values = Array.from({ length: X * Y * Z }, (_, index) => (index * 37) % 1000);
  fs.writeFileSync(
    niftiFile,
    makeNifti({ datatype: 16, dims: [X, Y, Z], values, pixdim: [0.8, 0.8, 2.4], gzip: true }),
  );
  for (let k = 0; k < 4; k++) {
    const file = path.join(data.dir, 'series', `slice${k}.dcm`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const slice = Array.from({ length: 8 * 8 }, (_, index) => index + 100 * k);
    const spec = { rows: 8, columns: 8, bitsAllocated: 16 as const, values: slice, series: '1.2.840.99.8' };
    const geometry = { instance: k + 1, position: [0, 0, 3 * k] as [number, number, number] };
    fs.writeFileSync(file, writeDicom({ ...spec, ...geometry, orientation: [1, 0, 0, 0, 1, 0] }));
  }
  await writeFixture(path.join(data.dir, 'photos', 'a.png'), {
    format: 'png',
    bitDepth: 8,
    channels: 1,
    width: 32,
    height: 32,
    seed: 1,
  });
  studio = new Studio(workspaceDir.dir);
  projectId = studio.workspace.projects.create('volumes', 'medical').id;
  await studio.runImport('i', projectId, [data.dir]);
});
afterAll(async () => {
  await studio.close();
  workspaceDir.remove();
  data.remove();
});

const options: Volume3dPreviewOptions = {
  cropSize: [4, 8, 8],
  patchSize: [2, 4, 4],
  strategy: 'random',
  maskRatio: 0.75,
  seed: 7,
};

describe('previewVolume3d', () => {
  it("shows the crop and mask a 3-D run of the seed draws first, standardised, on the runs' Rng streams", async () => {
    const grid = await openVolumeFile(niftiFile);
    const preview = previewVolume3d({ grid, time: 0, name: 'patient.nii.gz', orientation: 'RAS' }, options);
    // What pretrainMae3d does at step 0 with this volume first in its list (batch of 4, another volume after it).
    const batch = cropBatch3d(
      [grid, grid],
      4,
      { size: options.cropSize, ...DEFAULT_PRETRAIN3D.crops },
      Rng.fromSeed(7, RNG_STREAMS.data),
    );
    const config = { ...DEFAULT_MAE3D_CONFIG, volumeSize: options.cropSize, patchSize: options.patchSize };
    const masks = randomMasking3d(config, 4, 0.75, Rng.fromSeed(7, RNG_STREAMS.mask));
    const first = batch.values.subarray(0, 4 * 8 * 8);
    const at = [2, 4, 4] as const; // the crop's centre
    const planes = volumePlanes3d(first, options.cropSize, at);
    const maskCuts = maskPlanes3d(config, masks.mask.subarray(0, 8), at);
    preview.planes.forEach((plane, axis) => {
      expect(Array.from(decode(plane.values))).toEqual(Array.from(planes[axis]!.values));
      expect(plane.mask).toEqual(Array.from(maskCuts[axis]!.values));
    });
    expect(preview.at).toEqual(at);
    expect(Math.abs(first.reduce((sum, v) => sum + v, 0) / first.length)).toBeLessThan(1e-5); // standardised
    expect(preview).toMatchObject({ tokens: 8, visible: 2, masked: 6, grid: [2, 2, 2] });
  });

  it('counts the patches each plane crosses, names planes by anatomy and gives their true spacing', async () => {
    const grid = await openVolumeFile(niftiFile);
    const preview = previewVolume3d({ grid, time: 0, name: 'p', orientation: 'RAS' }, { ...options, at: [0, 1, 7] });
    expect(preview.planes.map((plane) => plane.name)).toEqual(['axial', 'coronal', 'sagittal']);
    expect(preview.planes.map((plane) => [plane.rows, plane.columns])).toEqual([
      [8, 8],
      [4, 8],
      [4, 8],
    ]);
    expect(preview.planes.map((plane) => plane.spacing)).toEqual([
      [0.8, 0.8],
      [2.4, 0.8],
      [2.4, 0.8],
    ]);
    for (const plane of preview.planes) {
      expect(plane.patches).toBe(4); // 2×2 patches on every cut of a 2×2×2 grid
      expect(plane.visible + plane.masked).toBe(plane.patches);
      expect(plane.masked).toBe(plane.mask.filter(Boolean).length);
    }
    expect(preview.planes.map((plane) => plane.index)).toEqual([0, 1, 7]);
  });
});

describe('checkPreview3d', () => {
  it('refuses a crop of more than 256³ voxels in a volume that holds it', () => {
    const huge = { ...options, cropSize: [512, 512, 512] as const, patchSize: [16, 16, 16] as const };
    expect(() => checkPreview3d([600, 512, 512], huge, 'ct')).toThrow(
      'cropSize 512×512×512 holds 134,217,728 voxels; the preview reads at most 16,777,216 (256³)',
    );
  });
});

describe('volumes.previewMask', () => {
  /** The grid's tile of the file or folder named `needle`. */
  const tile = (needle: string) =>
    studio.workspace.images
      .list({ projectId, offset: 0, limit: 50, sort: 'path', status: 'ok' })
      .images.find((image) => image.path.includes(needle))!;

  it('previews a NIfTI volume and a DICOM series from their grid tiles', async () => {
    const nifti: VolumeMaskPreview = await studio.services.volumes.previewMask({
      imageId: tile('patient.nii.gz').id,
      cropSize: [8, 12, 16],
      patchSize: [4, 4, 4],
      strategy: 'random',
      maskRatio: 0.5,
      seed: 0,
    });
    expect(nifti).toMatchObject({ volumeSize: [8, 12, 16], spacing: [2.4, 0.8, 0.8], origin: [0, 0, 0], tokens: 24 });
    expect(nifti.visible + nifti.masked).toBe(24);
    expect(nifti.visible).toBe(12);
    const series = await studio.services.volumes.previewMask({
      imageId: tile('series').id,
      cropSize: [4, 8, 8],
      patchSize: [2, 4, 4],
      strategy: 'block',
      maskRatio: 0.75,
      seed: 3,
    });
    expect(series).toMatchObject({ volumeSize: [4, 8, 8], spacing: [3, 0.5, 0.5], tokens: 8, visible: 2, masked: 6 });
    // The whole series is the crop: slice file k holds 100·k + 8·row + column, here standardised.
    const flip = series.flipped[2];
    const raw = Array.from({ length: 4 * 64 }, (_, v) => {
      const [z, y, x] = [Math.floor(v / 64), Math.floor(v / 8) % 8, v % 8];
      return 100 * z + 8 * y + (flip ? 7 - x : x);
    });
    const mean = raw.reduce((sum, v) => sum + v, 0) / raw.length;
    const deviation = Math.sqrt(raw.reduce((sum, v) => sum + (v - mean) ** 2, 0) / raw.length);
    const axial = Array.from(decode(series.planes[0].values));
    expect(series.planes[0].index).toBe(2);
    axial.forEach((value, pixel) => expect(value).toBeCloseTo((raw[2 * 64 + pixel]! - mean) / deviation, 5));
  });

  it('refuses a crop larger than the volume, a patch that does not divide the crop, and a plain image', async () => {
    const query = { patchSize: [4, 4, 4] as [number, number, number], strategy: 'random' as const, maskRatio: 0.75 };
    const ask = (imageId: number, cropSize: [number, number, number], patchSize = query.patchSize) =>
      Promise.resolve()
        .then(() => studio.services.volumes.previewMask({ ...query, imageId, cropSize, patchSize, seed: 0 }))
        .then(
          () => null,
          (error: unknown) => error,
        );
    const volume = tile('patient.nii.gz').id;
    const tooLarge = await ask(volume, [16, 12, 16]);
    expect(tooLarge).toBeInstanceOf(StudioError);
    expect(String(tooLarge)).toMatch(
      /cropSize 16×12×16 is larger than patient\.nii\.gz, which is 8×12×16 .*at most 8×12×16/,
    );
    expect(String(await ask(volume, [8, 12, 12], [4, 8, 4]))).toMatch(
      /patchSize 4×8×4 does not divide cropSize 8×12×12: the crop's 12 rows are not a whole number of 8-voxel/,
    );
    const plain = await ask(tile('a.png').id, [4, 4, 4]);
    expect(plain).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(String(plain)).toMatch(/a\.png\) is not a slice of a volume \(a NIfTI file or a DICOM series\)/);
  });
});
