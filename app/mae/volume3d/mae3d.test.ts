import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from '../mae.fixtures';
import { Rng } from '../rng';
import { tokenCount3d } from './config3d';
import {
  createMae3d,
  disposeMae3d,
  encodeVolumes3d,
  forwardMae3d,
  randomMasking3d,
  reconstructVolumes3d,
} from './mae3d';
import { patternVolumes, TINY_MAE3D, waveVolumes } from './mae3d.fixtures';
import { patchify3d } from './patchify3d';

beforeAll(useCpuBackend);

describe('3-D MAE', () => {
  it('masks 75 % of the D′·H′·W′ tokens per volume, each volume its own', () => {
    const config = { ...TINY_MAE3D, volumeSize: [8, 16, 16] as const, patchSize: [4, 4, 4] as const }; // L = 32
    const masks = randomMasking3d(config, 3, 0.75, Rng.fromSeed(1, 1));
    expect(masks.numPatches).toBe(32);
    expect(masks.numKeep).toBe(8);
    for (let b = 0; b < 3; b++) expect(masks.mask.subarray(b * 32, (b + 1) * 32).reduce((a, m) => a + m, 0)).toBe(24);
    expect(Array.from(masks.mask.subarray(0, 32))).not.toEqual(Array.from(masks.mask.subarray(32, 64)));
  });

  it('gives a loss and predictions of C·pd·ph·pw values per token, and refuses a wrong volume shape', () => {
    const model = createMae3d(TINY_MAE3D, 1);
    const volumes = waveVolumes(2, TINY_MAE3D, Rng.fromSeed(2, 1));
    const masks = randomMasking3d(TINY_MAE3D, 2, 0.75, Rng.fromSeed(3, 1));
    const { loss, pred } = forwardMae3d(model, volumes, masks);
    expect(pred.shape).toEqual([2, 8, 64]);
    expect(Number.isFinite(loss.dataSync()[0])).toBe(true);
    const flat = tf.zeros([2, 1, 8, 8]);
    expect(() => forwardMae3d(model, flat, masks)).toThrow(/expects volumes \[B, 1, 8, 8, 8\], got \[2,1,8,8\]/);
    tf.dispose([loss, pred, volumes, flat]);
    disposeMae3d(model);
  });

  it('encodes whole volumes to cls + L tokens for probing', () => {
    const config = { ...TINY_MAE3D, volumeSize: [4, 8, 16] as const, patchSize: [4, 4, 4] as const }; // thick: 1×2×4
    const model = createMae3d(config, 1);
    const volumes = waveVolumes(3, config, Rng.fromSeed(2, 1));
    const tokens = encodeVolumes3d(model, volumes);
    expect(tokens.shape).toEqual([3, 1 + tokenCount3d(config), 12]);
    tf.dispose([tokens, volumes]);
    disposeMae3d(model);
  });

  it('trains: the masked-patch loss falls over 30 Adam steps on patterned volumes, without leaking tensors', () => {
    const model = createMae3d(TINY_MAE3D, 7);
    const optimizer = tf.train.adam(1e-2);
    const rng = Rng.fromSeed(11, 1);
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    for (let step = 0; step < 30; step++) {
      const volumes = patternVolumes(4, TINY_MAE3D, rng);
      const masks = randomMasking3d(TINY_MAE3D, 4, 0.75, rng);
      const loss = optimizer.minimize(() => {
        const { loss: value, pred } = forwardMae3d(model, volumes, masks);
        pred.dispose();
        return value;
      }, true)!;
      losses.push(loss.dataSync()[0]!);
      tf.dispose([loss, volumes]);
      if (step === 0) expect(tf.memory().numTensors).toBeLessThan(before + 100); // optimizer slots only
    }
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(losses.every(Number.isFinite)).toBe(true);
    if (process.env.MAE3D_LOG) console.log(JSON.stringify({ first, last }));
    expect(last).toBeLessThan(0.5 * first);
    const afterTraining = tf.memory().numTensors;
    const volumes = waveVolumes(1, TINY_MAE3D, rng);
    const { loss, pred } = forwardMae3d(model, volumes, randomMasking3d(TINY_MAE3D, 1, 0.75, rng));
    tf.dispose([loss, pred, volumes]);
    expect(tf.memory().numTensors).toBe(afterTraining);
    optimizer.dispose();
    disposeMae3d(model);
  });

  it('reconstructs: visible patches are the input exactly, masked ones the prediction at the input scale', () => {
    const model = createMae3d(TINY_MAE3D, 1);
    const volumes = waveVolumes(1, TINY_MAE3D, Rng.fromSeed(5, 1));
    const masks = randomMasking3d(TINY_MAE3D, 1, 0.75, Rng.fromSeed(6, 1));
    const shown = reconstructVolumes3d(model, volumes, masks);
    expect(shown.shape).toEqual([1, 1, 8, 8, 8]);
    const ours = patchify3d(shown, [4, 4, 4]).arraySync() as number[][][];
    const input = patchify3d(volumes, [4, 4, 4]).arraySync() as number[][][];
    for (let l = 0; l < 8; l++) {
      if (masks.mask[l] === 0) expect(ours[0]![l]).toEqual(input[0]![l]);
      else expect(ours[0]![l]).not.toEqual(input[0]![l]);
    }
    tf.dispose([shown, volumes]);
    disposeMae3d(model);
  });
});
