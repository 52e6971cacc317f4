/** The `exports` table: one row per export of a run, pointing at its main file. */
import type { ExportFormatName } from '../contract';
import type { Db } from './database';

/** One export as stored. */
export interface ExportRecord {
  id: number;
  runId: number;
  format: ExportFormatName;
  /** The main file (model.safetensors, model.onnx, model.json). */
  path: string;
  createdAt: string;
}

const COLUMNS = 'e.id, e.run_id AS runId, e.format, e.path, e.created_at AS createdAt';

/** Repository over `exports`; a run's exports go with it (foreign key, cascade). */
export class ExportStore {
  constructor(private readonly db: Db) {}

  /** Records an export of `runId` whose main file is `path`; returns the stored row. */
  add(runId: number, format: ExportFormatName, path: string): ExportRecord {
    const info = this.db
      .prepare('INSERT INTO exports (run_id, format, path, created_at) VALUES (?, ?, ?, ?)')
      .run(runId, format, path, new Date().toISOString());
    return this.db
      .prepare(`SELECT ${COLUMNS} FROM exports e WHERE e.id = ?`)
      .get(Number(info.lastInsertRowid)) as ExportRecord;
  }

  /** Exports of a project's runs, newest first. */
  list(projectId: number): ExportRecord[] {
    return this.db
      .prepare(
        `SELECT ${COLUMNS} FROM exports e JOIN runs r ON r.id = e.run_id WHERE r.project_id = ? ORDER BY e.id DESC`,
      )
      .all(projectId) as ExportRecord[];
  }
}
