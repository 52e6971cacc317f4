/**
 * Planes of a DICOM series: four axial slice files (one shuffled, 0.5 mm apart at 0.5 mm pixels)
 * imported and assembled, then cut coronally and sagittally, and read with neighbours: the planes
 * equal the expected cuts of the stacked slices, and a series' sample key names its kept slices.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEntry, sampleKey } from '../batches';
import { writeDicom } from '../formats/formats.fixtures';
import { temporaryFolder, temporaryWorkspace } from '../images.fixtures';
import { volumeEntries } from './volume-entries';

const AXIAL = [1, 0, 0, 0, 1, 0];
/** Pixel value at column c, row r of the slice at z index k. */
const value = (c: number, r: number, k: number) => 100 * c + 10 * r + k;

let data: ReturnType<typeof temporaryFolder>;
let space: ReturnType<typeof temporaryWorkspace>;

beforeAll(async () => {
  data = temporaryFolder();
  space = temporaryWorkspace();
  for (const k of [2, 0, 3, 1]) {
    const values = Array.from({ length: 3 * 4 }, (_, index) => value(index % 4, Math.floor(index / 4), k));
    fs.writeFileSync(
      path.join(data.dir, `slice${k}.dcm`),
      writeDicom({
        rows: 3,
        columns: 4,
        bitsAllocated: 16,
        values,
        series: '1.2.840.99.7',
        patientId: 'P7',
        instance: 10 - k,
        position: [0, 0, k * 0.5],
        orientation: AXIAL,
      }),
    );
  }
  const result = await space.importFolder(data.dir);
  expect(result.errors).toEqual([]);
});
afterAll(() => {
  space.remove();
  data.remove();
});

function rows() {
  return space.workspace.images.usable(space.projectId, 'path').map((row) => ({
    meta: row.meta,
    entry: {
      path: row.path,
      frame: row.frame,
      width: row.width,
      height: row.height,
      channels: row.channels,
      bitDepth: row.bitDepth,
    },
  }));
}

/** A raster's value at (column, row). */
function at(raster: { width: number; values: ArrayLike<number> }, column: number, row: number): number {
  return raster.values[row * raster.width + column]!;
}

describe('planes of a DICOM series', () => {
  it('cuts coronal planes across the rows (columns i, rows from the top slice down)', async () => {
    const entries = volumeEntries(rows(), { axis: 'coronal', neighbours: 0 });
    expect(entries.map((entry) => [entry.plane!.axis, entry.plane!.index, entry.width, entry.height])).toEqual([
      [1, 0, 4, 4],
      [1, 1, 4, 4],
      [1, 2, 4, 4],
    ]);
    expect(entries[0]!.plane!.series!.slices.map((slice) => path.basename(slice.path))).toEqual([
      'slice0.dcm',
      'slice1.dcm',
      'slice2.dcm',
      'slice3.dcm',
    ]);
    // Grid j runs up: plane 0 is the image's bottom row (row 2).
    const plane = await readEntry(entries[0]!);
    for (let row = 0; row < 4; row++)
      for (let column = 0; column < 4; column++) expect(at(plane, column, row)).toBe(value(column, 2, 3 - row));
    // Leaving a slice out changes the series' planes, so their cache key changes too.
    const fewer = volumeEntries(
      rows().filter((row) => !row.entry.path.endsWith('slice2.dcm')),
      { axis: 'coronal', neighbours: 0 },
    );
    expect(sampleKey(fewer[0]!)).toMatch(/^j0t0n0s[0-9a-f]{8}$/);
    expect(sampleKey(fewer[0]!)).not.toBe(sampleKey(entries[0]!));
    expect(fewer[0]!.height).toBe(3);
  });

  it('cuts sagittal planes across the columns, and stacks axial neighbours clamped at the ends', async () => {
    const sagittal = volumeEntries(rows(), { axis: 'sagittal', neighbours: 0 });
    expect(sagittal).toHaveLength(4);
    const plane = await readEntry(sagittal[1]!);
    expect([plane.width, plane.height]).toEqual([3, 4]);
    for (let row = 0; row < 4; row++)
      for (let column = 0; column < 3; column++) expect(at(plane, column, row)).toBe(value(1, 2 - column, 3 - row));
    const axial = volumeEntries(rows(), { axis: 'axial', neighbours: 1 });
    const last = axial.find((entry) => entry.plane!.index === 3)!;
    expect(path.basename(last.path)).toBe('slice3.dcm');
    const stacked = await readEntry(last);
    expect(stacked.bands).toBe(3);
    expect([0, 1, 2].map((band) => stacked.values[(1 * 4 + 2) * 3 + band])).toEqual([
      value(2, 1, 2),
      value(2, 1, 3),
      value(2, 1, 3),
    ]);
  });
});
