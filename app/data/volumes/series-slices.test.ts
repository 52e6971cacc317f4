/**
 * Series planes read from only the slices they need: a generated CT-like series of 9 axial slices
 * (0.5 mm pixels, 1.5 mm apart, one file per slice) imported and assembled, then cut along every
 * axis with 2.5-D neighbours. The planes equal those of the whole series held in memory, an axial
 * plane reads only its 2n + 1 slices, the cache stays within its bytes, a changed file is read
 * again, and a short MAE run has the same losses with the cache as without.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from '../../mae/mae.fixtures';
import { MaeTrainer } from '../../train/trainer';
import { trainTo } from '../../train/trainer.fixtures';
import { readEntry, type ChannelTransform } from '../batches';
import { trainingLoader } from '../cache/loader';
import { normalisationOf, storedSide } from '../cache/prepared';
import { writeDicom } from '../formats/formats.fixtures';
import type { Raster } from '../formats/raster';
import { temporaryFolder, temporaryWorkspace } from '../images.fixtures';
import { importFolders } from '../import/import';
import { readSeriesPlane, SliceCache, seriesSlices } from './series-slices';
import { volumeEntries, type VolumeRow } from './volume-entries';
import { readVolumePlane, sliceGrid, type SeriesSlice } from './volume-planes';

const SLICES = 9;
const COLUMNS = 12;
const ROWS = 10;
/** Stored value at column c, row r of slice k: a ramp with texture, in HU + 1024 (the files' intercept is −1024). */
const value = (c: number, r: number, k: number) => 1024 + 40 * c - 25 * r + 90 * k + ((c * 7 + r * 3 + k * 5) % 11);
const TRANSFORM: ChannelTransform = { bands: [0], clip: [null], center: [400], spread: [400] };

let data: ReturnType<typeof temporaryFolder>;
let space: ReturnType<typeof temporaryWorkspace>;

function writeSlice(k: number, shift = 0): void {
  const values = Array.from(
    { length: ROWS * COLUMNS },
    (_, index) => value(index % COLUMNS, Math.floor(index / COLUMNS), k) + shift,
  );
  fs.writeFileSync(
    path.join(data.dir, `slice${k}.dcm`),
    writeDicom({
      rows: ROWS,
      columns: COLUMNS,
      bitsAllocated: 16,
      bitsStored: 12, // 0 … 4095 − 1024 fits int16
      values,
      series: '1.2.840.99.9',
      patientId: 'P9',
      instance: k + 1,
      position: [0, 0, k * 1.5],
      orientation: [1, 0, 0, 0, 1, 0],
      intercept: -1024, // read in HU
    }),
  );
}

beforeAll(async () => {
  await useCpuBackend();
  data = temporaryFolder();
  space = temporaryWorkspace();
  for (let k = 0; k < SLICES; k++) writeSlice(k);
  const result = await space.importFolder(data.dir);
  expect(result.errors).toEqual([]);
});
afterAll(() => {
  seriesSlices.maxBytes = 256 * 2 ** 20;
  seriesSlices.clear();
  space.remove();
  data.remove();
});

function rows(): VolumeRow[] {
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

/** Reads a slice as training does, counting reads per file. */
function countingReader(counts: Map<string, number>) {
  return (slice: SeriesSlice): Promise<Raster> => {
    counts.set(path.basename(slice.path), (counts.get(path.basename(slice.path)) ?? 0) + 1);
    return readEntry({ path: slice.path, frame: slice.frame, channels: 1, bitDepth: 16 });
  };
}

describe('series planes read slice by slice', () => {
  it('equals the planes of the whole series in memory, along every axis with neighbours', async () => {
    const entries = volumeEntries(rows(), { axis: 'all', neighbours: 1 });
    // 9 axial, 10 coronal (j), 12 sagittal (i) planes.
    expect(entries).toHaveLength(SLICES + ROWS + COLUMNS);
    const slices = entries[0]!.plane!.series!.slices;
    const whole: Raster[] = [];
    for (const slice of slices) whole.push(await readEntry({ ...entries[0]!, ...slice, plane: undefined }));
    const grid = sliceGrid(whole, entries[0]!.plane!.series!.spacing);
    // An axial plane's middle band is its slice in HU: row 0 is the stored row 0.
    const axial = await readEntry(entries.find((entry) => entry.plane!.axis === 2 && entry.plane!.index === 4)!);
    expect(axial.sampleType).toBe('int16');
    expect([0, 1, 2].map((band) => axial.values[(2 * COLUMNS + 5) * 3 + band])).toEqual(
      [3, 4, 5].map((k) => value(5, 2, k) - 1024),
    );
    for (const entry of entries) {
      const expected = readVolumePlane(grid, entry.plane!);
      const plane = await readEntry(entry);
      expect([plane.width, plane.height, plane.bands]).toEqual([entry.width, entry.height, 3]);
      expect(plane).toEqual(expected);
    }
  });

  it('reads only the 2n + 1 slices of an axial plane, each once however many reads ask at once', async () => {
    const entry = volumeEntries(rows(), { axis: 'axial', neighbours: 2 }).find((item) => item.plane!.index === 4)!;
    const counts = new Map<string, number>();
    const cache = new SliceCache(2 ** 20);
    const planes = await Promise.all(
      Array.from({ length: 6 }, () => readSeriesPlane(entry.plane!, countingReader(counts), cache)),
    );
    expect(planes[5]).toEqual(planes[0]);
    expect([...counts].sort()).toEqual([2, 3, 4, 5, 6].map((k) => [`slice${k}.dcm`, 1]));
    expect(cache.bytes).toBe(5 * ROWS * COLUMNS * 2);
  });

  it('keeps within its bytes on sagittal planes, and reads a changed slice file again', async () => {
    const sagittal = volumeEntries(rows(), { axis: 'sagittal', neighbours: 0 });
    const counts = new Map<string, number>();
    const sliceBytes = ROWS * COLUMNS * 2;
    const small = new SliceCache(3 * sliceBytes);
    let most = 0;
    for (const entry of sagittal) {
      await readSeriesPlane(entry.plane!, countingReader(counts), small);
      most = Math.max(most, small.bytes);
    }
    expect(most).toBeLessThanOrEqual(3 * sliceBytes);
    // Too small for the series: every plane reads every slice again.
    expect(counts.get('slice4.dcm')).toBe(COLUMNS);

    counts.clear();
    const roomy = new SliceCache(SLICES * sliceBytes);
    const before = await readSeriesPlane(sagittal[3]!.plane!, countingReader(counts), roomy);
    await readSeriesPlane(sagittal[5]!.plane!, countingReader(counts), roomy);
    expect(counts.get('slice4.dcm')).toBe(1);
    writeSlice(4, 100);
    fs.utimesSync(path.join(data.dir, 'slice4.dcm'), new Date(), new Date(Date.now() + 5000));
    const after = await readSeriesPlane(sagittal[3]!.plane!, countingReader(counts), roomy);
    expect(counts.get('slice4.dcm')).toBe(2);
    // Slice 4 is row 8 − 4 of the plane at its voxel grid (the top slice first); rows of 1.5 mm
    // become 3 of 0.5 mm, and row 3 · 4 + 1 lies on its centre.
    const row = 3 * (SLICES - 1 - 4) + 1;
    const column = 2;
    expect(after.values[row * after.width + column]).toBe(before.values[row * before.width + column]! + 100);
    writeSlice(4);
  });

  it('cuts an enhanced multi-frame file as the whole volume in memory, its frames read from one opening', async () => {
    const folder = temporaryFolder();
    const other = temporaryWorkspace();
    try {
      const zs = [3, 0, 5, 1, 4, 2]; // frames stored out of position order, 2 mm apart
      const values = zs.flatMap((z) =>
        Array.from({ length: ROWS * COLUMNS }, (_, index) => value(index % COLUMNS, 0, z)),
      );
      fs.writeFileSync(
        path.join(folder.dir, 'enhanced.dcm'),
        writeDicom({
          rows: ROWS,
          columns: COLUMNS,
          frames: zs.length,
          bitsAllocated: 16,
          values,
          series: '1.2.840.99.10',
          functionalGroups: { orientation: [1, 0, 0, 0, 1, 0], positions: zs.map((z) => [0, 0, 2 * z]) },
        }),
      );
      const imported = await importFolders({
        importId: 'm',
        projectId: other.projectId,
        folders: [folder.dir],
        images: other.workspace.images,
        projectDir: other.workspace.projectDir(other.projectId),
      });
      expect(imported.volumes).toMatchObject([{ slices: 6, spacing: [0.5, 0.5, 2], problems: [] }]);
      const rowsOf = other.workspace.images.usable(other.projectId, 'path').map((row) => ({
        meta: row.meta,
        entry: { path: row.path, frame: row.frame, width: row.width, height: row.height, channels: 1, bitDepth: 16 },
      }));
      const entries = volumeEntries(rowsOf, { axis: 'all', neighbours: 1 });
      const { slices, spacing } = entries[0]!.plane!.series!;
      expect(slices.map((slice) => slice.frame)).toEqual([1, 3, 5, 0, 4, 2]);
      const whole: Raster[] = [];
      for (const slice of slices) whole.push(await readEntry({ ...entries[0]!, ...slice, plane: undefined }));
      const grid = sliceGrid(whole, spacing);
      seriesSlices.clear();
      for (const entry of entries) expect(await readEntry(entry)).toEqual(readVolumePlane(grid, entry.plane!));
    } finally {
      other.remove();
      folder.remove();
    }
  });

  it('trains to the same losses with the slice cache as without', async () => {
    const entries = volumeEntries(rows(), { axis: 'all', neighbours: 1 });
    const transform = { ...TRANSFORM, bands: [0, 1, 2], clip: [null, null, null], center: [400, 400, 400] };
    const losses = async (cacheBytes: number): Promise<number[]> => {
      seriesSlices.clear();
      seriesSlices.maxBytes = cacheBytes;
      const loader = trainingLoader({
        entries,
        imgSize: 8,
        side: storedSide(8),
        transform: { ...transform, spread: [400, 400, 400] },
        normalisation: normalisationOf({ ...transform, spread: [400, 400, 400] }, 16, [], []),
        memoryBytes: 0,
      });
      const trainer = MaeTrainer.create(
        {
          model: {
            imgSize: 8,
            patchSize: 4,
            inChans: 3,
            embedDim: 16,
            depth: 1,
            numHeads: 2,
            decoderEmbedDim: 16,
            decoderDepth: 1,
            decoderNumHeads: 2,
            mlpRatio: 2,
            normPixLoss: false,
          },
          batchSize: 4,
          totalSteps: 4,
          warmupSteps: 1,
          seed: 5,
        },
        loader,
      );
      const seen: number[] = [];
      await trainTo(trainer, 4, (metrics) => seen.push(metrics.loss));
      trainer.dispose();
      await loader.close();
      return seen;
    };
    const cached = await losses(2 ** 20);
    expect(seriesSlices.bytes).toBeGreaterThan(0);
    const uncached = await losses(0);
    expect(seriesSlices.bytes).toBe(0);
    expect(cached).toHaveLength(4);
    expect(cached.every(Number.isFinite)).toBe(true);
    expect(uncached).toEqual(cached);
  });
});
