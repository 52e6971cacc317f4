/**
 * A DICOM series as one 3-D sample: four axial slice files (imported shuffled, 0.5 mm apart) become
 * one volume of 4 slices in position order, and its crop holds each slice's pixels as stored.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEntry } from '../batches';
import { writeDicom } from '../formats/formats.fixtures';
import { temporaryFolder, temporaryWorkspace } from '../images.fixtures';
import { centreCrop3d } from './volume-crops';
import { collectVolumes, openVolumeRef } from './volume-set';
import { makeNifti } from '../formats/nifti.fixtures';
import { openNiftiFile } from '../formats/nifti-file';
import { niftiGrid } from './volume-planes';

/** Pixel value at column c, row r of the slice at z index k. */
const value = (c: number, r: number, k: number) => 100 * c + 10 * r + k;

let data: ReturnType<typeof temporaryFolder>;
let space: ReturnType<typeof temporaryWorkspace>;

beforeAll(async () => {
  data = temporaryFolder();
  space = temporaryWorkspace();
  for (const k of [2, 0, 3, 1]) {
    fs.writeFileSync(
      path.join(data.dir, `slice${k}.dcm`),
      writeDicom({
        rows: 3,
        columns: 4,
        bitsAllocated: 16,
        values: Array.from({ length: 12 }, (_, index) => value(index % 4, Math.floor(index / 4), k)),
        series: '1.2.840.99.7',
        patientId: 'P7',
        instance: 10 - k,
        position: [0, 0, k * 0.5],
        orientation: [1, 0, 0, 0, 1, 0],
      }),
    );
  }
  fs.writeFileSync(
    path.join(data.dir, 'alone.dcm'),
    writeDicom({ rows: 2, columns: 2, bitsAllocated: 8, values: [1, 2, 3, 4] }),
  );
  const result = await space.importFolder(data.dir);
  expect(result.errors).toEqual([]);
});
afterAll(() => {
  space.remove();
  data.remove();
});

describe('volumes of a project', () => {
  it('groups a series into one volume in position order and crops its slices as stored', async () => {
    const { volumes, notVolumes } = collectVolumes(space.workspace.images.usable(space.projectId, 'path'));
    expect(notVolumes).toBe(1); // the lone image without a position
    expect(volumes).toHaveLength(1);
    const [series] = volumes;
    expect(series!.size).toEqual([4, 3, 4]);
    expect(series!.spacing[0]).toBeCloseTo(0.5, 6);
    expect(series!.imageIds).toHaveLength(4);
    expect(series!.source.kind === 'series' && series!.source.slices.map((slice) => path.basename(slice.path))).toEqual(
      ['slice0.dcm', 'slice1.dcm', 'slice2.dcm', 'slice3.dcm'],
    );
    const grid = await openVolumeRef(series!, (slice, volume) =>
      readEntry({ path: slice.path, frame: slice.frame, channels: volume.channels, bitDepth: 16 }),
    );
    const crop = centreCrop3d(grid, { size: [4, 3, 4], standardise: false });
    const expected = Array.from({ length: 48 }, (_, index) =>
      value(index % 4, Math.floor(index / 4) % 3, Math.floor(index / 12)),
    );
    expect(Array.from(crop.values)).toEqual(expected);
  });

  it('reads a NIfTI crop a slice at a time with the voxels of the file', async () => {
    const file = path.join(data.dir, 'ct.nii.gz');
    const values = Array.from({ length: 6 * 5 * 4 * 2 }, (_, index) => (index * 37) % 1000);
    fs.writeFileSync(file, makeNifti({ datatype: 4, dims: [6, 5, 4, 2], values, pixdim: [0.8, 0.9, 2.5], gzip: true }));
    const ref = {
      key: 'k',
      name: 'ct.nii.gz',
      imageIds: [1],
      group: 'k',
      label: null,
      size: [4, 5, 6] as [number, number, number],
      spacing: [2.5, 0.9, 0.8] as [number, number, number],
      channels: 1,
      source: { kind: 'nifti' as const, path: file, time: 1 },
    };
    const cached = await openVolumeRef(ref, () => Promise.reject(new Error('not a series')));
    const direct = niftiGrid(await openNiftiFile(file));
    for (const time of [0, 1]) {
      const options = { size: [3, 4, 5] as [number, number, number], standardise: false, time };
      expect(Array.from(centreCrop3d(cached, options).values)).toEqual(
        Array.from(centreCrop3d(direct, options).values),
      );
    }
    cached.close?.();
    direct.close?.();
  });
});
