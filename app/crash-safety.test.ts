/**
 * Power-cut behaviour: the CLI is killed with SIGKILL at random moments of an import and of a
 * training run (metrics writes, checkpoint writes). After every kill the database passes
 * `PRAGMA integrity_check`, no stored image row is lost, the newest checkpoint loads, and the
 * work completes when started again.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSample } from './data/synthetic/datasets';
import { Rng } from './mae/rng';
import { readSafetensors } from './mae/weights/safetensors';

const CLI = path.resolve('dist/cli/cli.js');
let dir: string;
let workspace: string;

/**
 * Runs the CLI and kills it (and its training process) with SIGKILL `afterMs` after its
 * progress output first matches `trigger` (at once when no trigger), so the kill lands inside
 * the work whatever the machine's speed.
 */
function runAndKill(
  args: string[],
  afterMs: number,
  trigger?: RegExp,
  only: 'group' | 'app' = 'group',
): Promise<{ triggered: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let timer: NodeJS.Timeout | undefined;
    let triggered = false;
    const arm = () => {
      triggered = true;
      timer = setTimeout(() => {
        try {
          process.kill(only === 'group' ? -child.pid! : child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, afterMs);
    };
    let output = '';
    child.stderr.on('data', (chunk) => {
      output += chunk;
      if (!triggered && trigger?.test(output)) arm();
    });
    if (!trigger) arm();
    child.on('exit', () => {
      clearTimeout(timer);
      resolve({ triggered });
    });
  });
}

function run(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args, '--json'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.on('exit', (code) => resolve({ code, stdout }));
  });
}

function inspect<T>(use: (db: Database.Database) => T): T {
  const db = new Database(path.join(workspace, 'studio.sqlite'), { readonly: true });
  try {
    return use(db);
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-crash-'));
  workspace = path.join(dir, 'ws');
  await writeSample(path.join(dir, 'first'), { domain: 'medical', count: 24, seed: 1 });
  await writeSample(path.join(dir, 'second'), { domain: 'microscopy', count: 240, seed: 2 });
  expect((await run(['init', '--workspace', workspace, '--name', 'Crash test', '--domain', 'medical'])).code).toBe(0);
  expect((await run(['import', '--workspace', workspace, '--project', '1', path.join(dir, 'first')])).code).toBe(0);
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('SIGKILL at random moments', () => {
  it('keeps the database whole and every stored image during imports', async () => {
    const before = inspect((db) => db.prepare('SELECT id, path, sha256 FROM images ORDER BY id').all());
    const rng = Rng.fromSeed(42);
    for (let round = 0; round < 5; round++) {
      const stored = inspect((db) => db.prepare('SELECT id FROM images').all().length);
      await runAndKill(
        ['import', '--workspace', workspace, '--project', '1', path.join(dir, 'second')],
        300 + rng.int(1500),
      );
      inspect((db) => {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(db.prepare('SELECT id FROM images').all().length).toBeGreaterThanOrEqual(stored);
      });
    }
    const finished = await run(['import', '--workspace', workspace, '--project', '1', path.join(dir, 'second')]);
    expect(finished.code).toBe(0);
    inspect((db) => {
      expect(
        db
          .prepare('SELECT id, path, sha256 FROM images WHERE id <= ? ORDER BY id')
          .all((before.at(-1) as { id: number }).id),
      ).toEqual(before);
      expect(
        db.prepare('SELECT count(*) AS n FROM images WHERE path LIKE ?').get(`${path.join(dir, 'second')}%`),
      ).toEqual({ n: 240 });
    });
  }, 240_000);

  it('keeps the database whole and the newest checkpoint loadable during training', async () => {
    // Its own small project: 24 images → a checkpoint every 6 steps.
    expect((await run(['init', '--workspace', workspace, '--name', 'Training', '--domain', 'medical'])).code).toBe(0);
    expect((await run(['import', '--workspace', workspace, '--project', '2', path.join(dir, 'first')])).code).toBe(0);
    const plan = [
      'pretrain',
      '--workspace',
      workspace,
      '--project',
      '2',
      '--img',
      '32',
      '--patch',
      '8',
      '--depth',
      '1',
      '--decoder',
      '32x1',
      '--batch',
      '4',
      '--steps',
      '400',
      '--backend',
      'wasm',
      '--seed',
      '3',
    ];
    const rng = Rng.fromSeed(7);
    // Killed a moment after its first checkpoint: inside later metric and checkpoint writes.
    expect((await runAndKill(plan, rng.int(1500), /checkpoint saved/)).triggered).toBe(true);
    const runId = inspect((db) => (db.prepare('SELECT max(id) AS id FROM runs').get() as { id: number }).id);
    // The app and its training process died together: nothing saw the run end...
    const status = () => inspect((db) => db.prepare('SELECT status, error FROM runs WHERE id = ?').get(runId));
    expect(status()).toMatchObject({ status: 'running' });
    // ...until the workspace is opened again, which finds its process gone.
    expect((await run(['images', '--workspace', workspace, '--project', '2'])).code).toBe(0);
    expect(status()).toMatchObject({
      status: 'interrupted',
      error: expect.stringMatching(/its training process \(pid \d+\) ended without a word: resume it/),
    });
    let lastStep = 0;
    for (let round = 0; round < 4; round++) {
      inspect((db) => {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        const steps = db
          .prepare("SELECT step FROM metrics WHERE run_id = ? AND name = 'train_loss' ORDER BY step")
          .all(runId) as { step: number }[];
        expect(new Set(steps.map((s) => s.step)).size).toBe(steps.length); // no step recorded twice
      });
      const newest = inspect(
        (db) =>
          db.prepare('SELECT path, step FROM checkpoints WHERE run_id = ? ORDER BY step DESC LIMIT 1').get(runId) as
            | { path: string; step: number }
            | undefined,
      );
      expect(newest, `round ${round}: a checkpoint exists`).toBeDefined();
      const { metadata } = await readSafetensors(newest!.path);
      expect(JSON.parse(metadata.studio!).step).toBe(newest!.step);
      expect(newest!.step).toBeGreaterThanOrEqual(lastStep); // resumed runs move forward
      lastStep = newest!.step;
      // Only checkpoints (and at most a torn temporary file) in the folder.
      const folder = path.join(workspace, 'projects', '2', 'checkpoints');
      expect(fs.readdirSync(folder).filter((f) => !f.endsWith('.safetensors') && !f.endsWith('.tmp'))).toEqual([]);
      const resumed = await runAndKill(
        ['resume', '--workspace', workspace, '--run', String(runId)],
        rng.int(1500),
        /checkpoint saved/,
      );
      expect(resumed.triggered, `round ${round}: resume trained`).toBe(true);
    }
    expect(lastStep).toBeGreaterThan(6);
  }, 240_000);

  it('stops the run with a checkpoint when only the app is killed and its training process is orphaned', async () => {
    const plan = [
      'pretrain',
      '--workspace',
      workspace,
      '--project',
      '2',
      '--img',
      '32',
      '--patch',
      '8',
      '--depth',
      '1',
      '--decoder',
      '32x1',
      '--batch',
      '4',
      '--steps',
      '100000',
      '--backend',
      'wasm',
      '--seed',
      '4',
    ];
    expect((await runAndKill(plan, 300, /checkpoint saved/, 'app')).triggered).toBe(true);
    const runId = inspect((db) => (db.prepare('SELECT max(id) AS id FROM runs').get() as { id: number }).id);
    const read = () =>
      inspect(
        (db) =>
          db.prepare('SELECT status, error FROM runs WHERE id = ?').get(runId) as {
            status: string;
            error: string | null;
          },
      );
    await expect.poll(() => read().status, { timeout: 60_000, interval: 200 }).toBe('stopped');
    const steps = inspect(
      (db) =>
        db.prepare("SELECT max(step) AS step FROM metrics WHERE run_id = ? AND name = 'train_loss'").get(runId) as {
          step: number;
        },
    );
    const newest = inspect(
      (db) =>
        db.prepare('SELECT step FROM checkpoints WHERE run_id = ? ORDER BY step DESC LIMIT 1').get(runId) as {
          step: number;
        },
    );
    expect(newest.step).toBe(steps.step); // its last step is in the checkpoint: nothing to redo
  }, 120_000);
});
