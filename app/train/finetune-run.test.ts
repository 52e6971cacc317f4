/**
 * Fine-tuning: the training forward is the studio's encoder when drop path is off, the recipe's
 * pieces (layer decay, label smoothing) follow their definitions, and a fine-tuning run trains
 * encoder + head as a run of its own whose classifier reloads with its scores.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMae, disposeModel } from '../mae/model';
import { Rng } from '../mae/rng';
import { TINY_MAE, useCpuBackend } from '../mae/mae.fixtures';
import { dropPathRates, encoderTokensWithDropPath, labelSmoothedLoss, layerLrScale } from './finetune-model';
import { planFinetune, validateFinetuneConfig } from './finetune-plan';
import { executeFinetune, type FinetuneReport } from './finetune-run';
import { encodeAllPatches } from './probe-features';
import { loadRunModel } from './probe-model';
import { pretrainedFixture, type PretrainedFixture } from './probe.fixtures';

let fixture: PretrainedFixture;
beforeAll(async () => {
  await useCpuBackend();
  fixture = await pretrainedFixture();
}, 120_000);
afterAll(() => fixture?.remove());

describe('the fine-tuning model', () => {
  it('is the app/mae encoder on all patches when drop path is off, and does not leak', () => {
    const model = createMae({ ...TINY_MAE, depth: 2 }, 3);
    const imgs = tf.randomNormal([2, TINY_MAE.inChans, TINY_MAE.imgSize, TINY_MAE.imgSize], 0, 1, 'float32', 4);
    const before = tf.memory().numTensors;
    const ours = encoderTokensWithDropPath(model, imgs, 0, Rng.fromSeed(1));
    const reference = encodeAllPatches(model, imgs);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(ours, reference))).dataSync()[0])).toBeLessThan(1e-6);
    tf.dispose([ours, reference]);
    expect(tf.memory().numTensors).toBe(before);
    const dropped = encoderTokensWithDropPath(model, imgs, 0.9, Rng.fromSeed(1));
    expect(dropped.shape).toEqual([2, 1 + 4, TINY_MAE.embedDim]);
    tf.dispose([dropped, imgs]);
    disposeModel(model);
  });

  it('raises drop path linearly over the blocks and decays lr by layer, as MAE', () => {
    expect(dropPathRates(0.1, 3)).toEqual([0, 0.05, 0.1]);
    expect(layerLrScale('head.weight', 12, 0.75)).toBe(1);
    expect(layerLrScale('norm.weight', 12, 0.75)).toBe(1);
    expect(layerLrScale('blocks.11.mlp.fc1.weight', 12, 0.75)).toBeCloseTo(0.75, 12);
    expect(layerLrScale('blocks.0.attn.qkv.weight', 12, 0.75)).toBeCloseTo(0.75 ** 12, 12);
    expect(layerLrScale('patch_embed.proj.weight', 12, 0.75)).toBeCloseTo(0.75 ** 13, 12);
    expect(layerLrScale('cls_token', 12, 0.75)).toBeCloseTo(0.75 ** 13, 12);
  });

  it('computes cross-entropy against labels smoothed to (1 − ε)·onehot + ε/K', () => {
    const logits = tf.tensor2d([[2, 0, -1]]);
    const loss = labelSmoothedLoss(logits, [0], 0.1);
    const logProbabilities = [2, 0, -1].map((z) => z - Math.log(Math.exp(2) + Math.exp(0) + Math.exp(-1)));
    const expected = -logProbabilities.reduce((sum, lp, k) => sum + (k === 0 ? 0.9 + 0.1 / 3 : 0.1 / 3) * lp, 0);
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 5);
    tf.dispose([logits, loss]);
  });

  it('refuses recipes outside their ranges, naming the field', () => {
    expect(() => validateFinetuneConfig({ layerDecay: 1.5 })).toThrow(/finetune.layerDecay must be in \(0, 1\]/);
    expect(() => validateFinetuneConfig({ steps: 10, warmupSteps: 10 })).toThrow(
      /finetune.warmupSteps must be an integer in \[0, steps = 10\)/,
    );
    expect(() => validateFinetuneConfig({ dropPath: -0.1 })).toThrow(/finetune.dropPath/);
  });
});

describe('a fine-tuning run', () => {
  it('trains encoder + head as its own run, then its classifier reloads with the scores it reported', async () => {
    const runId = fixture.open((w) =>
      planFinetune(w, fixture.runId, { steps: 8, warmupSteps: 2, batchSize: 4, evaluations: 2, backend: 'cpu' }),
    );
    const steps: number[] = [];
    const finished = await executeFinetune(fixture.workspaceDir, runId, {
      onProgress: (p) => {
        if (p.type === 'step') steps.push(p.step);
      },
    });
    expect(finished).toMatchObject({ status: 'completed', step: 8 });
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const run = fixture.open((w) => w.runs.get(runId));
    expect(run).toMatchObject({ kind: 'finetune', status: 'completed', parentRunId: fixture.runId });
    const report = run.result as FinetuneReport;
    expect(report.classes).toEqual(['ring-lesion', 'round-lesion']);
    expect(report.scores.confusion.flat().reduce((a, b) => a + b, 0)).toBe(report.valImages);
    expect(fixture.open((w) => w.runs.metrics(runId, 'val_accuracy')).map((p) => p.step)).toEqual([4, 8]);
    expect(fixture.open((w) => w.runs.metrics(runId, 'train_loss'))).toHaveLength(8);

    const loaded = await fixture.openAsync((w) => loadRunModel(w, runId));
    try {
      expect(loaded.head!.classes).toEqual(report.classes);
      expect(loaded.head!.weight.shape).toEqual([loaded.model.config.embedDim, 2]);
      expect(loaded.pretrainRun.id).toBe(fixture.runId);
    } finally {
      loaded.dispose();
    }
  });
});
