/**
 * The Python the PyTorch reference tests run: the first of Debian's and the PATH's `python3` that
 * imports torch (Debian's python3-torch). CI installs it, so there every such test must run
 * (`runTorch`), and only a machine without it skips them. `runTorchCase` is the one hand-off of
 * every parity test (inputs written for Python, its result read back) and `scaledError` the one
 * measure of how far ours is from the reference.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeSafetensors, type NamedTensor } from './weights/safetensors';

/** A Python with PyTorch, or undefined when none is installed. */
export const torchPython = ['/usr/bin/python3', 'python3'].find(
  (candidate) => spawnSync(candidate, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
);

/** Whether the PyTorch reference tests run here: torch is installed, or this is CI (where it must be). */
export const runTorch = torchPython !== undefined || process.env.CI === 'true';

/** The folder of the project's PyTorch modules (mae_model.py, satmae_model.py, tensor_files.py, …). */
const TORCH_MODULES = path.resolve(import.meta.dirname, '../handoff/torch');

/** A file of a case: tensors (written as safetensors with torch's metadata) or anything JSON can hold. */
export type CaseFile = Map<string, NamedTensor> | Record<string, unknown>;

/** The Python a case runs: a script file, or code given inline (`python3 -c`). */
export type CaseScript = { file: string } | { code: string };

/**
 * Runs a PyTorch reference on one case: writes `files` by name into a fresh temporary folder, runs
 * `script` with that folder as its one argument (app/handoff/torch on PYTHONPATH) and returns the
 * JSON it wrote there as `result.json`, with what it printed on stderr (nothing, from a clean run).
 * Throws with Python's stderr when it fails. The folder is removed afterwards.
 */
export function runTorchCase<T>(script: CaseScript, files: Record<string, CaseFile>): { result: T; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-case-'));
  try {
    for (const [name, content] of Object.entries(files))
      fs.writeFileSync(
        path.join(dir, name),
        content instanceof Map ? encodeSafetensors(content, { format: 'pt' }) : JSON.stringify(content),
      );
    const command = 'file' in script ? [script.file, dir] : ['-c', script.code, dir];
    const run = spawnSync(torchPython ?? 'python3', command, {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: TORCH_MODULES },
    });
    const name = 'file' in script ? path.basename(script.file) : 'the reference script';
    if (run.status !== 0) throw new Error(`${name} failed (${run.status}; install python3-torch): ${run.stderr}`);
    return { result: JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')) as T, stderr: run.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Largest |ours − theirs| relative to the largest |theirs| (the reference's own scale). */
export function scaledError(ours: ArrayLike<number>, theirs: ArrayLike<number>): number {
  if (ours.length !== theirs.length) throw new Error(`lengths differ: ${ours.length} vs ${theirs.length}`);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < theirs.length; i++) {
    worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
    scale = Math.max(scale, Math.abs(theirs[i]!));
  }
  return worst / Math.max(scale, 1e-12);
}

/** [rows, columns] row-major → its transpose (our [in, out] weights to torch's [out, in]). */
export function transposed(values: ArrayLike<number>, rows: number, columns: number): Float32Array {
  const out = new Float32Array(rows * columns);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = values[r * columns + c]!;
  return out;
}
