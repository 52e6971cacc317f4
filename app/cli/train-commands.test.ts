/**
 * `pretrain` and `resume` as scripts call them: the built CLI goes through the `training` service,
 * so it refuses what the new-run dialog refuses, with the dialog's message, before any run exists.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSample } from '../data/synthetic/datasets';
import { createDispatcher } from '../rpc';
import { Studio } from '../studio';
import { runCli } from './cli.fixtures';

let dir: string;
let workspace: string;
let projectId: number;

function run(...args: string[]) {
  return runCli(args);
}

async function runsOf(id: number): Promise<number> {
  const studio = new Studio(workspace);
  try {
    return studio.workspace.runs.list(id).length;
  } finally {
    await studio.close();
  }
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-cli-train-'));
  workspace = path.join(dir, 'workspace');
  const sample = await writeSample(path.join(dir, 'sample'), { domain: 'microscopy', count: 12, seed: 3 });
  const studio = new Studio(workspace);
  try {
    projectId = (await studio.services.projects.create({ name: 'cells', domain: 'microscopy' })).id;
    await studio.runImport('test', projectId, [sample.dir]);
  } finally {
    await studio.close();
  }
}, 60_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('mae-studio pretrain', () => {
  it('refuses a batch too big for memory with the message the app gives, exit 1, and plans no run', async () => {
    // ViT-Base at 1024 px, batch 4096: terabytes per step on any machine.
    const recipe = { preset: 'vit-base', imgSize: 1024, decoder: '512x8', batchSize: 4096 } as const;
    const studio = new Studio(workspace);
    let appMessage: string;
    try {
      const reply = await createDispatcher(studio.services)('training.start', [projectId, recipe]);
      expect(reply.ok).toBe(false);
      appMessage = reply.ok ? '' : reply.error.message;
    } finally {
      await studio.close();
    }
    expect(appMessage).toMatch(/^Batch size 4096 needs about .* per step; this machine can spare/);

    // The same recipe as flags; the full preset name reads as encoder, patch and decoder.
    const refused = run(
      'pretrain',
      '--workspace',
      workspace,
      '--project',
      String(projectId),
      '--preset',
      'maeVitBasePatch16Dec512d8b',
      '--img',
      '1024',
      '--batch',
      '4096',
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n').at(-1)).toBe(`mae-studio: ${appMessage}`);
    expect(refused.stdout).toBe('');
    expect(await runsOf(projectId)).toBe(0);
  });

  it('trains a run to its end: progress on stderr, the run on stdout (JSON with --json); resume refused', async () => {
    const flags = [
      '--workspace',
      workspace,
      '--project',
      String(projectId),
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
      '--backend',
      'cpu',
    ];
    const trained = run('pretrain', ...flags, '--steps', '2', '--val-fraction', '0.25');
    expect(trained.code, trained.stderr).toBe(0);
    const [, runId] = /^Run (\d+) completed at step 2, final loss \d+\.\d{4}\nbackend: cpu/.exec(trained.stdout) ?? [];
    expect(runId, trained.stdout).toBeDefined();
    expect(trained.stderr).toContain(`Run ${runId} planned; starting the training process…`);
    expect(trained.stderr).toMatch(/step 2 {2}checkpoint saved\nfinished: completed/);
    // --val-fraction reached the plan: 3 of the 12 images are held out for validation.
    const studio = new Studio(workspace);
    try {
      const summary = await studio.services.runs.get(Number(runId));
      expect(summary.recipe).toMatchObject({ trainImages: 9, valImages: 3, imgSize: 32, patchSize: 8 });
    } finally {
      await studio.close();
    }
    const resumed = run('resume', '--workspace', workspace, '--run', runId!);
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toContain(`mae-studio: run ${runId} is already completed`);

    const json = run('pretrain', ...flags, '--steps', '1', '--json');
    expect(json.code, json.stderr).toBe(0);
    const { run: result, warnings } = JSON.parse(json.stdout);
    expect(warnings).toEqual([]); // the recipe check's warnings ride in the JSON (none for this recipe)
    expect(result).toMatchObject({ id: Number(runId) + 1, status: 'completed', step: 1, error: null });
    expect(result.finalLoss).toBeGreaterThan(0);
  });
});
