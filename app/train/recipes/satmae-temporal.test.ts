/**
 * SatMAE temporal through the trainer: T = 3 dates of one place per sample, where each place is
 * an 8×8 smooth pattern of its own and the seasons scale one band, so the other dates of a place tell
 * a masked patch much of what it holds. 30 optimizer steps on the cpu backend must give finite,
 * falling losses and leave no tensor behind.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Batch, BatchSource } from '../../data/batch';
import { useCpuBackend } from '../../mae/mae.fixtures';
import type { Rng } from '../../mae/rng';
import type { TrainConfig } from '../config';
import { MaeTrainer } from '../trainer';
import { trainTo } from '../trainer.fixtures';

beforeAll(useCpuBackend);

const SIDE = 8;
const FRAMES = 3;
const CHANNELS = 2;

/** Places: smooth patterns seen at three dates each; month scales band 1 (vegetation-like). */
function seriesSource(): BatchSource {
  return {
    next(rng: Rng, batchSize: number): Batch {
      const images = new Float32Array(batchSize * FRAMES * CHANNELS * SIDE * SIDE);
      const timestamps = new Float32Array(batchSize * FRAMES * 3);
      for (let b = 0; b < batchSize; b++) {
        const [fx, fy, phase] = [1 + rng.int(3), 1 + rng.int(3), rng.uniform() * Math.PI];
        const firstMonth = rng.int(12);
        for (let t = 0; t < FRAMES; t++) {
          const month = (firstMonth + 3 * t) % 12;
          const season = Math.cos(((month - 6) * 2 * Math.PI) / 12);
          timestamps.set([t, month, 10], (b * FRAMES + t) * 3);
          for (let c = 0; c < CHANNELS; c++) {
            const gain = c === 1 ? 1 + 0.5 * season : 1;
            for (let y = 0; y < SIDE; y++) {
              for (let x = 0; x < SIDE; x++) {
                const value = Math.sin((fx * x + fy * y) / 3 + phase + c);
                images[(((b * FRAMES + t) * CHANNELS + c) * SIDE + y) * SIDE + x] = gain * value;
              }
            }
          }
        }
      }
      return {
        images,
        batchSize,
        channels: FRAMES * CHANNELS,
        height: SIDE,
        width: SIDE,
        timestamps,
      };
    },
  };
}

const CONFIG: Partial<TrainConfig> = {
  model: {
    imgSize: SIDE,
    patchSize: 4,
    inChans: CHANNELS,
    embedDim: 64,
    depth: 1,
    numHeads: 2,
    decoderEmbedDim: 64,
    decoderDepth: 1,
    decoderNumHeads: 2,
    mlpRatio: 2,
    normPixLoss: false,
  },
  domainRecipe: { name: 'satmae-temporal', frames: FRAMES, sameMask: false, baseYear: 2020 },
  batchSize: 4,
  totalSteps: 30,
  warmupSteps: 3,
  lrRule: 'linear',
  blr: 0.03,
  seed: 5,
};

describe('SatMAE temporal training', () => {
  it('has finite, falling losses over 30 steps and leaks no tensor', async () => {
    const trainer = MaeTrainer.create(CONFIG, seriesSource());
    expect(trainer.model.config.temporal).toEqual({ frames: 3, sameMask: false });
    const losses: number[] = [];
    await trainTo(trainer, 2, (step) => losses.push(step.loss));
    const before = tf.memory().numTensors;
    await trainTo(trainer, 30, (step) => losses.push(step.loss));
    expect(tf.memory().numTensors).toBe(before);
    expect(losses).toHaveLength(30);
    expect(losses.every(Number.isFinite)).toBe(true);
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value) / values.length;
    expect(mean(losses.slice(-5))).toBeLessThan(0.7 * mean(losses.slice(0, 5)));
    trainer.dispose();
  }, 60_000);

  it('trains with one mask shared by every date too', async () => {
    const trainer = MaeTrainer.create(
      {
        ...CONFIG,
        totalSteps: 3,
        domainRecipe: { name: 'satmae-temporal', frames: 3, sameMask: true, baseYear: 2020 },
      },
      seriesSource(),
    );
    const losses: number[] = [];
    await trainTo(trainer, 3, (step) => losses.push(step.loss));
    expect(losses.every(Number.isFinite)).toBe(true);
    trainer.dispose();
  });
});
