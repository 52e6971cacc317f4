import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../data/batch';
import { masksForModel } from '../../mae/model-masks';
import { useCpuBackend } from '../../mae/mae.fixtures';
import { Rng } from '../../mae/rng';
import { validateTrainConfig, type TrainConfig } from '../config';
import { estimateTrainingMemory } from '../memory-estimate';
import { encodeFeatures } from '../probe-features';
import { gridPixels, reconstruct } from '../reconstruction';
import { syntheticSource } from '../synthetic';
import { MaeTrainer } from '../trainer';
import { trainTo } from '../trainer.fixtures';
import { domainRecipeSummary } from './domain-recipes';

beforeAll(useCpuBackend);

/** 16×16 images, 8×8 patches, 5 channels (20 channel tokens): a few ms per step on the cpu backend. */
const CELL_PAINTING: Partial<TrainConfig> = {
  model: {
    imgSize: 16,
    patchSize: 8,
    inChans: 5,
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
  domainRecipe: { name: 'camae', fourierLossWeight: 0.01 },
};
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

describe('CA-MAE recipe', () => {
  it('turns on channel-agnostic tokens and the Fourier term, and names the paper', () => {
    const config = validateTrainConfig(CELL_PAINTING);
    expect(config.model.channelAgnostic).toBe(true);
    expect(config.model.fourierLossWeight).toBe(0.01);
    expect(
      validateTrainConfig({ ...CELL_PAINTING, domainRecipe: { name: 'camae', fourierLossWeight: 0 } }).model
        .fourierLossWeight,
    ).toBeUndefined();
    expect(() =>
      validateTrainConfig({ ...CELL_PAINTING, domainRecipe: { name: 'camae', fourierLossWeight: -1 } }),
    ).toThrow('train.fourierLossWeight must be between 0 and 1, got -1');
    const summary = domainRecipeSummary(config.domainRecipe);
    expect(summary).toMatchObject({ name: 'camae', label: 'CA-MAE', reconstructs: true });
    expect(summary.citation).toContain('Kraus et al. 2024');
    expect(summary.details).toContain('plus 0.01 × the L1 distance of their Fourier magnitudes');
    // Five times the tokens of the plain MAE: the memory estimate says so.
    const plain = validateTrainConfig({ ...CELL_PAINTING, domainRecipe: undefined });
    expect(estimateTrainingMemory(config).activationBytes).toBeGreaterThan(
      4 * estimateTrainingMemory(plain).activationBytes,
    );
  });

  it('loss falls over 30 steps on 5-channel images, no tensor leaks; then embeds 3 and 6 channels', async () => {
    const trainer = MaeTrainer.create(CELL_PAINTING, syntheticSource({ imgSize: 16, channels: 5 }));
    await trainer.trainStep();
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    await trainTo(trainer, CELL_PAINTING.totalSteps!, (step) => losses.push(step.loss));
    expect(tf.memory().numTensors).toBe(before);
    expect(losses.every(Number.isFinite)).toBe(true);
    if (process.env.RECIPE_LOSSES)
      console.log('CA-MAE', mean(losses.slice(0, 5)).toFixed(4), '→', mean(losses.slice(-8)).toFixed(4));
    expect(mean(losses.slice(-8))).toBeLessThan(0.85 * mean(losses.slice(0, 5)));
    for (const channels of [3, 5, 6]) {
      const images = (syntheticSource({ imgSize: 16, channels }).next(Rng.fromSeed(channels), 4) as Batch).images;
      const imgs = tf.tensor4d(images, [4, channels, 16, 16]);
      for (const pooling of ['mean', 'cls'] as const) {
        const features = encodeFeatures(trainer.model, imgs, pooling);
        expect(features.shape).toEqual([4, 32]);
        expect(Array.from(features.dataSync()).every(Number.isFinite)).toBe(true);
        features.dispose();
      }
      imgs.dispose();
    }
    trainer.dispose();
  });

  it("reconstructs every channel where that channel was masked, and draws each channel's own mask", async () => {
    const trainer = MaeTrainer.create(
      { ...CELL_PAINTING, batchSize: 2 },
      syntheticSource({ imgSize: 16, channels: 5 }),
    );
    const images = (syntheticSource({ imgSize: 16, channels: 5 }).next(Rng.fromSeed(3), 2) as Batch).images;
    const imgs = tf.tensor4d(images, [2, 5, 16, 16]);
    const masks = masksForModel(trainer.model.config, 'random', { batchSize: 2, maskRatio: 0.75 }, Rng.fromSeed(4));
    const recon = await reconstruct(trainer.model, imgs, masks, [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]);
    expect(recon.mask.length).toBe(2 * 5 * 4);
    // Visible channel patches come back as they were (standardised, then restored with the image's own mean and std).
    for (let b = 0; b < 2; b++) {
      for (let c = 0; c < 5; c++) {
        for (let patch = 0; patch < 4; patch++) {
          if (masks.mask[(b * 5 + c) * 4 + patch] === 1) continue;
          const [row, column] = [Math.floor(patch / 2), patch % 2];
          const index = ((b * 5 + c) * 16 + row * 8) * 16 + column * 8;
          expect(recon.pasted[index]).toBeCloseTo(images[index]!, 3);
        }
      }
    }
    const { width, height } = gridPixels(recon);
    expect([width, height]).toEqual([3 * 16 + 8, 2 * 16 + 4]);
    imgs.dispose();
    trainer.dispose();
  });
});
