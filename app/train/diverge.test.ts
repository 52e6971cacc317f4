/**
 * A run whose learning rate is far too high, trained for real (no mocked loss): it stops at the
 * first non-finite loss or gradient, writes nothing from the poisoned state, keeps its last good
 * checkpoint, and fails with a message naming the step and what to change.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../mae/weights/safetensors';
import { writeSample } from '../data/synthetic/datasets';
import { Studio } from '../studio';
import { Workspace } from '../workspace';
import { planPretrain } from './pretrain-plan';
import { executePretrain } from './pretrain-run';

let dir: string;
let workspaceDir: string;
let projectId: number;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-diverge-'));
  workspaceDir = path.join(dir, 'ws');
  const sample = await writeSample(path.join(dir, 'sample'), { domain: 'medical', count: 24, seed: 5 });
  const studio = new Studio(workspaceDir);
  projectId = studio.workspace.projects.create('CT', 'medical').id;
  await studio.runImport('test', projectId, [sample.dir]);
  await studio.close();
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('a run that diverges', () => {
  it('stops at the first non-finite step, keeps the last good checkpoint and says to lower the lr', async () => {
    const workspace = new Workspace(workspaceDir);
    // lr rises by 100 a step during warmup: the first steps stay finite, then the loss overflows.
    const { runId, plan } = planPretrain(workspace, projectId, {
      imgSize: 32,
      patchSize: 8,
      depth: 1,
      decoder: '32x1',
      batchSize: 4,
      steps: 30,
      warmupSteps: 30,
      lrRule: 'fixed',
      blr: 3e3,
      seed: 2,
      backend: 'cpu',
    });
    workspace.close();
    const result = await executePretrain(workspaceDir, runId, { log: () => {} });

    expect(result.status).toBe('failed');
    expect(result.step).toBeGreaterThan(plan.checkpointEvery);
    expect(result.step).toBeLessThan(30);
    const read = new Workspace(workspaceDir);
    const run = read.runs.get(runId);
    const checkpoints = read.runs.checkpoints(runId);
    const losses = read.runs.metrics(runId, 'train_loss');
    read.close();
    expect(run.status).toBe('failed');
    expect(run.error).toContain(`training diverged at step ${result.step + 1}`);
    expect(run.error).toMatch(/lower the learning rate and start a new run, e\.g\. base lr 3e2 \(--blr 3e2\)/);
    expect(run.error).toContain('fp32');
    // Every recorded loss is finite; the last good checkpoint is at or before the last good step.
    expect(losses.every((point) => Number.isFinite(point.value))).toBe(true);
    expect(losses.at(-1)!.step).toBe(result.step);
    const last = checkpoints.at(-1)!;
    expect(last.step).toBeLessThanOrEqual(result.step);
    expect(run.error).toContain(`the last good one (step ${last.step}) is kept`);
    const { tensors } = await readSafetensors(last.path);
    for (const tensor of tensors.values()) expect(tensor.data.every(Number.isFinite)).toBe(true);
  }, 60_000);
});
