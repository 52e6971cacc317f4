/**
 * The image grid's pages: ordered by the chosen sort, filtered, and counted — with the count
 * kept between pages of one filter yet always right after a write, here or in another process.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from './database';
import { CurationStore } from './curation';
import { GRID_TILE } from './image-sql';
import { ImageStore, type NewImage } from './images';
import { MIGRATIONS } from './migrations';
import { ProjectStore } from './projects';

let dir: string;
let db: Db;
let images: ImageStore;
let projectId: number;

function rows(count: number, first: number, failed = false): NewImage[] {
  return Array.from({ length: count }, (_, i) => ({
    projectId,
    path: `/data/${failed ? 'bad' : 'cells'}/img-${String(first + i).padStart(4, '0')}.png`,
    sha256: failed ? null : `h${first + i}`,
    sizeBytes: 100 + i,
    mtimeMs: 1,
    width: failed ? null : 64 + i,
    height: failed ? null : 64,
    channels: failed ? null : 1,
    bitDepth: failed ? null : 8,
    format: 'png',
    label: failed ? 'bad' : 'cells',
    error: failed ? 'PNG: truncated IDAT' : null,
    stats: null,
    thumbnail: null,
    duplicateOf: null,
  }));
}

const page = (offset: number, extra: Partial<Parameters<ImageStore['list']>[0]> = {}) =>
  images.list({ projectId, offset, limit: 10, sort: 'path', status: 'ok', ...extra });

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-images-'));
  db = openDatabase(dir);
  images = new ImageStore(db);
  projectId = new ProjectStore(db).create('p', 'general').id;
  images.insertMany([...rows(25, 0), ...rows(3, 100, true)]);
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('image pages', () => {
  it('page through a filter in order, each page with the same total', () => {
    const pages = [0, 10, 20].map((offset) => page(offset));
    expect(pages.map((p) => p.total)).toEqual([25, 25, 25]);
    expect(pages.flatMap((p) => p.images.map((image) => image.path))).toEqual(rows(25, 0).map((row) => row.path));
    expect(page(0, { sort: 'size' }).images[0]!.path).toBe('/data/cells/img-0024.png'); // largest first
    expect(page(0, { status: 'failed' }).total).toBe(3);
  });

  it('sorts "File size" by bytes on disk, not by pixels', () => {
    const [small, large] = rows(2, 500);
    images.insertMany([
      { ...small!, width: 4000, height: 3000, sizeBytes: 90_000 },
      { ...large!, width: 512, height: 512, sizeBytes: 800_000 },
    ]);
    const order = page(0, { sort: 'size' }).images.map((image) => image.path);
    expect(order.slice(0, 2)).toEqual([large!.path, small!.path]); // 800 kB of 512×512 before 90 kB of 4000×3000
  });

  it('count again after a write on this connection or another one', () => {
    expect(page(0).total).toBe(25);
    images.insertMany(rows(2, 50));
    expect(page(10).total).toBe(27);
    const other = openDatabase(dir);
    try {
      new ImageStore(other).insertMany(rows(4, 60));
    } finally {
      other.close();
    }
    expect(page(20).total).toBe(31);
    expect(page(0, { status: 'failed' }).total).toBe(3);
  });
});

describe('usable images: the one definition of "kept"', () => {
  const stats = [{ mean: 0.5, std: 0.2, min: 0, max: 1 }];
  /** Adds a good image with stats to the project's 25 (no stats) and 3 failed ones; returns its id. */
  const add = (file: string, extra: Partial<NewImage> = {}) =>
    images.insertMany([{ ...rows(1, 0)[0]!, path: `/data/${file}`, sha256: file, stats, ...extra }])[0]!;

  it('leaves out failed, duplicate, excluded and statistics-less images, the same ones curation leaves out', () => {
    const kept = add('z/kept.png', { meta: { channelNames: ['nir'] } });
    const first = add('a/first.png', { channels: 3, label: 'rock' });
    add('dup.png', { duplicateOf: kept });
    add('broken.png', { error: 'PNG: bad CRC', width: null, channels: null });
    const excluded = add('excluded.png');
    new CurationStore(db).setExcluded(projectId, { imageIds: [excluded] }, true);

    const byPath = images.usable(projectId, 'path');
    expect(byPath.map((image) => image.path)).toEqual(['/data/a/first.png', '/data/z/kept.png']);
    expect(images.usable(projectId, 'id').map((image) => image.id)).toEqual([kept, first]);
    expect(byPath[1]).toMatchObject({ id: kept, stats, meta: { channelNames: ['nir'] }, split: null, bitDepth: 8 });
    // Counting has no statistics condition: the 25 statistics-less images count, the left-out ones do not.
    expect(images.usableCounts(projectId)).toEqual([
      { channels: 1, label: 'cells', count: 26 },
      { channels: 3, label: 'rock', count: 1 },
    ]);
    expect(new CurationStore(db).keptImages(projectId)).toHaveLength(27);
    expect(new CurationStore(db).health(projectId).excluded).toBe(1);
    // The project's image count is of good images: excluded ones count, failed and duplicate ones do not.
    expect(new ProjectStore(db).get(projectId)).toMatchObject({ imageCount: 28, failedCount: 4 });
    expect(images.channelNames(projectId, 1)).toEqual(['nir']);
    expect(images.channelNames(projectId, 3)).toEqual([]);
  });

  it('reads images by id in the order asked, with a gap where one was removed', () => {
    const one = add('one.tif', { format: 'tiff', bitDepth: 16, meta: { huge: true, nodata: -1 } });
    const two = add('two.png');
    const sources = images.sources([two, 999_999, one]);
    expect(sources.map((source) => source?.path)).toEqual(['/data/two.png', undefined, '/data/one.tif']);
    expect(sources[2]).toMatchObject({
      id: one,
      format: 'tiff',
      bitDepth: 16,
      label: 'cells',
      frame: 0,
      meta: { huge: true, nodata: -1 },
    });
    expect(images.kinds([one, two]).sort((a, b) => a.bitDepth - b.bitDepth)).toEqual([
      { bitDepth: 8, format: 'png' },
      { bitDepth: 16, format: 'tiff' },
    ]);
    expect(images.kinds([])).toEqual([]);
  });
});

// The grid's one-tile-per-volume condition and migration 9's partial index must stay word for
// word the same, or SQLite stops using the index and a project of volumes pages 100x slower.
describe('grid tile index', () => {
  it('is the index the grid query pages with', () => {
    expect(MIGRATIONS.find((migration) => migration.version === 9)!.sql.replace(/\s+/g, ' ')).toContain(GRID_TILE);
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-grid-'));
    const db = openDatabase(folder);
    const plan = db
      .prepare(
        `EXPLAIN QUERY PLAN SELECT id FROM images WHERE project_id = 1 AND ` +
          `duplicate_of IS NULL AND ${GRID_TILE} ORDER BY path, frame LIMIT 100`,
      )
      .all() as { detail: string }[];
    expect(plan.map((step) => step.detail).join(' ')).toContain('images_grid_tiles');
    db.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });
});
