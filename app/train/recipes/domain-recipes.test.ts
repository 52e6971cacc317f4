import * as tf from '@tensorflow/tfjs-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../data/batch';
import { useCpuBackend } from '../../mae/mae.fixtures';
import { randomMasking } from '../../mae/masking';
import { createMae, disposeModel, forwardMae } from '../../mae/model';
import { Rng } from '../../mae/rng';
import { validateTrainConfig, type TrainConfig } from '../config';
import { syntheticSource } from '../synthetic';
import { MaeTrainer } from '../trainer';
import { trainTo } from '../trainer.fixtures';
import { gaussianBlur } from './blur';
import { recipeBatch, type DomainRecipeConfig } from './domain-recipes';
import { hogPerPatch } from './hog';

beforeAll(useCpuBackend);

/** 16×16 images, 4×4 patches, 4 channels: a few ms per step on the cpu backend. */
const SMALL: Partial<TrainConfig> = {
  model: {
    imgSize: 16,
    patchSize: 4,
    inChans: 4,
    embedDim: 32,
    depth: 1,
    numHeads: 2,
    decoderEmbedDim: 32,
    decoderDepth: 1,
    decoderNumHeads: 2,
    mlpRatio: 4,
    normPixLoss: true,
  },
  batchSize: 8,
  totalSteps: 30,
  warmupSteps: 4,
  lrRule: 'linear',
  blr: 0.03,
  seed: 5,
};
const source = syntheticSource({ imgSize: 16, channels: 4 });
const SPECTRAL: DomainRecipeConfig = {
  name: 'fgmae',
  targets: ['hog', 'ndvi'],
  bands: { red: { channel: 0, name: 'red' }, nir: { channel: 3, name: 'nir' } },
  unscale: { scale: [1, 1, 1, 1], shift: [3, 3, 3, 3] }, // synthetic values become positive "reflectances"
};

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** Per-patch normalisation as the reference's norm_pix_loss, written out in plain numbers. */
function normalised(row: number[]): number[] {
  const average = mean(row);
  const variance = row.reduce((sum, value) => sum + (value - average) ** 2, 0) / (row.length - 1);
  return row.map((value) => (value - average) / Math.sqrt(variance + 1e-6));
}

describe('domain recipes', () => {
  it("leave the paper's MAE as it was: 'mae' plans no recipe and no extra head", () => {
    const plain = validateTrainConfig(SMALL);
    const named = validateTrainConfig({ ...SMALL, domainRecipe: { name: 'mae' } });
    expect(named).toEqual(plain);
    expect(plain.domainRecipe).toBeUndefined();
    expect(plain.model.featureHeads).toBeUndefined();
    const model = createMae(plain.model, 1);
    expect([...model.params.keys()].filter((name) => name.startsWith('decoder_pred'))).toEqual([
      'decoder_pred.weight',
      'decoder_pred.bias',
    ]);
    disposeModel(model);
  });

  it('give FG-MAE its own heads: HOG of C·4 cells·9 bins, indices of p² per index, no pixel head unless asked', () => {
    const config = validateTrainConfig({ ...SMALL, domainRecipe: SPECTRAL });
    expect(config.model.pixelHead).toBe(false);
    expect(config.model.featureHeads).toEqual([
      { name: 'hog', width: 4 * 4 * 9 },
      { name: 'indices', width: 16 },
    ]);
    const model = createMae(config.model, 1);
    expect(model.params.has('decoder_pred.weight')).toBe(false);
    expect(model.params.get('decoder_pred_hog.weight')!.shape).toEqual([32, 144]);
    expect(model.params.get('decoder_pred_indices.weight')!.shape).toEqual([32, 16]);
    disposeModel(model);
    const withPixels = validateTrainConfig({ ...SMALL, domainRecipe: { name: 'fgmae', targets: ['pixels', 'hog'] } });
    expect(withPixels.model.pixelHead).toBe(true);
  });

  it('refuse options that cannot work, naming the field', () => {
    expect(() => validateTrainConfig({ ...SMALL, domainRecipe: { name: 'deblur', blurSigma: 0 } })).toThrow(
      'train.blurSigma must be between 0.1 and 16 pixels, got 0',
    );
    expect(() => validateTrainConfig({ ...SMALL, domainRecipe: { name: 'fgmae', targets: [] } })).toThrow(
      /train\.featureTargets must name at least one of pixels, hog/,
    );
    expect(() => validateTrainConfig({ ...SMALL, domainRecipe: { name: 'fgmae', targets: ['ndvi'] } })).toThrow(
      'train.featureTargets must name bands for NDVI (nir, red missing)',
    );
  });

  it('deblurring: the encoder sees the blurred image, the loss is on the sharp masked patches', () => {
    const config = validateTrainConfig({ ...SMALL, model: { ...SMALL.model!, inChans: 1, normPixLoss: false } });
    const model = createMae(config.model, 2);
    const shape = { batchSize: 2, channels: 1, height: 16, width: 16 };
    const sharp = (syntheticSource({ imgSize: 16, channels: 1 }).next(Rng.fromSeed(1), 2) as Batch).images;
    const batch = recipeBatch({ name: 'deblur', blurSigma: 1.5 }, sharp, shape, 4);
    expect(batch.input).toEqual(gaussianBlur(sharp, shape, 1.5));
    expect(batch.pixels).toBe(sharp);
    const masks = randomMasking({ batchSize: 2, gridSide: 4, maskRatio: 0.75 }, Rng.fromSeed(3));
    const blurred = tf.tensor4d(batch.input, [2, 1, 16, 16]);
    const target = tf.tensor4d(sharp, [2, 1, 16, 16]);
    const deblurring = forwardMae(model, blurred, masks, { pixels: target });
    // Same prediction as the plain MAE on the blurred input; only the target differs.
    const plainOnBlurred = forwardMae(model, blurred, masks);
    expect(Array.from(deblurring.pred!.dataSync())).toEqual(Array.from(plainOnBlurred.pred!.dataSync()));
    // The loss by hand: squared error of the masked rows (shuffled order: after the visible ones) against the sharp
    // patches.
    const pred = deblurring.pred!.arraySync() as number[][][];
    const shuffle = (b: number) =>
      Array.from({ length: 16 }, (_, i) => i).sort((p, q) => masks.restore[b * 16 + p]! - masks.restore[b * 16 + q]!);
    let sum = 0;
    let count = 0;
    for (let b = 0; b < 2; b++) {
      const order = shuffle(b);
      for (let i = masks.numKeep; i < 16; i++) {
        const patch = order[i]!;
        const [row, column] = [Math.floor(patch / 4), patch % 4];
        for (let y = 0; y < 4; y++) {
          for (let x = 0; x < 4; x++) {
            sum += (pred[b]![i]![y * 4 + x]! - sharp[b * 256 + (row * 4 + y) * 16 + column * 4 + x]!) ** 2;
            count++;
          }
        }
      }
    }
    expect(deblurring.loss.dataSync()[0]).toBeCloseTo(sum / count, 5);
    tf.dispose([blurred, target, deblurring.loss, deblurring.pred!, plainOnBlurred.loss, plainOnBlurred.pred!]);
    disposeModel(model);
  });

  it('FG-MAE: a zeroed HOG head scores the mean squared per-patch-normalised HOG of the masked patches', () => {
    const config = validateTrainConfig({ ...SMALL, domainRecipe: { name: 'fgmae', targets: ['hog'] } });
    const model = createMae(config.model, 4);
    for (const name of ['decoder_pred_hog.weight', 'decoder_pred_hog.bias'])
      model.params.get(name)!.assign(tf.zerosLike(model.params.get(name)!));
    const shape = { batchSize: 2, channels: 4, height: 16, width: 16 };
    const images = (source.next(Rng.fromSeed(7), 2) as Batch).images;
    const hog = hogPerPatch(images, shape, 4); // [2, 16, 144]
    const masks = randomMasking({ batchSize: 2, gridSide: 4, maskRatio: 0.75 }, Rng.fromSeed(9));
    const imgs = tf.tensor4d(images, [2, 4, 16, 16]);
    const feature = tf.tensor3d(hog, [2, 16, 144]);
    const { loss } = forwardMae(model, imgs, masks, { features: { hog: feature } });
    const squares: number[] = [];
    for (let b = 0; b < 2; b++) {
      for (let patch = 0; patch < 16; patch++) {
        if (masks.mask[b * 16 + patch] !== 1) continue;
        squares.push(
          ...normalised(Array.from(hog.subarray((b * 16 + patch) * 144, (b * 16 + patch + 1) * 144))).map(
            (value) => value * value,
          ),
        );
      }
    }
    expect(loss.dataSync()[0]).toBeCloseTo(mean(squares), 4);
    expect(() => forwardMae(model, imgs, masks)).toThrow('feature head hog needs targets [2, 16, 144], got none');
    tf.dispose([imgs, feature, loss]);
    disposeModel(model);
  });

  it('FG-MAE resumes with the losses of an uninterrupted run (heads restored from the stored recipe)', async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-recipe-resume-'));
    try {
      const config = { ...SMALL, totalSteps: 4, domainRecipe: SPECTRAL };
      const straight = MaeTrainer.create(config, source);
      const expected: number[] = [];
      await trainTo(straight, config.totalSteps, (step) => expected.push(step.loss));
      straight.dispose();
      const file = path.join(directory, 'run.safetensors');
      const first = MaeTrainer.create(config, source);
      const losses: number[] = [];
      await trainTo(first, 2, (step) => losses.push(step.loss));
      await first.saveCheckpoint(file);
      first.dispose();
      const resumed = await MaeTrainer.resume(file, source);
      expect(resumed.model.params.has('decoder_pred_indices.weight')).toBe(true);
      await trainTo(resumed, config.totalSteps, (step) => losses.push(step.loss));
      resumed.dispose();
      expect(losses).toEqual(expected);
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });

  const recipes: [string, DomainRecipeConfig, number][] = [
    ['deblurring MAE', { name: 'deblur', blurSigma: 1 }, 1],
    ['FG-MAE on HOG + NDVI', SPECTRAL, 4],
    ['FG-MAE on pixels + HOG', { name: 'fgmae', targets: ['pixels', 'hog'] }, 4],
    [
      'SatMAE, 3 band groups masked apart',
      {
        name: 'satmae',
        groups: [
          [0, 1],
          [2, 3],
          [4, 5],
        ],
        spatialMask: false,
      },
      6,
    ],
    [
      'SatMAE, 2 band groups masked together',
      {
        name: 'satmae',
        groups: [
          [0, 2, 4],
          [1, 3],
        ],
        spatialMask: true,
      },
      6,
    ],
  ];
  for (const [name, domainRecipe, channels] of recipes) {
    it(`${name}: finite losses that fall within 30 steps on synthetic images, without leaking tensors`, async () => {
      const config = { ...SMALL, model: { ...SMALL.model!, inChans: channels }, domainRecipe };
      const trainer = MaeTrainer.create(config, syntheticSource({ imgSize: 16, channels }));
      await trainer.trainStep();
      const before = tf.memory().numTensors;
      const losses: number[] = [];
      await trainTo(trainer, SMALL.totalSteps!, (step) => losses.push(step.loss));
      expect(trainer.step).toBe(SMALL.totalSteps);
      expect(tf.memory().numTensors).toBe(before);
      expect(losses.every(Number.isFinite)).toBe(true);
      if (process.env.RECIPE_LOSSES)
        console.log(name, mean(losses.slice(0, 5)).toFixed(4), '→', mean(losses.slice(-8)).toFixed(4));
      expect(mean(losses.slice(-8))).toBeLessThan(0.85 * mean(losses.slice(0, 5)));
      trainer.dispose();
    });
  }
});
