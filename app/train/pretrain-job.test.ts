/**
 * A pretraining run as users start it: planned over a project's images, trained in its own
 * process, metrics and checkpoints in the workspace; killed mid-run and resumed, it continues
 * with the losses of an uninterrupted run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSample } from '../data/synthetic/datasets';
import { Studio } from '../studio';
import { Workspace } from '../workspace';
import { startTraining } from './host';
import { datasetNormalisation } from './dataset-plan';
import { planPretrain, type PretrainOptions } from './pretrain-plan';

let dir: string;
let workspaceDir: string;
let projectId: number;

/** A model small enough to train in seconds on the cpu backend. */
const TINY: PretrainOptions = {
  imgSize: 32,
  patchSize: 8,
  depth: 1,
  decoder: '32x1',
  batchSize: 4,
  steps: 16,
  blr: 5e-3,
  seed: 7,
  backend: 'cpu',
};

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-job-'));
  workspaceDir = path.join(dir, 'ws');
  const sample = await writeSample(path.join(dir, 'sample'), { domain: 'medical', count: 36, seed: 3 });
  const studio = new Studio(workspaceDir);
  projectId = studio.workspace.projects.create('CT', 'medical').id;
  await studio.runImport('test', projectId, [sample.dir]);
  await studio.close();
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function plan(options: PretrainOptions = TINY) {
  const workspace = new Workspace(workspaceDir);
  try {
    return planPretrain(workspace, projectId, options);
  } finally {
    workspace.close();
  }
}

function read<T>(use: (workspace: Workspace) => T): T {
  const workspace = new Workspace(workspaceDir);
  try {
    return use(workspace);
  } finally {
    workspace.close();
  }
}

describe('planning', () => {
  it('draws the same split of the same files whatever ids the import gave them', () => {
    const valPaths = () =>
      read((workspace) => {
        const { plan: planned } = planPretrain(workspace, projectId, TINY);
        const pathOf = workspace.db.prepare('SELECT path FROM images WHERE id = ?').pluck();
        return planned.data.valImageIds.map((id) => pathOf.get(id) as string).sort();
      });
    // Ids follow the order parallel decoding finished; reverse them as a different import would.
    const reverseIds = () =>
      read((workspace) =>
        workspace.db.transaction(() => {
          workspace.db.prepare('UPDATE images SET id = id + 1000000 WHERE project_id = ?').run(projectId);
          workspace.db.prepare('UPDATE images SET id = 3000000 - id WHERE project_id = ?').run(projectId);
        })(),
      );
    const before = valPaths();
    reverseIds();
    try {
      expect(valPaths()).toEqual(before);
    } finally {
      reverseIds();
    }
  });

  it('normalises with the pixel-weighted dataset mean and std in [0, 1] units', () => {
    const images = [
      {
        id: 1,
        label: null,
        width: 1,
        height: 1,
        channels: 1,
        bitDepth: 8,
        stats: [{ mean: 0, std: 0, min: 0, max: 0 }],
      },
      {
        id: 2,
        label: null,
        width: 1,
        height: 1,
        channels: 1,
        bitDepth: 8,
        stats: [{ mean: 255, std: 0, min: 255, max: 255 }],
      },
    ];
    const { mean, std } = datasetNormalisation(images);
    expect(mean[0]).toBeCloseTo(0.5, 10);
    expect(std[0]).toBeCloseTo(0.5, 10);
  });

  it('refuses recipes that cannot work, naming the field', () => {
    expect(() => plan({ ...TINY, imgSize: 30 })).toThrow(/imgSize \(30\) must be divisible by mae.patchSize \(8\)/);
    expect(() => plan({ ...TINY, maskRatio: 1.2 })).toThrow(/maskRatio must be in \(0, 1\), got 1.2/);
    expect(() => plan({ ...TINY, decoder: 'big' })).toThrow(/decoder must look like 512x8/);
    expect(() => plan({ ...TINY, preset: 'vit-huge' })).toThrow(/preset must be one of/);
  });
});

describe('a training run in its own process', () => {
  it('trains, records metrics per step and validation per epoch, and checkpoints', async () => {
    const { runId, plan: stored } = plan();
    const result = await startTraining(workspaceDir, runId).done;
    expect(result).toMatchObject({ status: 'completed', step: 16 });
    const run = read((w) => w.runs.get(runId));
    expect(run.status).toBe('completed');
    expect(run.backend).toMatch(/^cpu · /);
    const losses = read((w) => w.runs.metrics(runId, 'train_loss'));
    expect(losses.map((p) => p.step)).toEqual([...Array(16)].map((_, i) => i + 1));
    const validation = read((w) => w.runs.metrics(runId, 'val_loss'));
    expect(validation.length).toBeGreaterThanOrEqual(Math.floor(16 / stored.stepsPerEpoch));
    expect(validation.at(-1)!.step).toBe(16);
    const checkpoint = read((w) => w.runs.latestCheckpoint(runId))!;
    expect(checkpoint.step).toBe(16);
    expect(fs.existsSync(checkpoint.path)).toBe(true);
  });

  it('marks a killed run interrupted, then resumes it with the losses of an uninterrupted run', async () => {
    const reference = plan().runId;
    await startTraining(workspaceDir, reference).done;
    const expected = read((w) => w.runs.metrics(reference, 'train_loss')).map((p) => p.value);

    const { runId, plan: stored } = plan();
    const killAt = stored.checkpointEvery + 2;
    const training = startTraining(workspaceDir, runId, {
      onProgress: (progress) => {
        if (progress.type === 'step' && progress.step === killAt) training.worker.kill();
      },
    });
    await expect(training.done).rejects.toThrow(/interrupted: the training process was killed \(SIGKILL\)/);
    const interrupted = read((w) => w.runs.get(runId));
    expect(interrupted).toMatchObject({ status: 'interrupted', error: 'the training process was killed (SIGKILL)' });
    expect(read((w) => w.runs.latestCheckpoint(runId))!.step).toBe(stored.checkpointEvery);

    const resumed = await startTraining(workspaceDir, runId, { resume: true }).done;
    expect(resumed).toMatchObject({ status: 'completed', step: 16 });
    const losses = read((w) => w.runs.metrics(runId, 'train_loss'));
    expect(losses.map((p) => p.step)).toEqual([...Array(16)].map((_, i) => i + 1));
    losses.forEach((point, index) => expect(point.value).toBeCloseTo(expected[index]!, 5));
  });

  it('stops on request with a checkpoint, and resume finishes the run', async () => {
    const { runId } = plan();
    const training = startTraining(workspaceDir, runId, {
      onProgress: (progress) => {
        if (progress.type === 'step' && progress.step === 3) training.stop();
      },
    });
    expect(await training.done).toMatchObject({ status: 'stopped' });
    expect(read((w) => w.runs.get(runId)).status).toBe('stopped');
    expect(await startTraining(workspaceDir, runId, { resume: true }).done).toMatchObject({
      status: 'completed',
      step: 16,
    });
  });

  it('refuses to resume a run that has no checkpoint', async () => {
    const { runId } = plan();
    await expect(startTraining(workspaceDir, runId, { resume: true }).done).rejects.toThrow(
      /has no checkpoint to resume from/,
    );
  });
});
