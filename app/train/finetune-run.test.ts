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
import { encodeAllPatches, poolTokens } from './probe-features';
import { finetuneAugmentation, linearProbeHead } from './finetune-train';
import { sampleCropBox } from '../data/augment';
import { DEFAULT_LINEAR_PROBE, fitLinearProbe, probeLogits } from './probe';
import { forEachBatch, labelledSplits } from './probe-data';
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

  it('starts the head at the linear probe, its standardisation folded into the weights (LP-FT)', async () => {
    await fixture.openAsync(async (w) => {
      const loaded = await loadRunModel(w, fixture.runId);
      try {
        const splits = labelledSplits(w, loaded.plan);
        const head = await linearProbeHead(loaded.model, loaded.plan, splits, 'mean');
        const { embedDim, imgSize } = loaded.model.config;
        const features: number[] = [];
        await forEachBatch(splits.train, loaded.plan, 8, async (images, batch) => {
          const imgs = tf.tensor4d(images, [batch.length, loaded.plan.data.channels, imgSize, imgSize]);
          const pooled = poolTokens(encodeAllPatches(loaded.model, imgs), 'mean');
          features.push(...(await pooled.data()));
          tf.dispose([imgs, pooled]);
        });
        const rows = Float32Array.from(features);
        const labels = splits.train.map((entry) => entry.label);
        const classes = splits.classes.length;
        const probe = probeLogits(fitLinearProbe(rows, labels, embedDim, classes, DEFAULT_LINEAR_PROBE), rows);
        for (let r = 0; r < splits.train.length; r++) {
          for (let k = 0; k < classes; k++) {
            let folded = head.bias[k]!;
            for (let d = 0; d < embedDim; d++) folded += rows[r * embedDim + d]! * head.weight[d * classes + k]!;
            expect(folded).toBeCloseTo(probe[r * classes + k]!, 2);
          }
        }
      } finally {
        loaded.dispose();
      }
    });
  });

  it('refuses recipes outside their ranges, naming the field', () => {
    expect(() => validateFinetuneConfig({ layerDecay: 1.5 })).toThrow(/finetune.layerDecay must be in \(0, 1\]/);
    expect(() => validateFinetuneConfig({ steps: 10, warmupSteps: 10 })).toThrow(
      /finetune.warmupSteps must be an integer in \[0, steps = 10\)/,
    );
    expect(() => validateFinetuneConfig({ dropPath: -0.1 })).toThrow(/finetune.dropPath/);
    expect(() => validateFinetuneConfig({ cropScale: 0 })).toThrow(/finetune.cropScale must be in \(0, 1\], got 0/);
    expect(() => validateFinetuneConfig({ flipProbability: 1.5 })).toThrow(/finetune.flipProbability/);
    expect(() => validateFinetuneConfig({ lrRule: 'cubic' as 'linear' })).toThrow(/finetune.lrRule must be one of/);
  });

  it('crops and flips as the config says, and as the paper where a stored config predates the choice', () => {
    const stored = { ...validateFinetuneConfig({}), pretrainRunId: 1 };
    delete stored.cropScale;
    delete stored.flipProbability;
    expect(finetuneAugmentation(stored)).toEqual({ scale: [0.2, 1], ratio: [3 / 4, 4 / 3], flipProbability: 0.5 });
    const whole = finetuneAugmentation({ ...stored, cropScale: 1, flipProbability: 0 });
    expect(whole).toEqual({ scale: [1, 1], ratio: [1, 1], flipProbability: 0 });
    // Whole-image "crops" are the whole image: the training images are the ones the probe and evaluation see.
    const rng = Rng.fromSeed(5);
    for (let i = 0; i < 20; i++)
      expect(sampleCropBox(8, 8, rng, whole)).toEqual({ top: 0, left: 0, height: 8, width: 8 });
  });
});

describe('a fine-tuning run', () => {
  it('trains encoder + head as its own run, then its classifier reloads with the scores it reported', async () => {
    const runId = fixture.open((w) =>
      planFinetune(w, fixture.runId, { steps: 6, warmupSteps: 1, batchSize: 2, evaluations: 2, backend: 'cpu' }),
    );
    const steps: number[] = [];
    const finished = await executeFinetune(fixture.workspaceDir, runId, {
      onProgress: (p) => {
        if (p.type === 'step') steps.push(p.step);
      },
    });
    expect(finished).toMatchObject({ status: 'completed', step: 6 });
    // The pretrained encoder's 6 steps, then the random init's 6 with the same budget.
    expect(steps).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const run = fixture.open((w) => w.runs.get(runId));
    expect(run).toMatchObject({ kind: 'finetune', status: 'completed', parentRunId: fixture.runId });
    const report = run.result as FinetuneReport;
    expect(report.classes).toEqual(['ring-lesion', 'round-lesion']);
    expect(report.scores.confusion.flat().reduce((a, b) => a + b, 0)).toBe(report.valImages);
    expect(fixture.open((w) => w.runs.metrics(runId, 'val_accuracy')).map((p) => p.step)).toEqual([3, 6]);
    expect(fixture.open((w) => w.runs.metrics(runId, 'train_loss'))).toHaveLength(6);
    expect(fixture.open((w) => w.runs.metrics(runId, 'train_loss_random_init'))).toHaveLength(6);

    // Both baselines scored on the same validation images, the gains paired over them.
    for (const scores of [report.randomInit!, report.rawPixels!]) {
      expect(scores.images).toBe(report.valImages);
      expect(scores.confusion.flat().reduce((a, b) => a + b, 0)).toBe(report.valImages);
    }
    expect(report.rawPixelSide).toBe(16);
    // The head started as the linear probe (LP-FT): its score before the first step, paired too.
    expect(report.start!.images).toBe(report.valImages);
    expect(report.gain!.start!.estimate).toBeCloseTo(report.scores.accuracy - report.start!.accuracy, 10);
    const { randomInit, rawPixels } = report.gain!;
    expect(randomInit!.estimate).toBeCloseTo(report.scores.accuracy - report.randomInit!.accuracy, 10);
    expect(rawPixels.estimate).toBeCloseTo(report.scores.accuracy - report.rawPixels!.accuracy, 10);
    expect(rawPixels.low).toBeLessThanOrEqual(rawPixels.estimate);
    expect(rawPixels.high).toBeGreaterThanOrEqual(rawPixels.estimate);
    // A gain whose interval holds 0 is said in the probe's words.
    if (randomInit!.low <= 0 && randomInit!.high >= 0)
      expect(report.warnings).toContainEqual(expect.stringMatching(/not distinguishable from random init/));
    expect(fixture.open((w) => w.runs.metrics(runId, 'val_accuracy_raw_pixels'))).toHaveLength(1);

    const loaded = await fixture.openAsync((w) => loadRunModel(w, runId));
    try {
      expect(loaded.head!.classes).toEqual(report.classes);
      expect(loaded.head!.weight.shape).toEqual([loaded.model.config.embedDim, 2]);
      expect(loaded.pretrainRun.id).toBe(fixture.runId);
    } finally {
      loaded.dispose();
    }
  });

  it('fits only the pixel baseline when the random-init fine-tuning is turned off', async () => {
    const runId = fixture.open((w) =>
      planFinetune(w, fixture.runId, {
        steps: 3,
        warmupSteps: 1,
        batchSize: 2,
        evaluations: 1,
        backend: 'cpu',
        randomInitBaseline: false,
      }),
    );
    const steps: number[] = [];
    await executeFinetune(fixture.workspaceDir, runId, {
      onProgress: (p) => {
        if (p.type === 'step') steps.push(p.step);
      },
    });
    expect(steps).toEqual([1, 2, 3]);
    const report = fixture.open((w) => w.runs.get(runId).result) as FinetuneReport;
    expect(report.randomInit).toBeUndefined();
    expect(report.gain!.randomInit).toBeUndefined();
    expect(report.rawPixels!.images).toBe(report.valImages);
    expect(report.warnings!.join(' ')).not.toMatch(/random init/);
  });
});
