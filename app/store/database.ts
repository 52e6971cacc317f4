/**
 * Opens a workspace's `studio.sqlite`: refuses a newer schema without touching the file, then
 * sets WAL, foreign keys and a busy timeout (the UI and training processes share the file), and
 * runs pending migrations in one transaction.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StudioError } from '../contract';
import { MIGRATIONS, SCHEMA_VERSION, type Migration } from './migrations';

export type Db = Database.Database;

/** File name of the database inside a workspace. */
export const DATABASE_FILE = 'studio.sqlite';

/** Options for tests and tools; the app always opens with the defaults. */
export interface OpenOptions {
  /** Stop migrating at this version (to build an old workspace in a test). */
  targetVersion?: number;
  migrations?: readonly Migration[];
}

/** Opens (creating when absent) the database of a workspace directory. */
export function openDatabase(workspace: string, options: OpenOptions = {}): Db {
  const migrations = options.migrations ?? MIGRATIONS;
  const target = options.targetVersion ?? SCHEMA_VERSION;
  fs.mkdirSync(workspace, { recursive: true });
  const file = path.join(workspace, DATABASE_FILE);
  if (fs.existsSync(file)) refuseNewer(file, target);
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.pragma('synchronous = NORMAL');
    migrate(db, migrations, target);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Reads the schema version without writing anything (no WAL switch, no journal). */
function refuseNewer(file: string, known: number): void {
  let version: number;
  try {
    const probe = new Database(file, { readonly: true, fileMustExist: true });
    try {
      version = probe.pragma('user_version', { simple: true }) as number;
    } finally {
      probe.close();
    }
  } catch (error) {
    throw new StudioError(
      'INVALID_ARGUMENT',
      `${file} is not a readable MAE Studio database: ${(error as Error).message}`,
    );
  }
  if (version > known) {
    throw new StudioError(
      'UNSUPPORTED',
      `${file} was written by a newer MAE Studio (schema ${version}; this version knows up to ${known}). ` +
        'It was not opened and nothing in it was changed: update MAE Studio to open this workspace.',
      { file, version, known },
    );
  }
}

function migrate(db: Db, migrations: readonly Migration[], target: number): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const pending = migrations.filter((m) => m.version > current && m.version <= target);
  if (pending.length === 0) return;
  db.transaction(() => {
    for (const migration of pending) {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }
  })();
}

/** The schema version of an open database. */
export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}
