/**
 * Prepared planes of a DICOM series are stale as soon as any slice file they read changes, not
 * only the series' first file: a middle slice rewritten makes every sagittal plane (each reads
 * every slice) and the axial planes whose 2.5-D neighbours include it be read again, and only those.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageEntry } from '../batches';
import { writeDicom } from '../formats/formats.fixtures';
import { temporaryFolder, temporaryWorkspace } from '../images.fixtures';
import { importFolders } from '../import/import';
import { volumeEntries } from '../volumes/volume-entries';
import { prepareTrainingCache } from './prepare';
import { readShards } from './shards';

let data: ReturnType<typeof temporaryFolder>;
let space: ReturnType<typeof temporaryWorkspace>;

/** Five axial 8 × 6 slices, 1 mm apart at 1 mm pixels; slice k holds `base` + k + pixel index. */
function writeSlice(k: number, base: number): string {
  const file = path.join(data.dir, `slice${k}.dcm`);
  const values = Array.from({ length: 48 }, (_, index) => base + 10 * k + index);
  fs.writeFileSync(
    file,
    writeDicom({
      rows: 6,
      columns: 8,
      bitsAllocated: 16,
      values,
      series: '1.2.840.99.31',
      patientId: 'P31',
      instance: k + 1,
      position: [0, 0, k],
      orientation: [1, 0, 0, 0, 1, 0],
    }),
  );
  return file;
}

beforeAll(async () => {
  data = temporaryFolder();
  space = temporaryWorkspace();
  for (let k = 0; k < 5; k++) writeSlice(k, 100);
  const result = await importFolders({
    importId: 'i',
    projectId: space.projectId,
    folders: [data.dir],
    images: space.workspace.images,
    projectDir: space.workspace.projectDir(space.projectId),
  });
  expect(result.errors).toEqual([]);
});
afterAll(() => {
  space.remove();
  data.remove();
});

function entries(axis: 'sagittal' | 'axial'): ImageEntry[] {
  const rows = space.workspace.images.usable(space.projectId, 'path').map((row) => ({
    meta: row.meta,
    entry: { path: row.path, frame: row.frame, width: row.width, height: row.height, channels: 1, bitDepth: 16 },
  }));
  return volumeEntries(rows, { axis, neighbours: 1 });
}

function prepare(list: ImageEntry[]) {
  // The plane and its two neighbours as three channels, values as read.
  const transform = { bands: [0, 1, 2], clip: [null, null, null], center: [0, 0, 0], spread: [1, 1, 1] };
  return prepareTrainingCache({
    projectDir: space.workspace.projectDir(space.projectId),
    entries: list,
    side: 8,
    transform,
  });
}

describe('prepared planes of a series', () => {
  it('reads a plane again when any slice file it reads changes', async () => {
    const sagittal = entries('sagittal');
    const axial = entries('axial');
    expect(sagittal).toHaveLength(8);
    expect(axial.map((entry) => entry.plane!.index)).toEqual([0, 1, 2, 3, 4]);
    const all = [...sagittal, ...axial];
    expect((await prepare(all)).progress).toMatchObject({ total: 13, read: 13, changed: 0 });
    expect((await prepare(all)).progress).toMatchObject({ read: 0, changed: 0 });

    // The middle slice rewritten with other values (same size, a later mtime).
    const middle = writeSlice(2, 1000);
    const later = new Date(Date.now() + 5_000);
    fs.utimesSync(middle, later, later);
    const again = await prepare(all);
    // Every sagittal plane reads slice 2; of the axial planes with their neighbours, those at 1, 2, 3.
    expect(again.progress).toMatchObject({ read: 11, changed: 11 });
    const axialRecords = again.records.slice(8);
    const stored = readShards(again.folder); // newest record per plane
    expect(axialRecords.map((record) => record!.file === axialRecords[0]!.file)).toEqual([
      true,
      false,
      false,
      false,
      true,
    ]);
    expect(stored.size).toBe(13);

    // The re-read plane holds the new values: the axial plane at 2 has slice 2 as its middle band.
    const record = axialRecords[2]!;
    const shard = fs.readFileSync(record.file);
    expect(record.sampleType).toBe('uint16');
    const bytes = shard.subarray(record.offset, record.offset + record.byteLength);
    const values = new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    expect(Math.max(...values)).toBeGreaterThanOrEqual(1000);
  });
});
