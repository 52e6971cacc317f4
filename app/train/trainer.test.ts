import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from '../mae/mae.fixtures';
import type { TrainConfig } from './config';
import { syntheticSource } from './synthetic';
import type { Batch, BatchSource } from '../data/batch';
import { MaeTrainer } from './trainer';
import { NonFiniteLossError } from './trainer-errors';
import { trainTo } from './trainer.fixtures';

beforeAll(useCpuBackend);
const directories: string[] = [];
afterAll(async () => Promise.all(directories.map((d) => rm(d, { recursive: true, force: true }))));

/** 16×16 images, 4×4 patches, 3 channels: a few ms per step on the cpu backend. */
const SMALL: Partial<TrainConfig> = {
  model: {
    imgSize: 16,
    patchSize: 4,
    inChans: 3,
    embedDim: 32,
    depth: 2,
    numHeads: 2,
    decoderEmbedDim: 32,
    decoderDepth: 1,
    decoderNumHeads: 2,
    mlpRatio: 4,
    normPixLoss: false,
  },
  batchSize: 8,
  totalSteps: 60,
  warmupSteps: 5,
  lrRule: 'linear',
  blr: 0.03, // lr ≈ 1e-3 at batch 8: a tiny model on easy data
  seed: 11,
};
const source = syntheticSource({ imgSize: 16, channels: 3 });

describe('MaeTrainer', () => {
  it('lowers the loss on structured synthetic images within 60 steps', async () => {
    const trainer = MaeTrainer.create(SMALL, source);
    const losses: number[] = [];
    await trainTo(trainer, SMALL.totalSteps!, (m) => losses.push(m.loss));
    expect(losses).toHaveLength(60);
    const mean = (values: number[]): number => values.reduce((a, b) => a + b) / values.length;
    expect(mean(losses.slice(-10))).toBeLessThan(0.6 * mean(losses.slice(0, 5)));
    trainer.dispose();
  });

  it('does not leak tensors over 50 train steps', async () => {
    const trainer = MaeTrainer.create({ ...SMALL, accumSteps: 2 }, source);
    await trainer.trainStep(); // first step creates nothing persistent, but warm up anyway
    const before = tf.memory().numTensors;
    await trainTo(trainer, 51);
    expect(tf.memory().numTensors).toBe(before);
    trainer.dispose();
  });

  it('resumes from a checkpoint with the same losses as an uninterrupted run', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'mae-resume-'));
    directories.push(directory);
    const config = { ...SMALL, totalSteps: 8, maskStrategy: 'block' as const, accumSteps: 2 };
    const straight = MaeTrainer.create(config, source);
    const expected: number[] = [];
    await trainTo(straight, 8, (m) => expected.push(m.loss));
    straight.dispose();

    const path = join(directory, 'run.safetensors');
    const first = MaeTrainer.create(config, source);
    const resumedLosses: number[] = [];
    await trainTo(first, 4, (m) => resumedLosses.push(m.loss));
    await first.saveCheckpoint(path);
    first.dispose();
    const second = await MaeTrainer.resume(path, source);
    expect(second.step).toBe(4);
    await trainTo(second, 8, (m) => resumedLosses.push(m.loss));
    second.dispose();
    expect(resumedLosses).toHaveLength(8);
    resumedLosses.forEach((loss, i) => expect(loss).toBeCloseTo(expected[i]!, 5));
  });

  it('refuses a step whose loss is not finite, with a clear reason, and leaves the weights as they were', async () => {
    const poisoned: BatchSource = {
      next(rng, batchSize) {
        const batch = source.next(rng, batchSize) as Batch;
        batch.images[0] = Number.NaN;
        return batch;
      },
    };
    const trainer = MaeTrainer.create(SMALL, poisoned);
    const before = trainer.model.params.get('decoder_pred.weight')!.dataSync().slice();
    const failure = await trainer.advance().then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(NonFiniteLossError);
    expect((failure as NonFiniteLossError).message).toMatch(/^training diverged at step 1: the loss is NaN/);
    expect(trainer.step).toBe(0);
    expect(trainer.model.params.get('decoder_pred.weight')!.dataSync()).toEqual(before);
    trainer.dispose();
  });

  it('reports lr from the schedule and throughput', async () => {
    const trainer = MaeTrainer.create({ ...SMALL, totalSteps: 3, warmupSteps: 2 }, source);
    const seen: { lr: number; imagesPerSecond: number }[] = [];
    await trainTo(trainer, 3, (m) => seen.push(m));
    expect(seen.map((m) => m.lr)).toEqual([0, (0.03 * 8) / 256 / 2, (0.03 * 8) / 256]);
    expect(seen.every((m) => m.imagesPerSecond > 0)).toBe(true);
    trainer.dispose();
  });
});
