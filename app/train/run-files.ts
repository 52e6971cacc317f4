/**
 * Where a run's small derived files live (reconstruction grids), shared by the training process
 * that writes them and the studio that serves them by run id.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The folder of a run's small derived files. */
export function runFolder(projectDir: string, runId: number): string {
  return path.join(projectDir, 'runs', String(runId));
}

/** The file name of the grid of a step. */
export function reconstructionFileName(step: number): string {
  return `recon-${String(step).padStart(8, '0')}.png`;
}

/** The grids of a run folder, oldest first. */
export function listReconstructionGrids(dir: string): { step: number; file: string }[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((file) => ({ file, match: /^recon-(\d{8})\.png$/.exec(file) }))
    .filter((entry) => entry.match !== null)
    .map((entry) => ({ step: Number(entry.match![1]), file: entry.file }))
    .sort((a, b) => a.step - b.step);
}
