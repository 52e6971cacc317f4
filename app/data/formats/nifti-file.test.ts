/**
 * NIfTI files read by offsets: the same slices and planes as a read in memory, a .nii.gz
 * inflated once into its uncompressed copy, and hostile headers refused before anything is kept.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { setVolumeCopies, volumeCopies } from '../cache/volume-copies';
import { niftiGrid, openVolumeFile, readPlane } from '../volumes/volume-planes';
import { readNifti, readNiftiSlice } from './nifti';
import { openNiftiFile } from './nifti-file';
import { makeNifti } from './nifti.fixtures';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nifti-file-'));
const previous = volumeCopies();
setVolumeCopies(path.join(dir, 'inflated'));
afterAll(() => {
  setVolumeCopies(previous.dir, previous.maxBytes);
  fs.rmSync(dir, { recursive: true, force: true });
});

const values = Array.from({ length: 5 * 4 * 3 }, (_, index) => index * 7 - 100);
const fixture = { datatype: 4, dims: [5, 4, 3], values, pixdim: [1, 1, 2] as [number, number, number] };

describe('NIfTI files read by offsets', () => {
  for (const gzip of [false, true]) {
    it(`reads every slice and plane of a ${gzip ? '.nii.gz' : '.nii'} as the in-memory read does`, async () => {
      const bytes = makeNifti({ ...fixture, gzip });
      const file = path.join(dir, gzip ? 'ramp.nii.gz' : 'ramp.nii');
      fs.writeFileSync(file, bytes);
      const memory = readNifti(bytes);
      const opened = await openNiftiFile(file);
      try {
        for (let k = 0; k < 3; k++) expect(readNiftiSlice(opened, k)).toEqual(readNiftiSlice(memory, k));
        const fromFile = niftiGrid(opened);
        const inMemory = niftiGrid(memory);
        for (const axis of [0, 1, 2] as const) {
          for (let index = 0; index < opened.size[axis]; index++)
            expect(readPlane(fromFile, axis, index)).toEqual(readPlane({ ...inMemory, plane: undefined }, axis, index));
        }
      } finally {
        opened.voxels.close();
      }
      // A .nii.gz leaves one uncompressed copy and its stamp, no partial file.
      const copies = fs.existsSync(path.join(dir, 'inflated')) ? fs.readdirSync(path.join(dir, 'inflated')) : [];
      expect(copies.filter((name) => name.endsWith('.partial'))).toEqual([]);
      if (gzip) expect(copies.map((name) => path.extname(name)).sort()).toEqual(['.json', '.nii']);
    });
  }

  it('reads a volume let go by the one kept for planes from its own file, not another one opened since', async () => {
    const files = [0, 1].map((n) => {
      const file = path.join(dir, `kept${n}.nii${n ? '.gz' : ''}`);
      fs.writeFileSync(file, makeNifti({ ...fixture, values: values.map((v) => v + 1000 * n), gzip: n === 1 }));
      return file;
    });
    const first = await openVolumeFile(files[0]!);
    const expected = readPlane(first, 0, 2);
    const second = await openVolumeFile(files[1]!); // lets the first go (its file closed on a later turn)
    await new Promise((resolve) => setImmediate(resolve));
    expect(readPlane(first, 0, 2)).toEqual(expected);
    expect(readPlane(second, 0, 2).values[0]).toBe(expected.values[0]! + 1000);
    first.close?.();
  });

  it('refuses a .nii.gz header declaring 10^12 voxels before inflating, keeping nothing', async () => {
    const file = path.join(dir, 'huge.nii.gz');
    fs.writeFileSync(file, makeNifti({ datatype: 2, dims: [10_000, 10_000, 10_000], values: [], gzip: true }));
    const before = fs.existsSync(path.join(dir, 'inflated')) ? fs.readdirSync(path.join(dir, 'inflated')) : [];
    await expect(openNiftiFile(file)).rejects.toThrow(/NIfTI file too large: its header declares 1000000000352 bytes/);
    const after = fs.existsSync(path.join(dir, 'inflated')) ? fs.readdirSync(path.join(dir, 'inflated')) : [];
    expect(after).toEqual(before);
  });

  it('refuses a .nii claiming 10^12 voxels as truncated', async () => {
    const file = path.join(dir, 'huge.nii');
    fs.writeFileSync(file, makeNifti({ datatype: 2, dims: [10_000, 10_000, 10_000], values: [] }));
    await expect(openNiftiFile(file)).rejects.toThrow(/truncated NIfTI file: 10000×10000×10000×1 voxels/);
  });
});
