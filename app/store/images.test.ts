/**
 * The image grid's pages: ordered by the chosen sort, filtered, and counted — with the count
 * kept between pages of one filter yet always right after a write, here or in another process.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from './database';
import { ImageStore, type NewImage } from './images';
import { ProjectStore } from './projects';

let dir: string;
let db: Db;
let images: ImageStore;
let projectId: number;

function rows(count: number, first: number, failed = false): NewImage[] {
  return Array.from({ length: count }, (_, i) => ({
    projectId, path: `/data/${failed ? 'bad' : 'cells'}/img-${String(first + i).padStart(4, '0')}.png`, sha256: failed ? null : `h${first + i}`,
    sizeBytes: 100 + i, mtimeMs: 1, width: failed ? null : 64 + i, height: failed ? null : 64, channels: failed ? null : 1, bitDepth: failed ? null : 8,
    format: 'png', label: failed ? 'bad' : 'cells', error: failed ? 'PNG: truncated IDAT' : null, stats: null, thumbnail: null, duplicateOf: null,
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
    images.insertMany([{ ...small!, width: 4000, height: 3000, sizeBytes: 90_000 }, { ...large!, width: 512, height: 512, sizeBytes: 800_000 }]);
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
