/**
 * Hostile volumes imported as a user would: .nii.gz files cut mid-stream or holding less than their
 * header declares (small ones read in memory, large ones inflated to disk), headers claiming
 * 10^12 voxels, and a DICOM series whose slices differ in size. Each NIfTI file becomes one error
 * row with its specific reason and nothing else (no slices, no copy left in the copies folder);
 * the series imports with its problem reported, and planes across it are refused by name.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setVolumeCopies, volumeCopies } from '../cache/volume-copies';
import { writeDicom } from '../formats/formats.fixtures';
import { makeNifti } from '../formats/nifti.fixtures';
import { temporaryFolder, temporaryWorkspace } from '../images.fixtures';
import type { ImportResult } from '../../contract';
import { volumeEntries } from './volume-entries';

let data: ReturnType<typeof temporaryFolder>;
let space: ReturnType<typeof temporaryWorkspace>;
let result: ImportResult;
const previous = volumeCopies();
let copies = '';

/** A .nii.gz whose header declares `dims` int16 voxels but whose stream holds only `stored` of them. */
function shortNifti(dims: number[], stored: number): Uint8Array {
  return makeNifti({
    datatype: 4,
    dims,
    values: Array.from({ length: stored }, (_, index) => index % 700),
    gzip: true,
  });
}

/** Over 256 MiB declared: imported by inflating to disk, not in memory. */
const LARGE = [512, 512, 600];

beforeAll(async () => {
  data = temporaryFolder();
  space = temporaryWorkspace();
  copies = path.join(space.dir, 'cache', 'volumes');
  setVolumeCopies(copies);
  const whole = shortNifti([8, 8, 4], 256);
  const files: Record<string, Uint8Array> = {
    'cut.nii.gz': whole.subarray(0, Math.floor(whole.length / 2)),
    'cut-large.nii.gz': (() => {
      const bytes = shortNifti(LARGE, 400_000);
      return bytes.subarray(0, Math.floor(bytes.length * 0.6));
    })(),
    'short-large.nii.gz': shortNifti(LARGE, 400_000),
    'huge.nii.gz': makeNifti({ datatype: 2, dims: [10_000, 10_000, 10_000], values: [], gzip: true }),
    'huge.nii': makeNifti({ datatype: 2, dims: [10_000, 10_000, 10_000], values: [] }),
  };
  fs.mkdirSync(path.join(data.dir, 'nifti'));
  for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(data.dir, 'nifti', name), bytes);
  // Five axial slices 1 mm apart; the fourth is 6 rows high instead of 8.
  fs.mkdirSync(path.join(data.dir, 'series'));
  for (let k = 0; k < 5; k++) {
    const rows = k === 3 ? 6 : 8;
    fs.writeFileSync(
      path.join(data.dir, 'series', `slice${k}.dcm`),
      writeDicom({
        rows,
        columns: 8,
        bitsAllocated: 16,
        values: Array.from({ length: rows * 8 }, (_, index) => index + k),
        series: '1.2.840.99.31',
        instance: k + 1,
        position: [0, 0, k],
        orientation: [1, 0, 0, 0, 1, 0],
      }),
    );
  }
  result = await space.importFolder(data.dir);
});
afterAll(() => {
  setVolumeCopies(previous.dir, previous.maxBytes);
  space.remove();
  data.remove();
});

describe('hostile volumes', () => {
  it('turns each broken NIfTI file into one error row with its reason, keeping no slice and no copy', () => {
    const reasons = Object.fromEntries(result.errors.map((error) => [path.basename(error.path), error.reason]));
    expect(Object.keys(reasons).sort()).toEqual([
      'cut-large.nii.gz',
      'cut.nii.gz',
      'huge.nii',
      'huge.nii.gz',
      'short-large.nii.gz',
    ]);
    expect(reasons['cut.nii.gz']).toMatch(/corrupt or truncated gzip stream/);
    expect(reasons['cut-large.nii.gz']).toMatch(/corrupt or truncated gzip stream in a \.nii\.gz file/);
    expect(reasons['short-large.nii.gz']).toMatch(
      /truncated NIfTI file: the \.nii\.gz inflates to 800352 bytes, its header declares 314573152/,
    );
    expect(reasons['huge.nii.gz']).toMatch(/NIfTI file too large: its header declares 1000000000352 bytes/);
    expect(reasons['huge.nii']).toMatch(/truncated NIfTI file: 10000×10000×10000×1 voxels/);
    const usable = space.workspace.images.usable(space.projectId, 'path');
    expect(usable.filter((row) => row.path.includes(`${path.sep}nifti${path.sep}`))).toEqual([]);
    expect(fs.existsSync(copies) ? fs.readdirSync(copies) : []).toEqual([]);
  });

  it('imports a series of mixed slice sizes with the problem reported, and refuses planes across it', () => {
    expect(result.volumes).toEqual([
      expect.objectContaining({
        folder: path.join(data.dir, 'series'),
        slices: 5,
        problems: ['mixed slice sizes: 8×8, 8×6'],
      }),
    ]);
    const rows = space.workspace.images.usable(space.projectId, 'path').map((row) => ({
      meta: row.meta,
      entry: { path: row.path, frame: row.frame, width: row.width, height: row.height, channels: 1, bitDepth: 16 },
    }));
    expect(rows).toHaveLength(5);
    expect(() => volumeEntries(rows, { axis: 'coronal', neighbours: 0 })).toThrow(
      /channelPlan.volume: 5 kept slices belong to DICOM series without positions or with missing, duplicate or mixed/,
    );
    // Its stored slices still train as they are, one image each.
    expect(volumeEntries(rows, { axis: 'axial', neighbours: 0 }).map((entry) => entry.plane)).toEqual(
      Array(5).fill(undefined),
    );
  });
});
