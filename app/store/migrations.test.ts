import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, schemaVersion } from './database';
import { ImageStore } from './images';
import { SCHEMA_VERSION } from './migrations';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-migrate-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function fillVersion2(): void {
  const old = openDatabase(dir, { targetVersion: 2 });
  old.prepare("INSERT INTO projects (id, name, domain, created_at) VALUES (1, 'p', 'medical', 'then')").run();
  const insert = old.prepare(
    `INSERT INTO images (id, project_id, path, sha256, width, height, channels, bit_depth, format, label, split,
                         excluded, error, stats, imported_at, size_bytes, mtime_ms, duplicate_of, thumbnail)
     VALUES (?, 1, ?, ?, 4, 3, 1, 16, 'png', 'a', 'train', 1, ?, '[]', 'then', 10, 20, ?, ?)`,
  );
  insert.run(1, '/a.png', 'h1', null, null, 'thumbs/h1.jpg');
  insert.run(2, '/b.png', 'h1', null, 1, null);
  insert.run(3, '/c.png', null, 'truncated', null, null);
  old.close();
}

describe('migration 3', () => {
  it('keeps every row, column and duplicate link of a version 2 workspace', () => {
    fillVersion2();
    const db = openDatabase(dir);
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    const rows = db
      .prepare(
        'SELECT id, path, frame, sha256, split, excluded, error, ' +
          'duplicate_of, thumbnail, meta, size_bytes FROM images ORDER BY id',
      )
      .all();
    expect(rows).toEqual([
      {
        id: 1,
        path: '/a.png',
        frame: 0,
        sha256: 'h1',
        split: 'train',
        excluded: 1,
        error: null,
        duplicate_of: null,
        thumbnail: 'thumbs/h1.jpg',
        meta: null,
        size_bytes: 10,
      },
      {
        id: 2,
        path: '/b.png',
        frame: 0,
        sha256: 'h1',
        split: 'train',
        excluded: 1,
        error: null,
        duplicate_of: 1,
        thumbnail: null,
        meta: null,
        size_bytes: 10,
      },
      {
        id: 3,
        path: '/c.png',
        frame: 0,
        sha256: null,
        split: 'train',
        excluded: 1,
        error: 'truncated',
        duplicate_of: null,
        thumbnail: null,
        meta: null,
        size_bytes: 10,
      },
    ]);
    expect(db.pragma('foreign_key_check')).toEqual([]);
    const indexes = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'images'").all() as {
        name: string;
      }[]
    ).map((r) => r.name);
    expect(indexes).toEqual(expect.arrayContaining(['images_by_hash', 'images_by_label']));
    db.close();
  });

  it('keeps the duplicate link working after the rebuild (deleting the original clears it)', () => {
    fillVersion2();
    const db = openDatabase(dir);
    db.prepare('DELETE FROM images WHERE id = 1').run();
    expect(db.prepare('SELECT duplicate_of FROM images WHERE id = 2').get()).toEqual({ duplicate_of: null });
    db.close();
  });

  it('stores several frames of one path with their metadata', () => {
    const db = openDatabase(dir);
    db.prepare("INSERT INTO projects (id, name, domain, created_at) VALUES (1, 'p', 'medical', 'now')").run();
    const images = new ImageStore(db);
    const base = {
      projectId: 1,
      path: '/ct.dcm',
      sha256: 'x',
      sizeBytes: 1,
      mtimeMs: 1,
      width: 2,
      height: 2,
      channels: 1,
      bitDepth: 16,
      format: 'dicom',
      label: null,
      error: null,
      stats: null,
      thumbnail: null,
      duplicateOf: null,
    };
    const ids = images.insertMany([0, 1, 2].map((frame) => ({ ...base, frame, meta: { frames: 3, modality: 'CT' } })));
    expect(new Set(ids).size).toBe(3);
    expect(images.get(ids[1]!)).toMatchObject({ frame: 1, meta: { frames: 3, modality: 'CT' } });
    // Re-imported with a single frame: the stale frames go.
    images.insertMany([{ ...base, frame: 0, meta: { frames: 1 } }]);
    expect(images.samplesOf(1, '/ct.dcm')).toEqual([{ id: ids[0], frame: 0, meta: { frames: 1 } }]);
    db.close();
  });
});

describe('migration 4', () => {
  it('stores a channel plan per project and drops it with the project', () => {
    const db = openDatabase(dir);
    db.prepare("INSERT INTO projects (id, name, domain, created_at) VALUES (1, 'p', 'remote-sensing', 'now')").run();
    db.prepare("INSERT INTO channel_plans (project_id, plan, updated_at) VALUES (1, '{}', 'now')").run();
    db.prepare('DELETE FROM projects WHERE id = 1').run();
    expect(db.prepare('SELECT count(*) AS n FROM channel_plans').get()).toEqual({ n: 0 });
    db.close();
  });
});

describe('migration 8', () => {
  it('keeps each label as its folder label, with no label set by hand', () => {
    fillVersion2();
    const db = openDatabase(dir);
    expect(db.prepare('SELECT DISTINCT label, folder_label FROM images').all()).toEqual([
      { label: 'a', folder_label: 'a' },
    ]);
    expect(db.prepare('SELECT count(*) AS n FROM label_overrides').get()).toEqual({ n: 0 });
    db.close();
  });
});
