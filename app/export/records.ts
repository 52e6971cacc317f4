/** The `exports` table: one row per export, pointing at its main file. */
import type { Workspace } from '../workspace';
import type { ExportFormat } from './model-card';

/** One export as stored. */
export interface ExportRecord {
  id: number;
  runId: number;
  format: ExportFormat;
  /** The main file (model.safetensors, model.onnx, model.json). */
  path: string;
  createdAt: string;
}

/** Records an export. */
export function recordExport(workspace: Workspace, runId: number, format: ExportFormat, path: string): ExportRecord {
  const info = workspace.db.prepare('INSERT INTO exports (run_id, format, path, created_at) VALUES (?, ?, ?, ?)').run(runId, format, path, new Date().toISOString());
  return workspace.db.prepare('SELECT id, run_id AS runId, format, path, created_at AS createdAt FROM exports WHERE id = ?').get(Number(info.lastInsertRowid)) as ExportRecord;
}

/** Exports of a project's runs, newest first. */
export function listExports(workspace: Workspace, projectId: number): ExportRecord[] {
  return workspace.db
    .prepare(
      `SELECT e.id, e.run_id AS runId, e.format, e.path, e.created_at AS createdAt FROM exports e JOIN runs r ON r.id = e.run_id
       WHERE r.project_id = ? ORDER BY e.id DESC`,
    )
    .all(projectId) as ExportRecord[];
}
