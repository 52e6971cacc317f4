/**
 * Volume planes for training: axial, coronal and sagittal planes of a generated NIfTI volume
 * whose every voxel says where it is (100·i + 10·j + k), anisotropic spacing resampled to square
 * pixels, 2.5-D neighbours clamped at the ends, and planes read from a file on disk through the
 * batches' reader, converted and normalised as the channel plan says.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePlanar, type ImageEntry } from '../batches';
import { defaultChannelPlan, resolveTransform } from '../channel-plan';
import { prepareSample } from '../cache/prepared';
import { makeNifti, type NiftiFixture } from '../formats/nifti.fixtures';
import { readNifti, readNiftiSlice } from '../formats/nifti';
import { axisCodes } from '../formats/nifti-affine';
import { niftiGrid, planeSize, readPlane, readVolumePlane, voxelAxisOf } from './volume-planes';

/** A 4 × 3 × 5 int16 volume (i, j, k): voxel value 100·i + 10·j + k. */
const SIZE = [4, 3, 5] as const;
const value = (i: number, j: number, k: number) => 100 * i + 10 * j + k;
function ramp(extra: Partial<NiftiFixture> = {}): NiftiFixture {
  const values: number[] = [];
  for (let k = 0; k < SIZE[2]; k++)
    for (let j = 0; j < SIZE[1]; j++) for (let i = 0; i < SIZE[0]; i++) values.push(value(i, j, k));
  return { datatype: 4, dims: [...SIZE], values, ...extra };
}

/** A raster's value at (column, row, band). */
function at(
  raster: { width: number; bands: number; values: ArrayLike<number> },
  column: number,
  row: number,
  band = 0,
): number {
  return raster.values[(row * raster.width + column) * raster.bands + band]!;
}

describe('planes along each axis', () => {
  const file = readNifti(makeNifti(ramp()));
  const volume = niftiGrid(file);
  const codes = axisCodes(file.affine);

  it('maps axial, coronal and sagittal to k, j and i of a RAS volume, and follows a permuted sform', () => {
    expect([voxelAxisOf(codes, 'axial'), voxelAxisOf(codes, 'coronal'), voxelAxisOf(codes, 'sagittal')]).toEqual([
      2, 1, 0,
    ]);
    // A volume stored sagittal-first: i runs S–I, j A–P, k L–R.
    const sagittalFirst = readNifti(
      makeNifti(
        ramp({
          sform: {
            code: 1,
            rows: [
              [0, 0, 1, 0],
              [0, 1, 0, 0],
              [1, 0, 0, 0],
            ],
          },
        }),
      ),
    );
    expect([
      voxelAxisOf(axisCodes(sagittalFirst.affine), 'axial'),
      voxelAxisOf(axisCodes(sagittalFirst.affine), 'sagittal'),
    ]).toEqual([0, 2]);
    expect(voxelAxisOf('LPS', 'coronal')).toBe(1); // DICOM's codes name the same world axes
    expect(() => voxelAxisOf('LLS', 'axial')).toThrow(/axes \(LLS\) do not each run along another of L–R, A–P, S–I/);
  });

  it('reads an axial plane equal to the stored slice: columns i, rows j from high to low', () => {
    const plane = readPlane(volume, 2, 3);
    expect([plane.width, plane.height]).toEqual([4, 3]);
    for (let row = 0; row < 3; row++)
      for (let column = 0; column < 4; column++) expect(at(plane, column, row)).toBe(value(column, 2 - row, 3));
    expect(Array.from(plane.values)).toEqual(Array.from(readNiftiSlice(file, 3).values));
  });

  it('reads a coronal plane (columns i, rows k, superior on top) and a sagittal one (columns j, rows k)', () => {
    const coronal = readPlane(volume, 1, 2);
    expect([coronal.width, coronal.height]).toEqual([4, 5]);
    for (let row = 0; row < 5; row++)
      for (let column = 0; column < 4; column++) expect(at(coronal, column, row)).toBe(value(column, 2, 4 - row));
    const sagittal = readPlane(volume, 0, 1);
    expect([sagittal.width, sagittal.height]).toEqual([3, 5]);
    for (let row = 0; row < 5; row++)
      for (let column = 0; column < 3; column++) expect(at(sagittal, column, row)).toBe(value(1, column, 4 - row));
  });

  it('names the plane it cannot read', () => {
    expect(() => readPlane(volume, 1, 3)).toThrow(/no plane 3 across voxel axis j \(it has 3\)/);
  });
});

describe('square pixels', () => {
  it('resamples a coronal plane of 0.5 × 0.5 × 2 mm voxels to 4 × 20 pixels, linear along k', () => {
    const volume = niftiGrid(readNifti(makeNifti(ramp({ pixdim: [0.5, 0.5, 2] }))));
    expect(planeSize(volume.size, volume.spacing, 1)).toEqual({ width: 4, height: 20 });
    expect(planeSize(volume.size, volume.spacing, 2)).toEqual({ width: 4, height: 3 }); // axial: square already
    const plane = readVolumePlane(volume, { axis: 1, index: 1, time: 0, neighbours: 0 });
    expect([plane.width, plane.height, plane.sampleType]).toEqual([4, 20, 'float32']);
    for (let row = 0; row < 20; row++) {
      // Row centres at (row + 0.5)·5/20 − 0.5 voxels from the top (k = 4), clamped to the ends.
      const fromTop = Math.min(Math.max((row + 0.5) / 4 - 0.5, 0), 4);
      for (let column = 0; column < 4; column++)
        expect(at(plane, column, row)).toBeCloseTo(100 * column + 10 + (4 - fromTop), 4);
    }
  });
});

describe('2.5-D neighbours', () => {
  const volume = niftiGrid(readNifti(makeNifti(ramp())));

  it('stacks planes index − 1, index, index + 1 as bands, clamped at both ends', () => {
    const bandsAt = (index: number) => {
      const raster = readVolumePlane(volume, { axis: 2, index, time: 0, neighbours: 1 });
      expect(raster.bands).toBe(3);
      return [0, 1, 2].map((band) => at(raster, 1, 2, band) - value(1, 0, 0)); // column 1, row j = 0: each band's k
    };
    expect(bandsAt(2)).toEqual([1, 2, 3]);
    expect(bandsAt(0)).toEqual([0, 0, 1]);
    expect(bandsAt(4)).toEqual([3, 4, 4]);
    const two = readVolumePlane(volume, { axis: 0, index: 0, time: 0, neighbours: 2 });
    expect([0, 1, 2, 3, 4].map((band) => (at(two, 0, 0, band) - value(0, 0, 4)) / 100)).toEqual([0, 0, 0, 1, 2]);
  });
});

describe('planes read from disk for training', () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'volume-planes-'));
  afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

  it('reads a coronal 2.5-D sample, windows each plane, and prepares it for the cache at the same values', async () => {
    const file = path.join(folder, 'ct.nii.gz');
    fs.writeFileSync(file, makeNifti(ramp({ gzip: true })));
    const plan = {
      ...defaultChannelPlan(1),
      scaling: 'window' as const,
      window: [0, 500] as [number, number],
      volume: { axis: 'coronal' as const, neighbours: 1 as const },
    };
    const transform = resolveTransform(plan, null, { mean: [0], std: [1] });
    expect(transform.bands).toEqual([0, 1, 2]);
    const entry: ImageEntry = {
      path: file,
      channels: 1,
      bitDepth: 16,
      width: 4,
      height: 5,
      plane: { axis: 1, index: 0, time: 0, neighbours: 1 },
    };
    const planar = await decodePlanar(entry, transform);
    expect([planar.channels, planar.height, planar.width]).toEqual([3, 5, 4]);
    const pixels = 20;
    // Column 3, top row (k = 4): planes j = 0 (clamped), 0, 1.
    expect([0, 1, 2].map((c) => planar.data[c * pixels + 3]! * 500)).toEqual(
      [value(3, 0, 4), value(3, 0, 4), value(3, 1, 4)].map((v) => expect.closeTo(v, 3)),
    );
    const prepared = await prepareSample(entry, 64, transform);
    expect([prepared.channels, prepared.height, prepared.width]).toEqual([3, 5, 4]);
    expect(prepared.values[2 * pixels + 3]).toBe(value(3, 1, 4));
    await expect(decodePlanar({ ...entry, channels: 2 }, transform)).rejects.toThrow(
      /ct\.nii\.gz: decoded 3 channels, the dataset says 6/,
    );
  });
});
