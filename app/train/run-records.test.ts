/** Runs typed by kind: reports come back only from the kind of run that writes them. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Workspace } from '../workspace';
import { finetuneReport, isVolume3dRun, probeReport, typedRun, withRunStatus } from './run-records';

let dir: string;
let workspace: Workspace;
let projectId: number;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-run-records-'));
  workspace = new Workspace(dir);
  projectId = workspace.projects.create('p', 'general').id;
});
afterEach(() => {
  workspace.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The smallest pretraining plan every stored version holds. */
const PLAN = {
  recipe: {
    model: {
      imgSize: 32,
      patchSize: 8,
      inChans: 1,
      embedDim: 32,
      depth: 1,
      numHeads: 2,
      decoderEmbedDim: 32,
      decoderDepth: 1,
      decoderNumHeads: 1,
    },
    maskRatio: 0.75,
    batchSize: 4,
    accumSteps: 1,
    totalSteps: 10,
    warmupSteps: 1,
    blr: 1.5e-4,
    seed: 0,
  },
  backend: 'cpu',
  data: { channels: 1, mean: [0.5], std: [0.2], trainImageIds: [1, 2], valImageIds: [3], excluded: [] },
  stepsPerEpoch: 1,
  checkpointEvery: 1,
  validateEvery: 1,
};
const SCORES = {
  accuracy: 0.9,
  perClass: [{ label: 'a', precision: 1, recall: 0.8, support: 5 }],
  confusion: [
    [4, 1],
    [0, 5],
  ],
};
const PROBE_REPORT = {
  method: 'linear',
  pooling: 'mean',
  k: null,
  labelsPerClass: null,
  classes: ['a', 'b'],
  trainImages: 20,
  valImages: 10,
  step: 10,
  pretrained: SCORES,
  randomInit: SCORES,
  skipped: [],
  seconds: 1,
};

describe('run records by kind', () => {
  it('gives a probe’s stored report, and says why when a run has none or is another kind', () => {
    const pretrain = workspace.runs.create({ projectId, kind: 'pretrain', config: PLAN }).id;
    const probe = workspace.runs.create({
      projectId,
      kind: 'probe',
      config: { pretrainRunId: pretrain, method: 'linear', pooling: 'mean', k: 20 },
      parentRunId: pretrain,
    }).id;
    expect(() => probeReport(workspace.runs.get(probe))).toThrow(`probe run ${probe} has no report: it is queued`);
    workspace.runs.setStatus(probe, 'failed', { error: 'NaN loss' });
    expect(() => probeReport(workspace.runs.get(probe))).toThrow(
      `probe run ${probe} has no report: it is failed (NaN loss)`,
    );
    workspace.runs.setResult(probe, PROBE_REPORT);
    expect(probeReport(workspace.runs.get(probe))).toMatchObject({ method: 'linear', pretrained: { accuracy: 0.9 } });
    expect(() => finetuneReport(workspace.runs.get(probe))).toThrow(`run ${probe} is a probe run, not a finetune run`);
    expect(() => probeReport(workspace.runs.get(pretrain))).toThrow(
      `run ${pretrain} is a pretrain run, not a probe run`,
    );
    const run = typedRun(workspace.runs.get(pretrain));
    expect(run.kind === 'pretrain' && !isVolume3dRun(run) && run.config.recipe.model.imgSize).toBe(32);
  });

  it('refuses a stored run whose JSON does not fit its kind, naming run and field; keeps unknown fields', () => {
    const { recipe, ...noRecipe } = PLAN;
    const broken = workspace.runs.create({
      projectId,
      kind: 'pretrain',
      config: { ...noRecipe, recipe: { ...recipe, model: { ...recipe.model, depth: 'deep' } } },
    }).id;
    expect(() => typedRun(workspace.runs.get(broken))).toThrow(
      new RegExp(`^run ${broken} \\(pretrain\\) has a stored config\\.recipe\\.model\\.depth this version cannot read`),
    );
    const badIds = workspace.runs.create({
      projectId,
      kind: 'pretrain',
      config: { ...PLAN, data: { ...PLAN.data, valImageIds: [3, 'x'] } },
    }).id;
    expect(() => typedRun(workspace.runs.get(badIds))).toThrow(
      `run ${badIds} (pretrain) has a stored config.data.valImageIds ` +
        `this version cannot read: expected a list of image ids`,
    );
    const pretrain = workspace.runs.create({
      projectId,
      kind: 'pretrain',
      config: { ...PLAN, fromANewerVersion: true },
    }).id;
    const probe = workspace.runs.create({
      projectId,
      kind: 'probe',
      config: { pretrainRunId: pretrain, method: 'linear', pooling: 'mean', k: 20 },
      parentRunId: pretrain,
    }).id;
    workspace.runs.setStatus(probe, 'completed');
    workspace.runs.setResult(probe, { ...PROBE_REPORT, pretrained: { accuracy: 0.9 } });
    expect(() => probeReport(workspace.runs.get(probe))).toThrow(
      `run ${probe} (probe) has a stored result.pretrained.perClass this version cannot read`,
    );
    expect(typedRun(workspace.runs.get(pretrain)).config).toMatchObject({ fromANewerVersion: true });
  });
});

describe('withRunStatus', () => {
  it('marks a run failed with the reason when its work throws, rethrows, and leaves a finished run', async () => {
    const id = workspace.runs.create({ projectId, kind: 'probe', config: {} }).id;
    workspace.runs.setStatus(id, 'running');
    await expect(
      withRunStatus(workspace.runs, id, async () => {
        throw new Error('image 3 could not be decoded');
      }),
    ).rejects.toThrow('image 3 could not be decoded');
    expect(workspace.runs.get(id)).toMatchObject({ status: 'failed', error: 'image 3 could not be decoded' });

    const done = workspace.runs.create({ projectId, kind: 'probe', config: {} }).id;
    expect(
      await withRunStatus(workspace.runs, done, async () => {
        workspace.runs.setStatus(done, 'completed');
        return 7;
      }),
    ).toBe(7);
    expect(workspace.runs.get(done).status).toBe('completed');
  });

  it('keeps the original error when the run does not exist', async () => {
    await expect(
      withRunStatus(workspace.runs, 999, async () => {
        throw new Error('run 999 not found');
      }),
    ).rejects.toThrow('run 999 not found');
  });
});
