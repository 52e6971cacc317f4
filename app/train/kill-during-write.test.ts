/**
 * SIGKILL in the middle of the two writes training makes, aimed rather than left to chance (as
 * app/crash-safety.test.ts does): a child process writes with the real code in a loop and is
 * killed inside a write. After every kill the previous checkpoint still loads whole, and the
 * database passes `integrity_check` with every metrics batch either all there or not at all.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../mae/rng';
import { Workspace } from '../workspace';
import { readSafetensors } from '../mae/weights/safetensors';

let dir: string;
let childScript: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-kill-write-'));
  childScript = path.join(dir, 'child.cjs');
  buildSync({
    entryPoints: [path.resolve('app/train/kill-during-write.child.ts')],
    outfile: childScript,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    external: ['better-sqlite3'],
    logLevel: 'error',
  });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/**
 * Starts the child and SIGKILLs it `delayMs` after the line `trigger(lines)` picks; resolves
 * with every stdout line it printed.
 */
function runAndKill(args: string[], trigger: (line: string) => boolean, delayMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_PATH: path.resolve('node_modules') },
    });
    const lines: string[] = [];
    let buffer = '';
    let stderr = '';
    let armed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (!armed && trigger(line)) {
          armed = true;
          setTimeout(() => child.kill('SIGKILL'), delayMs);
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code, signal) =>
      signal === 'SIGKILL' ? resolve(lines) : reject(new Error(`child exited ${code}: ${stderr}`)),
    );
  });
}

describe('SIGKILL inside a write', () => {
  it('leaves the previous checkpoint loadable when the kill lands inside a checkpoint write', async () => {
    const file = path.join(dir, 'checkpoint-step.safetensors');
    const rng = Rng.fromSeed(11);
    let tornTemporaries = 0;
    for (let round = 0; round < 6; round++) {
      const previous = fs.existsSync(file)
        ? (JSON.parse((await readSafetensors(file)).metadata.studio!).step as number)
        : 0;
      // The first round lets one write finish; later rounds kill inside their first write.
      const lines = await runAndKill(
        ['checkpoint', file],
        (line) => line === (round === 0 ? 'writing 2' : 'writing 1'),
        rng.int(40),
      );
      const wrote = lines.filter((line) => line.startsWith('wrote ')).map((line) => Number(line.slice(6)));
      const { tensors, metadata } = await readSafetensors(file); // whole, or this throws
      const step = JSON.parse(metadata.studio!).step as number;
      // Either the file from before this round (or round 0's first write) or one this round completed.
      expect([round === 0 ? 1 : previous, ...wrote, (wrote.at(-1) ?? 0) + 1], `round ${round}`).toContain(step);
      const weights = tensors.get('weights')!.data;
      expect(weights.length).toBe(6 << 20);
      expect(weights[0]).toBe(step);
      expect(weights[weights.length - 1]).toBe(step);
      const temporaries = fs.readdirSync(dir).filter((name) => name.endsWith('.tmp'));
      if (temporaries.length > 0) tornTemporaries++;
      for (const name of temporaries) fs.rmSync(path.join(dir, name));
    }
    // The kills really landed inside writes: some left a torn temporary file beside the checkpoint.
    expect(tornTemporaries).toBeGreaterThan(0);
  }, 60_000);

  it('keeps the database whole and each metrics batch all-or-nothing when killed in a metrics write', async () => {
    const workspaceDir = path.join(dir, 'ws');
    const workspace = new Workspace(workspaceDir);
    const projectId = workspace.projects.create('Kill', 'microscopy').id;
    const runId = workspace.runs.create({ projectId, kind: 'pretrain', config: {} }).id;
    workspace.close();
    const rng = Rng.fromSeed(12);
    for (let round = 0; round < 6; round++) {
      await runAndKill(['metrics', workspaceDir, String(runId)], (line) => line === 'wrote 3', rng.int(30));
      const db = new Database(path.join(workspaceDir, 'studio.sqlite'));
      try {
        expect(db.pragma('integrity_check', { simple: true }), `round ${round}`).toBe('ok');
        const batches = db
          .prepare('SELECT step, count(*) AS points FROM metrics WHERE run_id = ? GROUP BY step')
          .all(runId) as { step: number; points: number }[];
        expect(batches.length).toBeGreaterThanOrEqual(3);
        expect(
          batches.filter((batch) => batch.points !== 2000),
          `round ${round}: torn batches`,
        ).toEqual([]);
      } finally {
        db.close();
      }
    }
  }, 60_000);
});
