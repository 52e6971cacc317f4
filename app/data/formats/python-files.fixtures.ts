/**
 * Files written by other tools: a Python script beside the test (nibabel, tifffile) writes them
 * into a temporary folder with a `manifest.json` of what the Python reader sees (sizes, spacing,
 * affine, µm per pixel, and each sample's pixels as little-endian float64). Debian's python3 with
 * the module runs it; CI installs both, so there it must run, and only a machine without the
 * module skips.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether Debian's python3 imports every one of `modules`. */
export function pythonHas(...modules: string[]): boolean {
  const found = spawnSync('/usr/bin/python3', ['-c', modules.map((name) => `import ${name}`).join('; ')], {
    stdio: 'ignore',
  });
  return found.status === 0;
}

/** Whether tests needing `modules` run here: installed, or this is CI (where they must be). */
export function runWithPython(...modules: string[]): boolean {
  return pythonHas(...modules) || process.env.CI === 'true';
}

/** One file the script wrote: its name, kind, and what the Python reader says of it. */
export interface PythonFile {
  file: string;
  kind: string;
  samples: { index: number; raw: string }[];
  [field: string]: unknown;
}

/** Runs `script` (a path) into a new temporary folder; returns the folder and its manifest. */
export function writePythonFiles(script: string): { dir: string; files: PythonFile[] } {
  const dir = mkdtempSync(join(tmpdir(), 'python-files-'));
  const run = spawnSync('/usr/bin/python3', [script, dir], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${script} failed: ${run.stderr || run.error}`);
  return { dir, files: JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as PythonFile[] };
}

/** A sample's pixels as the Python reader decoded them (float64, rows then columns then bands). */
export function pythonPixels(dir: string, raw: string): Float64Array {
  const bytes = readFileSync(join(dir, raw));
  return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
}
