/**
 * The training services as the UI uses them: recipe defaults and checks, mask previews from the
 * engine's masking, a tiny run with live events and reconstruction grids, pause and resume with
 * a continuous loss curve, history and deletion with the run's files.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunChanged, TrainingProgress } from '../contract';
import { writeSample } from '../data/synthetic/datasets';
import { Studio } from '../studio';
import { maeConfigFromParts } from '../mae/config';
import { createMae, disposeModel } from '../mae/model';
import { useCpuBackend } from '../mae/mae.fixtures';
import { timmStateDict } from '../export/timm';
import { encodeSafetensors } from '../mae/weights/safetensors';
import { buildPretrainPlan } from './pretrain-plan';
import { recipeSummary } from './recipe';
import { runFolder } from './run-files';

let dir: string;
let studio: Studio;
let projectId: number;
const progress: TrainingProgress[] = [];
const changes: RunChanged[] = [];

const TINY = {
  imgSize: 32,
  patchSize: 8,
  depth: 1,
  decoder: '32x1',
  batchSize: 4,
  steps: 12,
  blr: 5e-3,
  seed: 3,
  backend: 'cpu',
} as const;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-studio-training-'));
  const sample = await writeSample(path.join(dir, 'sample'), { domain: 'microscopy', count: 24, seed: 5 });
  studio = new Studio(path.join(dir, 'ws'));
  projectId = studio.workspace.projects.create('Cells', 'microscopy').id;
  await studio.runImport('test', projectId, [sample.dir]);
  studio.events.on('trainingProgress', (event) => progress.push(event));
  studio.events.on('runChanged', (event) => changes.push(event));
}, 120_000);
afterAll(async () => {
  await studio.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function until(runId: number, status: string): Promise<void> {
  await expect.poll(() => studio.workspace.runs.get(runId).status, { timeout: 60_000, interval: 100 }).toBe(status);
  await expect
    .poll(async () => (await studio.services.training.active()).some((run) => run.id === runId), { timeout: 10_000 })
    .toBe(false);
}

describe('training services', () => {
  it('offers the engine defaults with a sentence per field, the model sized to the project', async () => {
    const defaults = await studio.services.training.defaults(projectId);
    expect(defaults.recipe).toMatchObject({ maskRatio: 0.75, patchSize: 16, maskStrategy: 'random' });
    // 21 training images of 64–96 px: their own size in whole patches, the compact model (model-sizing.ts), and why
    expect(defaults.recipe).toMatchObject({ imgSize: 80, depth: 4, decoder: '128x2' });
    expect(defaults.modelSizing).toMatch(
      /^Sized to this project \(21 training images of about 80 px\): 80 px, 4 encoder blocks, decoder 128×2; /,
    );
    // The CLI's check of a recipe that leaves the model unset plans the same model and says why.
    const unset = await studio.services.training.check(projectId, { steps: 1, backend: 'cpu' });
    expect(unset.sizing).toBe(defaults.modelSizing);
    expect((await studio.services.training.check(projectId, TINY)).sizing).toBeNull();
    expect(defaults.help.maskRatio).toMatch(/75%/);
    expect(defaults.recipe.normPixLoss).toBe(true);
    expect(defaults.dataset.usable).toBe(24);
  });

  it('names the field of a recipe that cannot work, and refuses a batch beyond memory', async () => {
    const ratio = await studio.services.training.check(projectId, { ...TINY, maskRatio: 1.2 });
    expect(ratio.errors).toEqual([
      { field: 'maskRatio', message: expect.stringMatching(/^Mask ratio must be between 0 and 1.*got 1.2$/) },
    ]);
    const divisible = await studio.services.training.check(projectId, { ...TINY, imgSize: 30 });
    expect(divisible.errors[0]).toMatchObject({ field: 'imgSize', message: expect.stringMatching(/divisible/) });
    const huge = await studio.services.training.check(projectId, {
      preset: 'vit-base',
      imgSize: 1024,
      patchSize: 8,
      batchSize: 4096,
    });
    expect(huge.memory?.fits).toBe(false);
    expect(huge.errors[0]).toMatchObject({
      field: 'batchSize',
      message: expect.stringMatching(
        /^Batch size 4096 needs about [\d.]+ [GT]B per step; this machine can spare [\d.]+ GB/,
      ),
    });
    const fine = await studio.services.training.check(projectId, TINY);
    expect(fine).toMatchObject({ ok: true, errors: [], totalSteps: 12, time: null });
  });

  it('checks a half-typed form: every field at once, in plain words, with empty fields named', async () => {
    const draft = await studio.services.training.check(projectId, {
      ...TINY,
      batchSize: 0,
      depth: 1000,
      imgSize: null,
      steps: undefined,
      epochs: -1,
    });
    expect(draft).toMatchObject({ ok: false, totalSteps: null, memory: null });
    expect(draft.errors).toEqual([
      { field: 'imgSize', message: 'Image size is empty: enter a whole number' },
      { field: 'depth', message: 'Encoder blocks can be at most 64' },
      { field: 'batchSize', message: 'Batch size must be a whole number of at least 1' },
      { field: 'epochs', message: 'Epochs must be a whole number of at least 1' },
    ]);
  });

  it('estimates the run from a warm-up (start-up, steps, validation, grids, checkpoints), kept on resize', async () => {
    const estimate = await studio.services.training.estimate(projectId, TINY);
    expect(estimate).toMatchObject({ backend: 'cpu', measuredSteps: 3 });
    const { parts } = estimate.time;
    expect(parts.startup).toBeGreaterThan(0);
    expect(parts.validation).toBeGreaterThan(0);
    expect(parts.checkpoints).toBeGreaterThan(0);
    expect(estimate.time.seconds).toBeCloseTo(
      parts.startup + parts.steps + parts.validation + parts.reconstruction + parts.checkpoints,
      6,
    );
    expect(parts.steps).toBeCloseTo((11 * estimate.msPerStep) / 1000, 6);
    // Only the length differs: the same measurement, a longer run.
    const longer = await studio.services.training.check(projectId, { ...TINY, steps: 24 });
    expect(longer.time!.seconds).toBeGreaterThan(estimate.time.seconds);
    expect(longer.time).toMatchObject({ measuredSteps: 3, backend: 'cpu' });
    // A different cost per step has not been measured.
    expect((await studio.services.training.check(projectId, { ...TINY, batchSize: 2 })).time).toBeNull();
  }, 60_000);

  it('plans the loss on the pixels themselves when asked (flat, noisy images); the run recipe says so', async () => {
    const plain = buildPretrainPlan(studio.workspace, projectId, { ...TINY, normPixLoss: false });
    expect(plain.recipe.model.normPixLoss).toBe(false);
    expect(recipeSummary(plain).normPixLoss).toBe(false);
    expect(recipeSummary(buildPretrainPlan(studio.workspace, projectId, TINY)).normPixLoss).toBe(true);
    expect(await studio.services.training.check(projectId, { ...TINY, normPixLoss: false })).toMatchObject({
      ok: true,
    });
    const wrong = await studio.services.training.check(projectId, { ...TINY, normPixLoss: 'no' as unknown as boolean });
    expect(wrong.errors).toEqual([
      { field: 'normPixLoss', message: 'Loss target must be normalised per patch or pixels' },
    ]);
  });

  it('checks starting weights as the user types: what loads, what adapts, a clear error for a bad file', async () => {
    // timm-layout ViT weights for 3 channels, the recipe's width and depth (the project's images have their own channel
    // count).
    await useCpuBackend();
    const donor = createMae(maeConfigFromParts('vit-tiny', 8, '128x2', { imgSize: 32, depth: 1, inChans: 3 }), 9);
    const file = path.join(dir, 'donor.safetensors');
    fs.writeFileSync(file, encodeSafetensors(timmStateDict(donor, null), { format: 'pt' }));
    disposeModel(donor);
    const checked = await studio.services.training.check(projectId, { ...TINY, init: file });
    expect(checked.ok).toBe(true);
    expect(checked.init?.[0]).toMatch(/init from .*donor\.safetensors \(timm layout\): \d+ tensors loaded/);
    expect(checked.init?.join('\n')).toMatch(/kept fresh: .*decoder/);
    const missing = await studio.services.training.check(projectId, { ...TINY, init: path.join(dir, 'nope.pth') });
    expect(missing.errors).toEqual([{ field: 'init', message: expect.stringMatching(/no file at .*nope\.pth/) }]);
    const deeper = await studio.services.training.check(projectId, { ...TINY, depth: 2, init: file });
    expect(deeper.errors[0]).toMatchObject({ field: 'init' });
  });

  it('previews masks with the engine masking: the ratio holds and a seed is reproducible', async () => {
    const image = studio.workspace.images.list({ projectId, offset: 0, limit: 1, sort: 'path', status: 'ok' })
      .images[0]!;
    const preview = await studio.services.training.previewMask({
      imageId: image.id,
      strategy: 'block',
      maskRatio: 0.75,
      patchSize: 16,
      imgSize: 224,
      seed: 4,
    });
    expect(preview.gridSide).toBe(14);
    expect(preview.mask.filter((m) => m === 0)).toHaveLength(preview.numKeep);
    expect(preview.numKeep).toBe(49);
    expect(preview.dataUrl).toMatch(/^data:image\/png;base64,/);
    const again = await studio.services.training.previewMask({
      imageId: image.id,
      strategy: 'block',
      maskRatio: 0.75,
      patchSize: 16,
      imgSize: 224,
      seed: 4,
    });
    expect(again.mask).toEqual(preview.mask);
    const other = await studio.services.training.previewMask({
      imageId: image.id,
      strategy: 'block',
      maskRatio: 0.75,
      patchSize: 16,
      imgSize: 224,
      seed: 5,
    });
    expect(other.mask).not.toEqual(preview.mask);
  });

  it('trains a run live, pauses and resumes it, the loss curve continuing, then deletes it and its files', async () => {
    expect((await studio.services.training.defaults(projectId)).last).toBeNull();
    const started = await studio.services.training.start(projectId, TINY);
    const runId = started.id;
    // The dialog reopens with the values of the last run started in this project.
    expect((await studio.services.training.defaults(projectId)).last).toEqual(TINY);
    await expect
      .poll(() => progress.some((p) => p.runId === runId && p.type === 'step' && p.step >= 3), {
        timeout: 60_000,
        interval: 50,
      })
      .toBe(true);
    await studio.services.training.pause(runId);
    await until(runId, 'paused');
    const paused = await studio.services.runs.get(runId);
    expect(paused.checkpointStep).toBe(paused.step);
    expect(paused.step).toBeLessThan(12);

    await studio.services.training.resume(runId);
    await until(runId, 'completed');
    const [loss, val] = await studio.services.runs.metrics(runId, {
      names: ['train_loss', 'val_loss'],
      maxPoints: 4000,
    });
    expect(loss!.steps).toEqual([...Array(12)].map((_, i) => i + 1));
    expect(val!.values.length).toBeGreaterThan(0);
    const step = progress.find((p) => p.runId === runId && p.type === 'step');
    expect(step).toMatchObject({ type: 'step', totalSteps: 12 });
    expect((step as { rssBytes: number }).rssBytes).toBeGreaterThan(0);
    // Measured before it started (the warm-up test above): its ETA starts from the warm-up, then
    // follows its own pace once 3 steps are timed.
    const steps = progress.filter(
      (p): p is Extract<TrainingProgress, { type: 'step' }> => p.runId === runId && p.type === 'step',
    );
    expect(steps[0]).toMatchObject({ step: 1, etaBasis: 'warm-up', etaMeasuredSteps: 0 });
    expect(steps.some((p) => p.etaBasis === 'run' && p.etaMeasuredSteps! >= 3)).toBe(true);
    expect(steps.at(-1)).toMatchObject({ step: 12, etaSeconds: 0 });

    const grid = await studio.services.runs.reconstruction(runId);
    expect(grid).toMatchObject({ runId, step: 12, dataUrl: expect.stringMatching(/^data:image\/png;base64,/) });
    const [history] = await studio.services.runs.list(projectId);
    expect(history).toMatchObject({
      id: runId,
      status: 'completed',
      step: 12,
      recipe: { imgSize: 32, patchSize: 8, maskRatio: 0.75 },
    });
    expect(history!.finalTrainLoss).toBeGreaterThan(0);

    const checkpoints = studio.workspace.runs.checkpoints(runId).map((c) => c.path);
    expect(checkpoints.length).toBeGreaterThan(0);
    await studio.services.runs.remove(runId);
    for (const file of checkpoints) expect(fs.existsSync(file)).toBe(false);
    expect(fs.existsSync(runFolder(studio.workspace.projectDir(projectId), runId))).toBe(false);
    await expect(Promise.resolve().then(() => studio.services.runs.get(runId))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(changes.at(-1)).toMatchObject({ runId, status: 'deleted' });
  }, 120_000);
});
