/**
 * Where a run's small derived files live (reconstruction grids), shared by the training process
 * that writes them and the studio that serves them by run id.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

/** Grids kept per run: the newest few (the dashboard shows the last). */
const KEEP_GRIDS = 3;

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

/**
 * Writes a step's grid (RGB pixels, row-major) as PNG into `dir`, atomically, and deletes older
 * grids beyond the newest few; returns the file.
 */
export async function writeGridPng(
  pixels: Uint8Array,
  size: { width: number; height: number },
  dir: string,
  step: number,
): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, reconstructionFileName(step));
  const temporary = `${file}.tmp`;
  await sharp(pixels, { raw: { width: size.width, height: size.height, channels: 3 } })
    .png({ compressionLevel: 6 })
    .toFile(temporary);
  fs.renameSync(temporary, file); // a reader never sees half a file
  for (const old of listReconstructionGrids(dir).slice(0, -KEEP_GRIDS))
    fs.rmSync(path.join(dir, old.file), { force: true });
  return file;
}
