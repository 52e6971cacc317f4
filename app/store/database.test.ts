import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DATABASE_FILE, openDatabase, schemaVersion } from './database';
import { SCHEMA_VERSION } from './migrations';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-db-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('openDatabase', () => {
  it('creates every table of the data model with WAL and foreign keys on', () => {
    const db = openDatabase(dir);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map(
      (t) => t.name,
    );
    expect(tables).toEqual(expect.arrayContaining(['projects', 'images', 'runs', 'metrics', 'checkpoints', 'exports']));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    db.close();
  });

  it('deletes a project’s images with it (foreign keys enforced)', () => {
    const db = openDatabase(dir);
    db.prepare("INSERT INTO projects (id, name, domain, created_at) VALUES (1, 'p', 'general', 'now')").run();
    db.prepare("INSERT INTO images (project_id, path, imported_at) VALUES (1, '/a.png', 'now')").run();
    expect(() =>
      db.prepare("INSERT INTO images (project_id, path, imported_at) VALUES (99, '/b.png', 'now')").run(),
    ).toThrow(/FOREIGN KEY/);
    db.prepare('DELETE FROM projects WHERE id = 1').run();
    expect(db.prepare('SELECT count(*) AS n FROM images').get()).toEqual({ n: 0 });
    db.close();
  });

  it('migrates a workspace made by an older version and keeps its rows', () => {
    const old = openDatabase(dir, { targetVersion: 1 });
    expect(schemaVersion(old)).toBe(1);
    old
      .prepare("INSERT INTO projects (id, name, domain, created_at) VALUES (1, 'Old project', 'medical', 'then')")
      .run();
    old
      .prepare("INSERT INTO images (project_id, path, sha256, imported_at) VALUES (1, '/scan.png', 'abc', 'then')")
      .run();
    old.close();

    const db = openDatabase(dir);
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    expect(db.prepare('SELECT name FROM projects').get()).toEqual({ name: 'Old project' });
    expect(db.prepare('SELECT path, sha256, duplicate_of, thumbnail FROM images').get()).toEqual({
      path: '/scan.png',
      sha256: 'abc',
      duplicate_of: null,
      thumbnail: null,
    });
    db.close();
  });

  it('refuses a database from a newer schema without modifying it', () => {
    const file = path.join(dir, DATABASE_FILE);
    const future = new Database(file);
    future.exec('CREATE TABLE from_the_future (x)');
    future.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    future.close();
    const before = fs.readFileSync(file);
    const entriesBefore = fs.readdirSync(dir).sort();

    expect(() => openDatabase(dir)).toThrow(
      /newer MAE Studio \(schema \d+; this version knows up to \d+\).*nothing in it was changed/,
    );
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir).sort()).toEqual(entriesBefore);
  });

  it('rolls back a failing migration and leaves the version as it was', () => {
    const broken = [
      { version: 1, description: 'ok', sql: 'CREATE TABLE a (x)' },
      { version: 2, description: 'bad', sql: 'CREATE TABLE a (x)' },
    ];
    expect(() => openDatabase(dir, { migrations: broken })).toThrow(/already exists/);
    const db = new Database(path.join(dir, DATABASE_FILE));
    expect(db.pragma('user_version', { simple: true })).toBe(0);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'a'").get()).toEqual({ n: 0 });
    db.close();
  });
});
