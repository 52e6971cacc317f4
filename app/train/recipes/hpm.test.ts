import { spawnSync } from 'node:child_process';
import { torchPython } from '../../mae/torch-python.fixtures';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { scriptModel } from '../../handoff/handoff';
import { validateMaeConfig, type MaeConfig } from '../../mae/config';
import { useCpuBackend } from '../../mae/mae.fixtures';
import { shuffleOrder } from '../../mae/masking';
import { createMae, disposeModel, forwardMae } from '../../mae/model';
import { Rng } from '../../mae/rng';
import { oursToOfficial } from '../../mae/weights/layouts';
import { validateTrainConfig, type TrainConfig } from '../config';
import { estimateTrainingMemory } from '../memory-estimate';
import { syntheticSource } from '../synthetic';
import { MaeTrainer } from '../trainer';
import { trainTo } from '../trainer.fixtures';
import { domainRecipeSummary } from './domain-recipes';
import { hardPatchMasks, hardShareAt, predictPatchLosses, teacherDecayAt } from './hpm';

beforeAll(useCpuBackend);

/** 16×16 RGB images in 4×4 patches (16 patches), widths of 16: a few ms per step on the cpu backend. */
const TINY: MaeConfig = validateMaeConfig({
  imgSize: 16,
  patchSize: 4,
  inChans: 3,
  embedDim: 16,
  depth: 1,
  numHeads: 2,
  decoderEmbedDim: 16,
  decoderDepth: 1,
  decoderNumHeads: 2,
  mlpRatio: 2,
  normPixLoss: true,
  lossPredictorWeight: 1,
});

const HPM_RUN: Partial<TrainConfig> = {
  model: { ...TINY, lossPredictorWeight: undefined },
  batchSize: 8,
  totalSteps: 30,
  warmupSteps: 4,
  lrRule: 'linear',
  blr: 0.03,
  seed: 3,
  domainRecipe: { name: 'hpm', finalHardShare: 0.5, lossPredictorWeight: 1 },
};
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

describe('HPM masks and schedule', () => {
  it('masks the predicted-hardest share of the masked patches for certain, and the rest at random', () => {
    // 2 images of 16 patches, 4 kept: 12 masked, 6 of them the hardest at share 0.5
    const predicted = Float32Array.from({ length: 32 }, (_, i) => ((i * 7) % 16) + (i >= 16 ? 100 : 0));
    const hardest = (b: number) =>
      Array.from({ length: 16 }, (_, i) => i)
        .sort((i, j) => predicted[b * 16 + j]! - predicted[b * 16 + i]!)
        .slice(0, 6);
    const seen = new Set<string>();
    for (let seed = 0; seed < 20; seed++) {
      const masks = hardPatchMasks(predicted, 2, 4, 0.5, Rng.fromSeed(seed));
      expect(masks.numKeep).toBe(4);
      for (let b = 0; b < 2; b++) {
        for (const patch of hardest(b)) expect(masks.mask[b * 16 + patch]).toBe(1);
        expect(masks.mask.subarray(b * 16, b * 16 + 16).reduce((a, v) => a + v, 0)).toBe(12);
      }
      seen.add(Array.from(masks.mask).join(''));
    }
    expect(seen.size).toBeGreaterThan(15); // the other 6 masked patches are drawn at random
    // share 0: every patch may be kept (the plain random masking)
    const kept = new Set<number>();
    for (let seed = 0; seed < 40; seed++)
      for (const patch of hardPatchMasks(predicted, 2, 4, 0, Rng.fromSeed(seed)).keep.subarray(0, 4)) kept.add(patch);
    expect(kept.size).toBe(16);
  });

  it('grows the hard share linearly to its final value at the last step; the teacher averages over more steps', () => {
    expect(hardShareAt(0, 1000, 0.5)).toBeCloseTo(0.0005, 6);
    expect(hardShareAt(499, 1000, 0.5)).toBeCloseTo(0.25, 6);
    expect(hardShareAt(999, 1000, 0.5)).toBe(0.5);
    expect(teacherDecayAt(0, 1000)).toBeCloseTo(1 - 1 / 4, 6); // window 0.4 % of the run
    expect(teacherDecayAt(125, 1000)).toBeCloseTo(1 - 1 / 40, 6); // 4 % from the first eighth on
    expect(teacherDecayAt(900, 1000)).toBeCloseTo(1 - 1 / 40, 6);
    expect(teacherDecayAt(0, 250_000)).toBeCloseTo(0.999, 6); // the reference's decays at its length
    expect(teacherDecayAt(200_000, 250_000)).toBeCloseTo(0.9999, 6);
  });

  it('adds the loss predictor to the model, checks its options and names the paper', () => {
    const config = validateTrainConfig(HPM_RUN);
    expect(config.model.lossPredictorWeight).toBe(1);
    expect(() =>
      validateTrainConfig({ ...HPM_RUN, domainRecipe: { name: 'hpm', finalHardShare: 1.5, lossPredictorWeight: 1 } }),
    ).toThrow('train.hardPatchShare must be between 0 and 1, got 1.5');
    const summary = domainRecipeSummary(config.domainRecipe);
    expect(summary).toMatchObject({ name: 'hpm', label: 'HPM (hard patches mining)', reconstructs: true });
    expect(summary.citation).toContain('Hard Patches Mining for Masked Image Modeling');
    expect(summary.details).toContain('growing from 0 to 0.5 over training');
    // a second decoder stack, its pairwise terms and the teacher's weights: the memory estimate counts them
    const plain = estimateTrainingMemory(validateTrainConfig({ ...HPM_RUN, domainRecipe: undefined }));
    const mined = estimateTrainingMemory(config);
    expect(mined.parameters).toBeGreaterThan(plain.parameters);
    expect(mined.parameterBytes / mined.parameters).toBe(20);
    expect(mined.activationBytes).toBeGreaterThan(1.3 * plain.activationBytes);
  });
});

describe.skipIf(!torchPython && process.env.CI !== 'true')('HPM against a PyTorch re-implementation', () => {
  it('gives the same loss and patch-embedding gradient on the same weights, images and mask', async () => {
    const model = createMae(TINY, 11);
    const rng = Rng.fromSeed(12);
    const images = Float32Array.from({ length: 2 * 3 * 16 * 16 }, () => rng.normal());
    const imgs = tf.tensor4d(images, [2, 3, 16, 16]);
    // the mask HPM draws: the model's own predicted losses, half the masked patches the hardest
    const predicted = predictPatchLosses(model, imgs);
    const masks = hardPatchMasks(predicted.dataSync() as Float32Array, 2, 4, 0.5, Rng.fromSeed(13));
    predicted.dispose();
    const embedding = model.params.get('patch_embed.proj.weight')!;
    const { value, grads } = tf.variableGrads(() => forwardMae(model, imgs, masks).loss, [embedding]);
    const loss = value.dataSync()[0]!;
    const gradient = oursToOfficial(
      'patch_embed.proj.weight',
      embedding.shape,
      grads[embedding.name]!.dataSync() as Float32Array,
      TINY,
    ).data;
    const state = Object.fromEntries(
      [...model.params].map(([name, variable]) => {
        const official = oursToOfficial(name, variable.shape, variable.dataSync() as Float32Array, TINY);
        return [name, { shape: official.shape, data: Array.from(official.data) }];
      }),
    );
    const shuffle = shuffleOrder(masks);
    const job = {
      model: scriptModel(TINY),
      state: {
        ...state,
        pos_embed: { shape: [1, 17, 16], data: Array.from(model.posEmbed.dataSync()) },
        decoder_pos_embed: { shape: [1, 17, 16], data: Array.from(model.decoderPosEmbed.dataSync()) },
      },
      images: Array.from(images),
      ids_shuffle: [Array.from(shuffle.subarray(0, 16)), Array.from(shuffle.subarray(16))],
      mask_ratio: 0.75,
      weight: 1,
    };
    const result = spawnSync(torchPython ?? 'python3', [path.join(import.meta.dirname, 'hpm_reference.py')], {
      input: JSON.stringify(job),
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    const torch = JSON.parse(result.stdout) as { loss: number; relative: number; patch_embed_grad: number[] };
    const gradientError = Math.max(...torch.patch_embed_grad.map((g, i) => Math.abs(g - gradient[i]!)));
    if (process.env.RECIPE_LOSSES)
      console.log('HPM parity', { loss, torch: torch.loss, relative: torch.relative, gradientError });
    expect(torch.relative).toBeGreaterThan(0.1); // the ranking term is part of what is compared
    expect(Math.abs(loss - torch.loss)).toBeLessThan(1e-4);
    expect(gradientError).toBeLessThan(1e-4);
    expect(Math.max(...gradient.map(Math.abs))).toBeGreaterThan(1e-3); // a gradient that could differ
    tf.dispose([value, ...Object.values(grads), imgs]);
    disposeModel(model);
  });
});

describe('HPM training', () => {
  it('loss falls over 30 steps with masks from the teacher, no leaks; a checkpoint keeps the teacher', async () => {
    const trainer = MaeTrainer.create(HPM_RUN, syntheticSource({ imgSize: 16, channels: 3 }));
    expect(trainer.teacher).not.toBeNull();
    await trainer.trainStep();
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    await trainTo(trainer, HPM_RUN.totalSteps!, (step) => losses.push(step.loss));
    expect(tf.memory().numTensors).toBe(before);
    expect(losses.every(Number.isFinite)).toBe(true);
    if (process.env.RECIPE_LOSSES)
      console.log('HPM', mean(losses.slice(0, 5)).toFixed(4), '→', mean(losses.slice(-8)).toFixed(4));
    expect(mean(losses.slice(-8))).toBeLessThan(0.85 * mean(losses.slice(0, 5)));
    // the teacher moved towards the student, and is not the student
    const name = 'decoder_pred_losspred.weight';
    const teacher = trainer.teacher!.model.params.get(name)!.dataSync();
    const student = trainer.model.params.get(name)!.dataSync();
    expect(teacher.some((value, i) => value !== student[i])).toBe(true);
    // the checkpoint keeps the teacher apart from the student
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hpm-')), 'step30.safetensors');
    await trainer.saveCheckpoint(file);
    const resumed = await MaeTrainer.resume(file, syntheticSource({ imgSize: 16, channels: 3 }));
    expect(Array.from(resumed.teacher!.model.params.get(name)!.dataSync())).toEqual(Array.from(teacher));
    // decay 0 copies the student (what a run starting from published weights does)
    trainer.teacher!.update(trainer.model, 0);
    expect(Array.from(trainer.teacher!.model.params.get(name)!.dataSync())).toEqual(Array.from(student));
    resumed.dispose();
    fs.rmSync(path.dirname(file), { recursive: true });
    trainer.dispose();
  });
});
