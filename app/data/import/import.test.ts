import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ImportProgress } from '../../contract';
import { importFolders, isImageFileName, SUPPORTED_FORMATS } from './import';
import { temporaryFolder, temporaryWorkspace, writeFixture, type FixtureSpec } from '../images.fixtures';

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

function run(
  folders: string[],
  extra: { signal?: AbortSignal; onProgress?: (progress: ImportProgress) => void; concurrency?: number } = {},
) {
  return importFolders({
    importId: 'import-1',
    projectId: space.projectId,
    folders,
    images: space.workspace.images,
    projectDir: space.workspace.projectDir(space.projectId),
    ...extra,
  });
}

function rows() {
  return space.workspace.db
    .prepare('SELECT * FROM images WHERE project_id = ? ORDER BY path')
    .all(space.projectId) as Record<string, unknown>[];
}

describe('file names', () => {
  it('accepts supported extensions whatever their case', () => {
    expect(SUPPORTED_FORMATS).toEqual([
      'png',
      'jpeg',
      'webp',
      'tiff',
      'geotiff',
      'ome-tiff',
      'dicom',
      'nifti',
      'ome-zarr',
      'slide',
    ]);
    for (const name of [
      'a.png',
      'b.JPG',
      'c.jpeg',
      'd.WebP',
      'e.tif',
      'f.TIFF',
      'g.dcm',
      'h.DICOM',
      'i.nii',
      'j.NII.gz',
    ])
      expect(isImageFileName(name)).toBe(true);
    for (const name of ['a.gif', 'b.txt', 'png', 'c.png.bak', 'd.gz', 'e.tar.gz'])
      expect(isImageFileName(name)).toBe(false);
  });
});

describe('importFolders', () => {
  const layouts: (FixtureSpec & { name: string })[] = [
    { name: 'grey8.png', format: 'png', bitDepth: 8, channels: 1, width: 40, height: 30 },
    { name: 'greyalpha8.png', format: 'png', bitDepth: 8, channels: 2, width: 40, height: 30 },
    { name: 'rgb8.png', format: 'png', bitDepth: 8, channels: 3, width: 33, height: 21 },
    { name: 'rgba8.png', format: 'png', bitDepth: 8, channels: 4, width: 20, height: 50 },
    { name: 'grey16.png', format: 'png', bitDepth: 16, channels: 1, width: 64, height: 48 },
    { name: 'rgb16.png', format: 'png', bitDepth: 16, channels: 3, width: 31, height: 17 },
    { name: 'rgba16.png', format: 'png', bitDepth: 16, channels: 4, width: 16, height: 16 },
    { name: 'grey8.jpg', format: 'jpeg', bitDepth: 8, channels: 1, width: 48, height: 32 },
    { name: 'rgb8.jpeg', format: 'jpeg', bitDepth: 8, channels: 3, width: 48, height: 32 },
    { name: 'rgb8.webp', format: 'webp', bitDepth: 8, channels: 3, width: 36, height: 24 },
    { name: 'rgba8.webp', format: 'webp', bitDepth: 8, channels: 4, width: 36, height: 24 },
    { name: 'grey8.tif', format: 'tiff', bitDepth: 8, channels: 1, width: 30, height: 30 },
    { name: 'grey16.tiff', format: 'tiff', bitDepth: 16, channels: 1, width: 30, height: 20 },
    { name: 'rgb16.tif', format: 'tiff', bitDepth: 16, channels: 3, width: 25, height: 15 },
    { name: 'bands16.tif', format: 'tiff', bitDepth: 16, channels: 4, width: 24, height: 24 },
  ];

  it('imports PNG, JPEG, WebP and TIFF at 8 and 16 bits with their size, channels, depth and format', async () => {
    for (const [index, layout] of layouts.entries())
      await writeFixture(path.join(data.dir, layout.name), { ...layout, seed: index });
    const result = await run([data.dir]);
    expect(result.errors).toEqual([]);
    expect(result.imported).toBe(layouts.length);
    const byName = new Map(rows().map((row) => [path.basename(row.path as string), row]));
    for (const layout of layouts) {
      const row = byName.get(layout.name)!;
      expect({
        name: layout.name,
        width: row.width,
        height: row.height,
        channels: row.channels,
        bitDepth: row.bit_depth,
        format: row.format,
      }).toEqual({
        name: layout.name,
        width: layout.width,
        height: layout.height,
        channels: layout.channels,
        bitDepth: layout.bitDepth,
        format: layout.format,
      });
      expect(row.error).toBeNull();
      expect(JSON.parse(row.stats as string)).toHaveLength(layout.channels);
    }
  });

  it('stores exact statistics of a hand-made image in its own units', async () => {
    // 2×2 16-bit grey: 0, 1000, 2000, 65535.
    const file = path.join(data.dir, 'known.png');
    await sharp(Uint16Array.from([0, 1000, 2000, 65535]), { raw: { width: 2, height: 2, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toFile(file);
    await run([data.dir]);
    const [stats] = JSON.parse(rows()[0]!.stats as string);
    const mean = (0 + 1000 + 2000 + 65535) / 4;
    const std = Math.sqrt([0, 1000, 2000, 65535].reduce((sum, value) => sum + (value - mean) ** 2, 0) / 4);
    expect(stats.mean).toBeCloseTo(mean, 6);
    expect(stats.std).toBeCloseTo(std, 6);
    expect(stats.min).toBe(0);
    expect(stats.max).toBe(65535);
  });

  it('labels each image with its parent folder, and root files with none', async () => {
    const spec = { format: 'png', bitDepth: 8, channels: 3, width: 8, height: 8 } as const;
    await writeFixture(path.join(data.dir, 'cats', 'a.png'), { ...spec, seed: 1 });
    await writeFixture(path.join(data.dir, 'dogs', 'puppies', 'b.png'), { ...spec, seed: 2 });
    await writeFixture(path.join(data.dir, 'c.png'), { ...spec, seed: 3 });
    await run([data.dir]);
    expect(rows().map((row) => [path.relative(data.dir, row.path as string), row.label])).toEqual([
      ['c.png', null],
      [path.join('cats', 'a.png'), 'cats'],
      [path.join('dogs', 'puppies', 'b.png'), 'puppies'],
    ]);
  });

  it('imports duplicate content once and reports the copy', async () => {
    const spec = { format: 'png', bitDepth: 8, channels: 3, width: 16, height: 16 } as const;
    const first = await writeFixture(path.join(data.dir, 'a', 'first.png'), spec);
    fs.mkdirSync(path.join(data.dir, 'b'));
    const copy = path.join(data.dir, 'b', 'copy.png');
    fs.copyFileSync(first, copy);
    const result = await run([data.dir]);
    expect(result).toMatchObject({ filesSeen: 2, imported: 1, skipped: 0, skippedFiles: [] });
    expect(result.duplicates).toEqual([{ path: copy, duplicateOf: first }]);
    const [firstRow, copyRow] = rows();
    expect(copyRow!.duplicate_of).toBe(firstRow!.id);
    expect(copyRow!.error).toBeNull();
    expect(
      space.workspace.images.list({ projectId: space.projectId, offset: 0, limit: 10, sort: 'path', status: 'all' })
        .total,
    ).toBe(1);
  });

  it('records a corrupt PNG and an empty file with their reasons while the rest imports', async () => {
    const good = await writeFixture(path.join(data.dir, 'good.png'), {
      format: 'png',
      bitDepth: 8,
      channels: 3,
      width: 32,
      height: 32,
    });
    const bytes = fs.readFileSync(good);
    const corrupt = path.join(data.dir, 'corrupt.png');
    fs.writeFileSync(corrupt, Buffer.concat([bytes.subarray(0, 33), Buffer.alloc(400, 0x5a)]));
    const truncated = path.join(data.dir, 'truncated.png');
    fs.writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const empty = path.join(data.dir, 'empty.jpg');
    fs.writeFileSync(empty, '');
    const result = await run([data.dir]);
    expect(result.imported).toBe(1);
    const reasons = Object.fromEntries(result.errors.map((error) => [path.basename(error.path), error.reason]));
    expect(reasons['empty.jpg']).toBe('empty file (0 bytes)');
    expect(reasons['corrupt.png']).toMatch(/^not a valid PNG: /);
    expect(reasons['truncated.png']).toMatch(/^truncated or corrupt image data/);
    const stored = Object.fromEntries(rows().map((row) => [path.basename(row.path as string), row.error]));
    expect(stored).toEqual({
      'good.png': null,
      'corrupt.png': reasons['corrupt.png'],
      'truncated.png': reasons['truncated.png'],
      'empty.jpg': 'empty file (0 bytes)',
    });
  });

  it('adds nothing when the same folder is imported again', async () => {
    const spec = { format: 'png', bitDepth: 8, channels: 3, width: 8, height: 8 } as const;
    for (let seed = 0; seed < 5; seed++) await writeFixture(path.join(data.dir, `${seed}.png`), { ...spec, seed });
    fs.writeFileSync(path.join(data.dir, 'broken.png'), 'not an image');
    const first = await run([data.dir]);
    expect(first.imported).toBe(5);
    const before = rows();
    const again = await run([data.dir]);
    expect(again).toMatchObject({ imported: 0, skipped: 6, errors: [], duplicates: [], cancelled: false });
    expect(again.filesSeen).toBe(again.imported + again.skipped + again.duplicates.length + again.errors.length);
    const why = Object.fromEntries(again.skippedFiles.map((skip) => [path.basename(skip.path), skip.reason]));
    expect(why['0.png']).toMatch(/^unchanged since it was last imported/);
    expect(why['broken.png']).toMatch(/^unchanged since it was last imported .*; it failed then: not a valid PNG/);
    expect(rows()).toEqual(before);
  });

  it('writes a decodable JPEG thumbnail of at most 256 px under thumbs/', async () => {
    await writeFixture(path.join(data.dir, 'wide.png'), {
      format: 'png',
      bitDepth: 8,
      channels: 3,
      width: 600,
      height: 300,
    });
    await run([data.dir]);
    const row = rows()[0]!;
    expect(row.thumbnail).toBe(`thumbs/${(row.sha256 as string).slice(0, 2)}/${row.sha256}.jpg`);
    const metadata = await sharp(
      path.join(space.workspace.projectDir(space.projectId), row.thumbnail as string),
    ).metadata();
    expect([metadata.format, metadata.width, metadata.height]).toEqual(['jpeg', 256, 128]);
  });

  it('keeps what was stored when cancelled', async () => {
    // Big enough, one file at a time, that the import outlasts the 100 ms progress throttle even
    // on a fast machine, so it can be stopped midway.
    const spec = { format: 'png', bitDepth: 8, channels: 3, width: 512, height: 512 } as const;
    const total = 60;
    for (let seed = 0; seed < total; seed++)
      await writeFixture(path.join(data.dir, `${String(seed).padStart(2, '0')}.png`), { ...spec, seed });
    const controller = new AbortController();
    const result = await run([data.dir], {
      signal: controller.signal,
      concurrency: 1,
      onProgress: (progress) => {
        if (progress.phase === 'importing' && progress.processed > 0) controller.abort();
      },
    });
    expect(result.cancelled).toBe(true);
    expect(result.imported).toBeGreaterThan(0);
    expect(result.imported).toBeLessThan(total);
    expect(rows()).toHaveLength(result.imported);
    const resumed = await run([data.dir]);
    expect(resumed.imported + result.imported).toBe(total);
    expect(resumed.skipped).toBe(result.imported);
  });

  it('throws a clear error for a missing folder before importing anything', async () => {
    await writeFixture(path.join(data.dir, 'a.png'), { format: 'png', bitDepth: 8, channels: 3, width: 8, height: 8 });
    const missing = path.join(data.dir, 'nope');
    await expect(run([data.dir, missing])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: `${missing} does not exist`,
    });
    await expect(run([path.join(data.dir, 'a.png')])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/is not a folder$/),
    });
    expect(rows()).toEqual([]);
  });

  it('reports walking, then importing with counts, then done', async () => {
    const spec = { format: 'png', bitDepth: 8, channels: 3, width: 8, height: 8 } as const;
    for (let seed = 0; seed < 3; seed++) await writeFixture(path.join(data.dir, `${seed}.png`), { ...spec, seed });
    const events: ImportProgress[] = [];
    await run([data.dir], { onProgress: (progress) => events.push(progress) });
    expect(events[0]!.phase).toBe('walking');
    expect(events.some((event) => event.phase === 'importing' && event.found === 3)).toBe(true);
    expect(events.at(-1)).toMatchObject({
      phase: 'done',
      found: 3,
      processed: 3,
      imported: 3,
      skipped: 0,
      failed: 0,
      importId: 'import-1',
    });
  });
});
