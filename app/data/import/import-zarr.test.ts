import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readEntry } from '../batches';
import { writeOmeZarr, type OmeZarrFixture } from '../formats/ome-zarr.fixtures';
import { temporaryFolder, temporaryWorkspace } from '../images.fixtures';
import { importFolders } from './import';
import { findImageFiles } from './walk';

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

const czyx = (index: number[]): number => index[0]! * 1000 + index[1]! * 100 + index[2]! * 10 + index[3]!;

function zarr(relative: string, fixture: Partial<OmeZarrFixture> = {}): string {
  const dir = path.join(data.dir, relative);
  writeOmeZarr(dir, {
    version: 2,
    axes: ['c', 'z', 'y', 'x'],
    shape: [2, 3, 5, 6],
    chunks: [1, 1, 4, 4],
    dtype: 'uint16',
    compressor: 'zlib',
    value: czyx,
    channelLabels: ['DAPI', 'GFP'],
    ...fixture,
  });
  return dir;
}

async function importAll(folders = [data.dir]) {
  return importFolders({
    importId: 'i',
    projectId: space.projectId,
    folders,
    images: space.workspace.images,
    projectDir: space.workspace.projectDir(space.projectId),
  });
}

function rowsOf(file: string) {
  return space.workspace.images.samplesOf(space.projectId, file).map((sample) => space.workspace.images.get(sample.id));
}

describe('importing OME-Zarr folders', () => {
  it('imports each OME-Zarr folder as one image of (z, t) planes, labelled by its parent folder', async () => {
    const v2 = zarr('nuclei/a.ome.zarr');
    const v3 = zarr('nuclei/b.zarr', { version: 3, compressor: 'gzip', value: (index) => czyx(index) + 1 });
    fs.writeFileSync(path.join(data.dir, 'nuclei', 'notes.txt'), 'not an image');
    const found = await findImageFiles([data.dir]);
    expect(found.map((candidate) => [path.relative(data.dir, candidate.path), candidate.label])).toEqual([
      [path.join('nuclei', 'a.ome.zarr'), 'nuclei'],
      [path.join('nuclei', 'b.zarr'), 'nuclei'],
    ]);
    const result = await importAll();
    expect(result.errors).toEqual([]);
    expect(result).toMatchObject({ imported: 2, samples: 6 });
    const rows = rowsOf(v3);
    expect(rows.map((row) => row.sample)).toEqual([
      'z 1/3 · t 1/1 · c 1–2',
      'z 2/3 · t 1/1 · c 1–2',
      'z 3/3 · t 1/1 · c 1–2',
    ]);
    expect(rows[2]).toMatchObject({
      format: 'ome-zarr',
      width: 6,
      height: 5,
      channels: 2,
      bitDepth: 16,
      label: 'nuclei',
      hasThumbnail: true,
    });
    expect(rows[2]!.meta).toMatchObject({ channelNames: ['DAPI', 'GFP'], z: 2, t: 0 });
    // Statistics per channel of plane z 3: c·1000 + 2·100 + y·10 + x + 1 over 5 × 6 pixels.
    expect(rows[2]!.stats!.map((band) => [band.min, band.max])).toEqual([
      [201, 246],
      [1201, 1246],
    ]);
    // Training reads the plane back through the same reader.
    const raster = await readEntry({ path: v2, channels: 2, bitDepth: 16, frame: 1 });
    expect([raster.width, raster.height, raster.values[(4 * 6 + 5) * 2 + 1]]).toEqual([6, 5, czyx([1, 1, 4, 5])]);
  });

  it('skips an unchanged folder, finds a copied one a duplicate, and reimports a changed one', async () => {
    const original = zarr('a/cells.ome.zarr');
    await importAll();
    fs.cpSync(original, path.join(data.dir, 'b', 'copy.ome.zarr'), { recursive: true });
    const second = await importAll();
    expect(second).toMatchObject({ imported: 0, skipped: 1 });
    expect(second.duplicates).toEqual([{ path: path.join(data.dir, 'b', 'copy.ome.zarr'), duplicateOf: original }]);
    // One chunk rewritten with other values: the folder's size and time change.
    zarr('a/cells.ome.zarr', { value: (index) => czyx(index) + 7, compressor: null });
    const third = await importAll([path.join(data.dir, 'a')]);
    expect(third).toMatchObject({ imported: 1, skipped: 0 });
    expect(rowsOf(original)[0]!.stats![0]!.min).toBe(7);
  });

  it('imports the series of a bioformats2raw container, labelled by the folder holding it', async () => {
    const container = path.join(data.dir, 'tumour', 'slide.ome.zarr');
    fs.mkdirSync(container, { recursive: true });
    fs.writeFileSync(path.join(container, '.zgroup'), '{"zarr_format": 2}');
    fs.writeFileSync(path.join(container, '.zattrs'), '{"bioformats2raw.layout": 3}');
    fs.mkdirSync(path.join(container, 'OME'));
    fs.writeFileSync(path.join(container, 'OME', 'METADATA.ome.xml'), '<OME/>');
    zarr('tumour/slide.ome.zarr/0');
    zarr('tumour/slide.ome.zarr/1', {
      axes: ['y', 'x'],
      shape: [4, 4],
      chunks: [4, 4],
      value: ([y, x]) => y! + x!,
      channelLabels: undefined,
    });
    const found = await findImageFiles([data.dir]);
    expect(found.map((candidate) => [path.relative(data.dir, candidate.path), candidate.label])).toEqual([
      [path.join('tumour', 'slide.ome.zarr', '0'), 'tumour'],
      [path.join('tumour', 'slide.ome.zarr', '1'), 'tumour'],
    ]);
    expect(await importAll()).toMatchObject({ imported: 2, samples: 4, errors: [] });
  });

  it('imports a plane over 64 Mi pixels from a grid of windows, its thumbnail from a smaller level', async () => {
    const dir = zarr('slides/huge.ome.zarr', {
      axes: ['c', 'y', 'x'],
      shape: [1, 1000, 1000],
      chunks: [1, 500, 500],
      dtype: 'uint8',
      value: ([, y, x]) => 1 + ((y! + x!) % 200),
      channelLabels: ['H'],
    });
    // Level 0 grows to 9000 × 8000 (fill 0 past the chunks written); level 1 stays 500 × 500.
    const meta = path.join(dir, '0', '.zarray');
    fs.writeFileSync(meta, JSON.stringify({ ...JSON.parse(fs.readFileSync(meta, 'utf8')), shape: [1, 9000, 8000] }));
    const result = await importAll();
    expect(result.errors).toEqual([]);
    const [row] = rowsOf(dir);
    expect(row).toMatchObject({ format: 'ome-zarr', width: 8000, height: 9000, channels: 1, hasThumbnail: true });
    expect(row!.meta).toMatchObject({ huge: true, tile: [500, 500], channelNames: ['H'] });
    // 64 windows of up to 256², one of them (500, 500) inside the written corner: 0 and 1–200.
    expect(row!.stats![0]).toMatchObject({ min: 0, max: 200 });
    const window = await readEntry(
      { path: dir, channels: 1, bitDepth: 8, huge: true, width: 8000, height: 9000 },
      { x: 998, y: 990, width: 4, height: 4 },
    );
    expect(Array.from(window.values.subarray(0, 4))).toEqual([1 + ((990 + 998) % 200), 1 + ((990 + 999) % 200), 0, 0]);
  });

  it('imports an OME-Zarr folder chosen as the import folder itself', async () => {
    const dir = zarr('only.ome.zarr', {
      axes: ['y', 'x'],
      shape: [4, 4],
      chunks: [2, 2],
      dtype: 'uint8',
      value: ([y, x]) => y! * 4 + x!,
      channelLabels: undefined,
    });
    const result = await importAll([dir]);
    expect(result).toMatchObject({ imported: 1, samples: 1 });
    expect(rowsOf(dir)[0]).toMatchObject({
      format: 'ome-zarr',
      width: 4,
      height: 4,
      channels: 1,
      bitDepth: 8,
      label: null,
      sample: null,
    });
  });

  it('names hostile folders: broken attributes, a missing array, a Zarr folder without an image', async () => {
    const broken = zarr('bad/axes.ome.zarr');
    const attributes = path.join(broken, '.zattrs');
    fs.writeFileSync(
      attributes,
      fs.readFileSync(attributes, 'utf8').replace('"name": "x"', '"name": "c"').replace('"name": "y"', '"name": "z"'),
    );
    const missing = zarr('bad/missing.ome.zarr');
    fs.rmSync(path.join(missing, '0'), { recursive: true });
    const plain = path.join(data.dir, 'bad', 'table.zarr');
    fs.mkdirSync(plain, { recursive: true });
    fs.writeFileSync(path.join(plain, '.zarray'), '{"zarr_format": 2}');
    const result = await importAll();
    expect(result.imported).toBe(0);
    expect(Object.fromEntries(result.errors.map((error) => [path.basename(error.path), error.reason]))).toEqual({
      'axes.ome.zarr': 'OME-Zarr .zattrs: axes c, z, z, c name an axis twice',
      'missing.ome.zarr': "OME-Zarr full-resolution level '0' has no 0/.zarray: the array is missing",
      'table.zarr':
        "Zarr folder without an OME-Zarr image: no 'multiscales' in its .zattrs or zarr.json, nor in a sub-folder's",
    });
  });
});
