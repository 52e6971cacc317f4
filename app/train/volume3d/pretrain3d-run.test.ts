/**
 * A 3-D MAE run as a user has one: eight generated thick-slice NIfTI volumes in two labelled
 * folders imported into a project, the suggestion read from their spacing, a tiny run planned
 * (split by volume), trained in this process with validation and reconstruction slices, paused
 * and resumed with the losses of an uninterrupted run, exported (safetensors + ONNX) and probed on
 * per-volume labels with its random-init baseline.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporaryFolder, temporaryWorkspace } from '../../data/images.fixtures';
import { makeNifti } from '../../data/formats/nifti.fixtures';
import { exportRun } from '../../export/export-run';
import { exportServices } from '../../export/services';
import { evaluationServices } from '../evaluation-services';
import { RunProcesses } from '../run-processes';
import { StudioEvents } from '../../rpc';
import { executeProbe } from '../probe-run';
import { planProbe } from '../probe-plan';
import { listReconstructionGrids, runFolder } from '../run-files';
import { buildPretrain3dPlan, estimateVolume3dMemory, recipeSummary3d, volumeRunDefaults } from './plan3d';
import { executePretrain3d } from './pretrain3d-run';
import { Trainer3d } from './trainer3d';
import { NonFiniteLossError } from '../trainer-errors';
import { selectBackend } from '../../runtime/backend';

let data: ReturnType<typeof temporaryFolder>;
let space: ReturnType<typeof temporaryWorkspace>;
/** The uninterrupted run of the training test, exported and probed after it. */
let trainedRunId: number;

/** 16 × 16 × 8 voxels (i, j, k) of 0.7 × 0.7 × 2.1 mm: class `a` bright left, class `b` bright at the top. */
function volume(label: 'a' | 'b', seed: number): Uint8Array {
  const values = new Array<number>(16 * 16 * 8);
  for (let k = 0; k < 8; k++)
    for (let j = 0; j < 16; j++)
      for (let i = 0; i < 16; i++) {
        const noise = ((i * 31 + j * 17 + k * 13 + seed * 7) % 23) * 4;
        const signal = label === 'a' ? (i < 8 ? 600 : 0) : j < 8 ? 600 : 0;
        values[i + 16 * (j + 16 * k)] = signal + noise;
      }
  return makeNifti({ datatype: 4, dims: [16, 16, 8], values, pixdim: [0.7, 0.7, 2.1], gzip: true });
}

const RECIPE = {
  crop: [8, 16, 16] as [number, number, number],
  patch: [4, 8, 8] as [number, number, number],
  preset: 'vit-tiny' as const,
  depth: 1,
  decoder: '32x1',
  batchSize: 2,
  steps: 4,
  valFraction: 0.25,
  seed: 3,
  backend: 'cpu' as const,
};

beforeAll(async () => {
  data = temporaryFolder();
  space = temporaryWorkspace();
  for (const label of ['a', 'b'] as const) {
    fs.mkdirSync(path.join(data.dir, label));
    for (let n = 0; n < 4; n++) fs.writeFileSync(path.join(data.dir, label, `${label}${n}.nii.gz`), volume(label, n));
  }
  const result = await space.importFolder(data.dir);
  expect(result.errors).toEqual([]);
});
afterAll(() => {
  space.remove();
  data.remove();
});

function losses(runId: number): number[] {
  return space.workspace.runs.series(runId, 'train_loss').values;
}

describe('a 3-D MAE run', () => {
  it('suggests thick-slice patches from the spacing and splits by volume', () => {
    const { workspace, projectId } = space;
    const defaults = volumeRunDefaults(workspace, projectId);
    expect(defaults).toMatchObject({ available: true, volumes: 8, smallest: [8, 16, 16] });
    expect(defaults.spacing).toEqual([2.1, 0.7, 0.7].map((value) => expect.closeTo(value, 5)));
    // 3× thick: 4 slices deep, halved in plane until the 8×16×16 volumes hold 8 patches.
    expect(defaults.suggestion).toMatchObject({ patch: [4, 8, 8], crop: [8, 16, 16], resample: 'none' });
    expect(defaults.suggestion!.reason).toMatch(/^Thick slices .* 3\.0×\): 4×8×8 patches span 8\.4 × 5\.6 × 5\.6 mm/);
    const plan = buildPretrain3dPlan(workspace, projectId, RECIPE);
    const train = plan.data.trainVolumes.map((volume) => volume.key);
    const val = plan.data.valVolumes.map((volume) => volume.key);
    expect(train.length + val.length).toBe(8);
    expect(val.length).toBe(2); // one volume of each label
    expect(train.filter((key) => val.includes(key))).toEqual([]);
    expect(new Set(plan.data.valVolumes.map((volume) => volume.label))).toEqual(new Set(['a', 'b']));
    // The memory rule's estimate: a tiny run is megabytes; 65 536 tokens of a whole CT need over 100 GB.
    expect(estimateVolume3dMemory(plan).totalBytes).toBeLessThan(100e6);
    const whole = { ...plan.volume3d.model, volumeSize: [256, 512, 512] as const, patchSize: [4, 16, 16] as const };
    expect(
      estimateVolume3dMemory({ ...plan, volume3d: { ...plan.volume3d, model: whole } }).totalBytes,
    ).toBeGreaterThan(100e9);
    expect(() =>
      buildPretrain3dPlan(workspace, projectId, { ...RECIPE, crop: [16, 16, 16], patch: [4, 8, 8] }),
    ).toThrow(
      /crop 16×16×16 \(slices×rows×columns\) does not fit .*\.nii\.gz, which is 8×16×16; choose a smaller crop/,
    );
  });

  it('resamples to isotropic voxels when asked, says so in the plan, and trains on them', async () => {
    const { workspace, projectId } = space;
    // 8 slices of 2.1 mm are 24 slices of 0.7 mm: a 16-slice crop fits only resampled.
    const recipe = {
      ...RECIPE,
      crop: [16, 16, 16] as [number, number, number],
      patch: [8, 8, 8] as [number, number, number],
    };
    expect(() => buildPretrain3dPlan(workspace, projectId, recipe)).toThrow(/which is 8×16×16; choose a smaller crop/);
    const plan = buildPretrain3dPlan(workspace, projectId, { ...recipe, resample: 'isotropic' });
    expect(plan.volume3d.resample).toBe('isotropic');
    expect(plan.volume3d.why).toMatch(/^Volumes resampled to isotropic voxels \(the finest spacing of each\)/);
    expect(buildPretrain3dPlan(workspace, projectId, RECIPE).volume3d.why).toMatch(/^Thick slices/);
    const runId = workspace.runs.create({
      projectId,
      kind: 'pretrain',
      config: { ...plan, recipe: { ...plan.recipe, totalSteps: 1 } },
    }).id;
    expect(await executePretrain3d(workspace.root, runId)).toMatchObject({ status: 'completed', step: 1 });
    expect(workspace.runs.series(runId, 'val_loss').values.every(Number.isFinite)).toBe(true);
  });

  it('masks with the chosen strategy, and a run planned before strategies reads as random', async () => {
    const { workspace, projectId } = space;
    const first = async (maskStrategy?: 'block') => {
      const plan = buildPretrain3dPlan(workspace, projectId, { ...RECIPE, ...(maskStrategy && { maskStrategy }) });
      const config = { ...plan, recipe: { ...plan.recipe, totalSteps: 1 } };
      const runId = workspace.runs.create({ projectId, kind: 'pretrain', config }).id;
      expect(await executePretrain3d(workspace.root, runId)).toMatchObject({ status: 'completed', step: 1 });
      return { plan, loss: losses(runId)[0]! };
    };
    const random = await first();
    const block = await first('block');
    expect(random.plan.recipe.maskStrategy).toBe('random');
    expect(recipeSummary3d(block.plan).maskStrategy).toBe('block');
    // Same seed, crops and weights: only the masks differ, so the first loss does.
    expect(block.loss).not.toBeCloseTo(random.loss, 6);
    const { maskStrategy: _, ...older } = random.plan.recipe;
    expect(recipeSummary3d({ ...random.plan, recipe: older }).maskStrategy).toBe('random');
  });

  it('trains with validation and slices, and a paused run resumes with the same losses', async () => {
    const { workspace, projectId } = space;
    const plan = buildPretrain3dPlan(workspace, projectId, RECIPE);
    const whole = workspace.runs.create({ projectId, kind: 'pretrain', config: plan }).id;
    trainedRunId = whole;
    const ended = await executePretrain3d(workspace.root, whole, { reconstructEvery: 2 });
    expect(ended).toMatchObject({ status: 'completed', step: 4 });
    const reference = losses(whole);
    expect(reference).toHaveLength(4);
    expect(reference.every(Number.isFinite)).toBe(true);
    expect(workspace.runs.series(whole, 'val_loss').steps).toEqual([4]);

    // The reconstruction as slices: three planes (rows) × input | masked | reconstruction.
    const dir = runFolder(workspace.projectDir(projectId), whole);
    expect(listReconstructionGrids(dir).map((grid) => grid.step)).toEqual([0, 2, 4]);
    const { data: pixels, info } = await sharp(path.join(dir, listReconstructionGrids(dir).at(-1)!.file))
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(info.width).toBeGreaterThan(3 * 128);
    let maskedPixels = 0;
    for (let at = 0; at < pixels.length; at += info.channels)
      if (pixels[at] === 52 && pixels[at + 1] === 60 && pixels[at + 2] === 84) maskedPixels += 1;
    expect(maskedPixels).toBeGreaterThan(0);

    const paused = workspace.runs.create({ projectId, kind: 'pretrain', config: plan }).id;
    const pause = new AbortController();
    const first = await executePretrain3d(workspace.root, paused, {
      pause: pause.signal,
      onProgress: (progress) => {
        if (progress.type === 'step' && progress.step === 2) pause.abort();
      },
    });
    expect(first).toMatchObject({ status: 'paused', step: 2 });
    expect(workspace.runs.latestCheckpoint(paused)?.step).toBe(2);
    const second = await executePretrain3d(workspace.root, paused, { resume: true });
    expect(second).toMatchObject({ status: 'completed', step: 4 });
    expect(losses(paused)).toEqual(reference);
  });

  it('exports the encoder (safetensors + config, ONNX) and probes per-volume labels beside random init', async () => {
    const { workspace, projectId } = space;
    const runId = trainedRunId;
    const out = temporaryFolder();
    try {
      const safetensors = await exportRun(workspace, runId, 'safetensors', path.join(out.dir, 'st'));
      expect(safetensors.files.map((file) => file.name).sort()).toEqual(['config.json', 'model.safetensors']);
      const config = JSON.parse(fs.readFileSync(path.join(out.dir, 'st', 'config.json'), 'utf8'));
      expect(config.args).toMatchObject({ volume_size: [8, 16, 16], patch_size: [4, 8, 8], in_chans: 1, depth: 1 });
      expect(fs.readFileSync(path.join(out.dir, 'st', 'MODEL_CARD.md'), 'utf8')).toContain(
        '6 training and 2 validation',
      );
      const onnx = await exportRun(workspace, runId, 'onnx', path.join(out.dir, 'onnx'));
      expect(onnx.files[0]!.name).toBe('model.onnx');
      await expect(exportRun(workspace, runId, 'tfjs', path.join(out.dir, 'tfjs'))).rejects.toThrow(
        /3-D MAE run: its encoder exports as safetensors or onnx/,
      );
    } finally {
      out.remove();
    }
    // Evaluate lists it as a model source, and Export previews its files, rather than failing on it.
    const sources = await evaluationServices(
      () => workspace,
      new RunProcesses(workspace, new StudioEvents(), () => ({})),
    ).evaluation.sources(projectId);
    expect(sources.find((source) => source.runId === runId)).toMatchObject({
      kind: 'pretrain',
      depth: 1,
      summary: '3-D ViT 192d×1, 8×16×16 / 4×8×8',
    });
    const preview = await exportServices(() => workspace).exports.preview(runId, 'onnx');
    expect(preview.files).toEqual(['model.onnx', 'model_card.json', 'MODEL_CARD.md']);
    expect(preview.contents[0]).toBe(
      'Encoder graph: input volumes [N, 1, 8, 16, 16] float32 → tokens and pooled features',
    );
    expect(() => planProbe(workspace, runId, { labelsPerClass: 2 })).toThrow(
      /3-D MAE run: its probe reads the encoder's last block \(1\) of every labelled volume/,
    );
    const probeId = planProbe(workspace, runId, { method: 'linear' });
    const report = await executeProbe(workspace.root, probeId);
    expect(report.classes).toEqual(['a', 'b']);
    expect([report.trainImages, report.valImages]).toEqual([6, 2]);
    expect(report.pretrained.accuracy).toBeGreaterThanOrEqual(0);
    expect(report.pretrained.images).toBe(2);
    expect(report.pretrained.interval).toBeDefined();
    expect(report.randomInit).toBeDefined();
    expect(report.gain?.randomInit).toBeDefined();
    expect(workspace.runs.get(probeId).status).toBe('completed');
  });

  it('refuses a step whose loss is not finite, leaving the weights and the step as they were', async () => {
    const { workspace, projectId } = space;
    await selectBackend('cpu');
    const trainer = Trainer3d.create(buildPretrain3dPlan(workspace, projectId, RECIPE));
    try {
      const before = trainer.model.params.get('patch_embed.proj.weight')!.dataSync().slice();
      const poisoned = {
        next: async (_rng: unknown, batchSize: number) => ({
          values: new Float32Array(batchSize * 8 * 16 * 16).fill(Number.NaN),
          shape: [batchSize, 1, 8, 16, 16] as [number, number, number, number, number],
        }),
      };
      await expect(trainer.trainStep(poisoned)).rejects.toThrow(NonFiniteLossError);
      await expect(trainer.trainStep(poisoned)).rejects.toThrow(/training diverged at step 1: the loss is NaN/);
      expect(trainer.step).toBe(0);
      expect(trainer.model.params.get('patch_embed.proj.weight')!.dataSync()).toEqual(before);
    } finally {
      trainer.dispose();
    }
  });
});
