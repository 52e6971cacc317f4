import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Rng } from '../../mae/rng';
import { fileBatchSource, readEntry } from '../batches';
import { omeXml, writeDicom, writeTiff, type StoredType, type TiffPageSpec } from '../formats/formats.fixtures';
import { importFolders } from './import';
import { makeNifti } from '../formats/nifti.fixtures';
import { temporaryFolder, temporaryWorkspace } from '../images.fixtures';

let data: ReturnType<typeof temporaryFolder>;
let space: ReturnType<typeof temporaryWorkspace>;

beforeEach(() => {
  data = temporaryFolder();
  space = temporaryWorkspace();
});
afterEach(() => {
  space.remove();
  data.remove();
});

function write(relative: string, bytes: Uint8Array): string {
  const file = path.join(data.dir, relative);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  return file;
}

async function importAll() {
  return importFolders({
    importId: 'i',
    projectId: space.projectId,
    folders: [data.dir],
    images: space.workspace.images,
    projectDir: space.workspace.projectDir(space.projectId),
  });
}

function rowsOf(file: string) {
  return space.workspace.images.samplesOf(space.projectId, file).map((sample) => space.workspace.images.get(sample.id));
}

/** A 50,000 × 50,000 uint16 image in 256² tiles that all point at one block: a ~370 KB file. */
function hugeTiff(): Uint8Array {
  const tile = Array.from({ length: 256 * 256 }, (_, index) => (index % 256) * 100 + Math.floor(index / 256));
  return writeTiff([
    { width: 50_000, height: 50_000, bands: 1, sampleType: 'uint16', values: tile, tile: [256, 256], sharedTile: true },
  ]);
}

describe('importing domain formats', () => {
  it('imports a 4-D .nii.gz as volumes of slices: one tile per volume, every slice read for training', async () => {
    // 3×2 slices, 5 per volume, 2 volumes; int16 scaled by 0.5 − 100.
    const values = Array.from({ length: 3 * 2 * 5 * 2 }, (_, index) => index);
    const file = write(
      'mri/brain.nii.gz',
      makeNifti({
        datatype: 4,
        dims: [3, 2, 5, 2],
        values,
        slope: 0.5,
        intercept: -100,
        pixdim: [1, 1, 3],
        gzip: true,
      }),
    );
    const result = await importAll();
    expect(result.errors).toEqual([]);
    expect(result).toMatchObject({ imported: 1, samples: 10 });
    const page = space.workspace.images.list({
      projectId: space.projectId,
      offset: 0,
      limit: 50,
      sort: 'path',
      status: 'all',
    });
    expect(page.images.map((image) => [image.sample, image.slices, image.frame])).toEqual([
      ['volume 1 of 2 · 5 slices', 5, 2],
      ['volume 2 of 2 · 5 slices', 5, 7],
    ]);
    const rows = rowsOf(file);
    expect(rows[7]!.meta!.volume).toMatchObject({ slice: 2, slices: 5, volume: 1, spacing: [1, 1, 3] });
    expect(new Set(rows.map((row) => row.meta!.volume!.group)).size).toBe(1);
    expect(rows[7]!.stats![0]).toMatchObject({ min: 42 * 0.5 - 100, max: 47 * 0.5 - 100 });
    const slice = await readEntry({ path: file, channels: 1, bitDepth: 32, frame: 7 });
    expect([...slice.values]).toEqual([45, 46, 47, 42, 43, 44].map((value) => value * 0.5 - 100));
  });

  it('imports a multi-frame CT DICOM as a row per frame in Hounsfield units, thumbnails via VOI window', async () => {
    const file = write(
      'ct/scan.dcm',
      writeDicom({
        rows: 4,
        columns: 4,
        frames: 2,
        bitsAllocated: 16,
        bitsStored: 12,
        values: Array.from({ length: 32 }, (_, i) => i * 100),
        intercept: -1024,
        windows: [{ center: 40, width: 400 }],
      }),
    );
    const result = await importAll();
    expect(result.errors).toEqual([]);
    expect(result).toMatchObject({ filesSeen: 1, imported: 1, samples: 2 });
    const rows = rowsOf(file);
    expect(rows.map((row) => row.frame)).toEqual([0, 1]);
    expect(rows[1]!).toMatchObject({
      format: 'dicom',
      width: 4,
      height: 4,
      channels: 1,
      bitDepth: 16,
      label: 'ct',
      hasThumbnail: true,
    });
    expect(rows[1]!.stats![0]!.min).toBe(1600 - 1024);
    expect(rows[1]!.meta).toMatchObject({
      sampleType: 'int16',
      windows: [{ center: 40, width: 400 }],
      modality: 'CT',
      frames: 2,
    });
    expect(JSON.stringify(rows)).not.toMatch(/Doe|4711/);
    const frame = await readEntry({ path: file, channels: 1, bitDepth: 16, frame: 1 });
    expect(frame.values[0]).toBe(1600 - 1024);
  });

  it('imports a 4-band float32 GeoTIFF with nodata left out of its statistics', async () => {
    const values = Array.from({ length: 8 * 8 * 4 }, (_, i) => (i % 7 === 0 ? -9999 : i / 4));
    const file = write(
      'scene.tif',
      writeTiff([
        {
          width: 8,
          height: 8,
          bands: 4,
          sampleType: 'float32',
          values,
          nodata: -9999,
          bandNames: ['blue', 'green', 'red', 'nir'],
        },
      ]),
    );
    await importAll();
    const [row] = rowsOf(file);
    expect(row).toMatchObject({ format: 'geotiff', channels: 4, bitDepth: 32, error: null });
    expect(row!.meta).toMatchObject({
      sampleType: 'float32',
      nodata: -9999,
      channelNames: ['blue', 'green', 'red', 'nir'],
    });
    expect(row!.stats!.every((band) => band.min >= 0)).toBe(true);
  });

  it('imports an OME-TIFF with two z planes as two samples with channel names', async () => {
    const pages: TiffPageSpec[] = Array.from({ length: 4 }, (_, page) => ({
      width: 8,
      height: 8,
      bands: 1,
      sampleType: 'uint16',
      values: Array(64).fill(1000 * page + 1),
    }));
    pages[0]!.description = omeXml({ c: 2, z: 2, t: 1 }, ['DAPI', 'GFP'], 'XYCZT', 8, 8);
    const file = write('cells/stack.ome.tif', writeTiff(pages));
    await importAll();
    const rows = rowsOf(file);
    expect(rows.map((row) => [row.frame, row.channels, row.meta?.z, row.stats![1]!.mean])).toEqual([
      [0, 2, 0, 1001],
      [1, 2, 1, 3001],
    ]);
    expect(rows[0]!.meta!.channelNames).toEqual(['DAPI', 'GFP']);
  });

  it('imports a 50,000² tiled TIFF from its header and sampled tiles; trains on crops read from tiles', async () => {
    const file = write('slide.tif', hugeTiff());
    const started = performance.now();
    await importAll();
    const seconds = (performance.now() - started) / 1000;
    const [row] = rowsOf(file);
    expect(row).toMatchObject({
      width: 50_000,
      height: 50_000,
      channels: 1,
      bitDepth: 16,
      error: null,
      hasThumbnail: true,
    });
    expect(row!.meta).toMatchObject({ huge: true, tile: [256, 256] });
    expect(row!.stats![0]!.max).toBe(255 * 100 + 255);
    // The acceptance bar is 1 s; CI shares two cores between jobs, so the test allows slack.
    expect(seconds).toBeLessThan(5);
    const source = fileBatchSource({
      images: [{ path: file, channels: 1, bitDepth: 16, width: 50_000, height: 50_000, huge: true }],
      imgSize: 16,
      transform: { bands: [0], clip: [null], center: [0], spread: [65535] },
    });
    const batch = await source.next(Rng.fromSeed(3), 2);
    expect([batch.batchSize, batch.channels, batch.height]).toEqual([2, 1, 16]);
    expect(Math.max(...batch.images)).toBeGreaterThan(0);
    const window = await readEntry(
      { path: file, channels: 1, bitDepth: 16, huge: true },
      { x: 49_990, y: 256 * 7 + 1, width: 2, height: 1 },
    );
    // Column 49,990 is column 49,990 mod 256 = 70 of its tile; row 1 of the tile.
    expect(Array.from(window.values)).toEqual([((1 * 256 + 70) % 256) * 100 + 1, ((1 * 256 + 71) % 256) * 100 + 1]);
  });

  it('imports TIFFs of every sample type a lab writes, int32/uint32/float16/float64 converted, noted', async () => {
    const signed = [-120, -1, 0, 1, 100, 120];
    const unsigned = [0, 1, 2, 100, 200, 250];
    const cases: [string, TiffPageSpec['sampleType'], StoredType | undefined, number[], string, RegExp | undefined][] =
      [
        ['uint8', 'uint8', undefined, unsigned, 'uint8', undefined],
        ['int8', 'int16', 'int8', signed, 'int16', /8-bit signed integer values kept as int16/],
        ['uint16', 'uint16', undefined, unsigned.map((v) => v * 250), 'uint16', undefined],
        ['int16', 'int16', undefined, signed.map((v) => v * 250), 'int16', undefined],
        [
          'uint32',
          'float32',
          'uint32',
          unsigned.map((v) => v * 60_000),
          'float32',
          /32-bit unsigned integer values converted to float32/,
        ],
        [
          'int32',
          'float32',
          'int32',
          signed.map((v) => v * 60_000),
          'float32',
          /32-bit signed integer values converted to float32/,
        ],
        [
          'float16',
          'float32',
          'float16',
          [-2.5, -1, 0, 0.5, 1.25, 100],
          'float32',
          /16-bit float values converted to float32/,
        ],
        ['float32', 'float32', undefined, [-2.5, -1, 0, 0.5, 1.25, 1e6], 'float32', undefined],
        [
          'float64',
          'float32',
          'float64',
          [-2.5, -1, 0, 0.5, 1.25, 1e6],
          'float32',
          /64-bit float values converted to float32/,
        ],
      ];
    for (const [name, sampleType, stored, values] of cases)
      write(`${name}.tif`, writeTiff([{ width: 3, height: 2, bands: 1, sampleType, stored, values }]));
    const result = await importAll();
    expect(result.errors).toEqual([]);
    expect(result).toMatchObject({ filesSeen: 9, imported: 9, samples: 9 });
    for (const [name, , , values, kept, note] of cases) {
      const [row] = rowsOf(path.join(data.dir, `${name}.tif`));
      // sharp keeps plain uint8/uint16 TIFFs and records no meta; geotiff.js records the type.
      if (row!.meta) expect(row!.meta.sampleType, name).toBe(kept);
      expect(row!.meta?.converted, name).toEqual(note ? expect.stringMatching(note) : undefined);
      expect([row!.stats![0]!.min, row!.stats![0]!.max], name).toEqual([Math.min(...values), Math.max(...values)]);
    }
  });

  it('names each sample in its file: TIFF pages, OME (z, t) planes with their channels, DICOM frames', async () => {
    const page = (value: number, overview = false): TiffPageSpec => ({
      width: overview ? 2 : 4,
      height: overview ? 2 : 4,
      bands: 1,
      sampleType: 'uint16',
      values: Array(16).fill(value),
      overview,
    });
    write('pages.tif', writeTiff([page(1), page(1, true), page(2), page(3)]));
    const planes: TiffPageSpec[] = Array.from({ length: 8 }, (_, index) => page(index));
    planes[0]!.description = omeXml({ c: 2, z: 2, t: 2 }, ['DAPI', 'GFP'], 'XYCZT', 4, 4);
    write('stack.ome.tif', writeTiff(planes));
    write('cine.dcm', writeDicom({ rows: 2, columns: 2, frames: 3, bitsAllocated: 8, values: Array(12).fill(7) }));
    write('single.dcm', writeDicom({ rows: 2, columns: 2, bitsAllocated: 8, values: [1, 2, 3, 4] }));
    await importAll();
    const listed = space.workspace.images.list({
      projectId: space.projectId,
      offset: 0,
      limit: 50,
      sort: 'path',
      status: 'all',
    }).images;
    const names = listed.map((row) => `${path.basename(row.path)} ${row.sample ?? '-'}`);
    expect(names).toEqual([
      'cine.dcm frame 1 of 3',
      'cine.dcm frame 2 of 3',
      'cine.dcm frame 3 of 3',
      'pages.tif page 1 of 4',
      'pages.tif page 3 of 4',
      'pages.tif page 4 of 4',
      'single.dcm -',
      'stack.ome.tif z 1/2 · t 1/2 · c 1–2',
      'stack.ome.tif z 2/2 · t 1/2 · c 1–2',
      'stack.ome.tif z 1/2 · t 2/2 · c 1–2',
      'stack.ome.tif z 2/2 · t 2/2 · c 1–2',
    ]);
    expect(space.workspace.images.get(listed[4]!.id)).toMatchObject({ sample: 'page 3 of 4', meta: { page: 3 } });
  });

  it('decides by content: a PNG named .dcm is imported as PNG', async () => {
    const sharp = (await import('sharp')).default;
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#336699' } })
      .png()
      .toBuffer();
    const file = write('misnamed.dcm', png);
    await importAll();
    expect(rowsOf(file)[0]).toMatchObject({ format: 'png', error: null });
  });
});
