/**
 * Executes a fine-tuning run in the training process: the pretraining run's encoder plus a new
 * linear head, trained on the plan's train split with augmentation, layer-wise lr decay, drop
 * path and label smoothing; scored on the val split during and after training. The classifier
 * is saved as a checkpoint of this run (encoder `model.*` + `head.*`), its scores as the result.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { StudioError, type FinetuneReport } from '../contract';
import { decodePlanar } from '../data/batches';
import { RNG_STREAMS, Rng } from '../mae/rng';
import { selectBackend } from '../runtime/backend';
import { Workspace } from '../workspace';
import { AdamW } from './adamw';
import { augment, DEFAULT_AUGMENT, type PlanarImage } from '../data/augment';
import { writeSafetensors, type NamedTensor } from '../mae/weights/safetensors';
import { classifierLogits, labelSmoothedLoss, layerLrScale, layerOf } from './finetune-model';
import type { FinetunePlan } from './finetune-plan';
import { forEachBatch, labelledSplits, type LabelledEntry } from './probe-data';
import { encodeAllPatches, poolTokens } from './probe-features';
import { argmaxRows, classificationScores, type ClassificationScores } from './probe-metrics';
import { loadRunModel, type ClassifierMeta, type LoadedRun } from './probe-model';
import type { ExecuteOptions, RunProgress } from './pretrain-run';
import { typedRun, withRunStatus } from './run-records';
import { learningRateAt, scaledLearningRate } from './schedule';

/** A fine-tuning run's outcome (declared in the contract, which the UI shares). */
export type { FinetuneReport } from '../contract';

const HEAD_INIT_STD = 2e-5; // MAE main_finetune: trunc_normal_(head.weight, std=2e-5)

/** Val-split scores of encoder + head (no drop path: the app/mae encoder on all patches). */
async function evaluate(
  loaded: LoadedRun,
  head: { weight: tf.Tensor; bias: tf.Tensor },
  entries: LabelledEntry[],
  classes: string[],
  pooling: FinetunePlan['pooling'],
): Promise<ClassificationScores> {
  const { plan } = loaded;
  const predicted: number[] = [];
  await forEachBatch(entries, plan, 16, async (images, batch) => {
    const logits = tf.tidy(() => {
      const imgs = tf.tensor4d(images, [
        batch.length,
        plan.data.channels,
        plan.recipe.model.imgSize,
        plan.recipe.model.imgSize,
      ]);
      // [B, K]
      return tf.add(tf.matMul(poolTokens(encodeAllPatches(loaded.model, imgs), pooling), head.weight), head.bias);
    });
    // async read: webgpu has none synchronous in Node
    predicted.push(...argmaxRows(await logits.data(), classes.length));
    logits.dispose();
  });
  return classificationScores(
    entries.map((entry) => entry.label),
    predicted,
    classes,
  );
}

/** Runs a queued fine-tuning run to its end; resolves with how it ended. */
export async function executeFinetune(
  workspaceDir: string,
  runId: number,
  options: ExecuteOptions = {},
): Promise<Extract<RunProgress, { type: 'finished' }>> {
  const workspace = new Workspace(workspaceDir);
  const report = options.onProgress ?? (() => {});
  const started = Date.now();
  let loaded: LoadedRun | undefined;
  const owned: tf.Tensor[] = [];
  const optimizers: AdamW[] = [];
  try {
    return await withRunStatus(workspace.runs, runId, async () => {
      const run = typedRun(workspace.runs.get(runId));
      if (run.kind !== 'finetune')
        throw new StudioError('INVALID_ARGUMENT', `run ${runId} is a ${run.kind} run, not fine-tuning`);
      if (run.status !== 'queued')
        throw new StudioError(
          'CONFLICT',
          `run ${runId} is ${run.status}; fine-tuning runs start once (plan a new one)`,
        );
      const config = run.config;
      const selection = await selectBackend(config.backend, { log: options.log });
      workspace.runs.setStatus(runId, 'running', { backend: `${selection.backend} · ${selection.device}` });
      loaded = await loadRunModel(workspace, config.pretrainRunId);
      const { plan, model } = loaded;
      const splits = labelledSplits(workspace, plan);
      const { depth, embedDim, imgSize } = model.config;
      const numClasses = splits.classes.length;
      report({
        type: 'started',
        runId,
        backend: selection.backend,
        device: selection.device,
        step: 0,
        totalSteps: config.steps,
      });

      const initRng = Rng.fromSeed(config.seed, RNG_STREAMS.init);
      const head = {
        weight: tf.variable(
          tf.tensor2d(
            Float32Array.from({ length: embedDim * numClasses }, () => HEAD_INIT_STD * initRng.normal()),
            [embedDim, numClasses],
          ),
          true,
        ),
        bias: tf.variable(tf.zeros([numClasses]), true),
      };
      owned.push(head.weight, head.bias);
      const trainable = new Map<string, tf.Variable>(
        [...model.params].filter(([name]) => !name.startsWith('decoder_') && name !== 'mask_token'),
      );
      trainable.set('head.weight', head.weight);
      trainable.set('head.bias', head.bias);
      const groups = new Map<number, Map<string, tf.Variable>>();
      for (const [name, variable] of trainable) {
        const layer = layerOf(name, depth);
        groups.set(layer, (groups.get(layer) ?? new Map()).set(name, variable));
      }
      // torch AdamW defaults, as main_finetune
      const adamw = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: config.weightDecay };
      const groupOptimizers = [...groups].map(([layer, params]) => {
        const optimizer = new AdamW(params, adamw);
        optimizers.push(optimizer);
        return { params, optimizer, scale: layerLrScale([...params.keys()][0]!, depth, config.layerDecay), layer };
      });
      const schedule = {
        peakLr: scaledLearningRate(config.blr, config.batchSize),
        minLr: config.minLr,
        warmupSteps: config.warmupSteps,
        totalSteps: config.steps,
      };

      const dataRng = Rng.fromSeed(config.seed, RNG_STREAMS.data);
      const dropRng = Rng.fromSeed(config.seed, RNG_STREAMS.mask);
      const cache = new Map<string, PlanarImage>();
      // With a channel plan its transform converts and normalises each image as pretraining did.
      const { transform } = plan.data;
      const load = async (entry: LabelledEntry) =>
        cache.get(entry.path) ?? cache.set(entry.path, await decodePlanar(entry, transform)).get(entry.path)!;
      const channels = plan.data.channels;
      const plane = imgSize * imgSize;
      const evaluateEvery = Math.max(1, Math.floor(config.steps / config.evaluations));
      const names = [...trainable.keys()];
      const variables = [...trainable.values()];
      let lastLoss: number | null = null;
      let scores: ClassificationScores | null = null;
      let status: 'completed' | 'stopped' | 'failed' = 'completed';
      let reason: string | undefined;
      let step = 0;
      while (step < config.steps) {
        if (options.signal?.aborted) {
          status = 'stopped';
          reason = 'stopped by request';
          break;
        }
        const stepStarted = performance.now();
        const lr = learningRateAt(step, schedule);
        const chosen = Array.from({ length: config.batchSize }, () => splits.train[dataRng.int(splits.train.length)]!);
        const images = new Float32Array(config.batchSize * channels * plane);
        for (const [b, entry] of chosen.entries()) {
          const sample = images.subarray(b * channels * plane, (b + 1) * channels * plane);
          augment(await load(entry), imgSize, dataRng, DEFAULT_AUGMENT, sample);
          if (transform) continue;
          for (let c = 0; c < channels; c++)
            for (let k = c * plane; k < (c + 1) * plane; k++)
              sample[k] = (sample[k]! - plan.data.mean[c]!) / plan.data.std[c]!;
        }
        const imgs = tf.tensor4d(images, [config.batchSize, channels, imgSize, imgSize]);
        const labels = chosen.map((entry) => entry.label);
        const { value, grads } = tf.variableGrads(
          () =>
            labelSmoothedLoss(
              classifierLogits(model, head, imgs, { pooling: config.pooling, dropPath: config.dropPath, rng: dropRng }),
              labels,
              config.labelSmoothing,
            ),
          variables,
        );
        imgs.dispose();
        const loss = (await value.data())[0]!;
        value.dispose();
        const byName = new Map(names.map((name, i) => [name, grads[variables[i]!.name]!]));
        if (!Number.isFinite(loss)) {
          tf.dispose([...byName.values()]);
          status = 'failed';
          reason = `loss is ${loss} at step ${step + 1}; lower blr`;
          break;
        }
        for (const group of groupOptimizers)
          group.optimizer.step(
            new Map([...group.params.keys()].map((name) => [name, byName.get(name)!])),
            lr * group.scale,
          );
        tf.dispose([...byName.values()]);
        step += 1;
        lastLoss = loss;
        const msPerStep = performance.now() - stepStarted;
        const now = Date.now() / 1000;
        workspace.runs.appendMetrics(runId, [
          { step, name: 'train_loss', value: loss, time: now },
          { step, name: 'lr', value: lr, time: now },
        ]);
        report({
          type: 'step',
          step,
          totalSteps: config.steps,
          loss,
          lr,
          imagesPerSecond: (config.batchSize * 1000) / msPerStep,
          etaSeconds: ((config.steps - step) * msPerStep) / 1000,
          tensorBytes: tf.memory().numBytes,
          rssBytes: process.memoryUsage().rss,
        });
        if (step % evaluateEvery === 0 || step === config.steps) {
          scores = await evaluate(loaded, head, splits.val, splits.classes, config.pooling);
          workspace.runs.appendMetrics(runId, [
            { step, name: 'val_accuracy', value: scores.accuracy, time: Date.now() / 1000 },
          ]);
          options.log?.(`step ${step}: val accuracy ${(scores.accuracy * 100).toFixed(1)}%`);
        }
      }
      if (status !== 'failed') {
        scores ??= await evaluate(loaded, head, splits.val, splits.classes, config.pooling);
        const file = await saveClassifier(workspace, run.projectId, runId, loaded, head, {
          format: 'mae-studio-classifier',
          version: 1,
          model: model.config,
          classes: splits.classes,
          pooling: config.pooling,
          pretrainRunId: config.pretrainRunId,
          step,
        });
        report({ type: 'checkpoint', step, path: file });
        const result: FinetuneReport = {
          classes: splits.classes,
          excludedClasses: plan.data.excludedClasses ?? [],
          trainImages: splits.train.length,
          valImages: splits.val.length,
          steps: step,
          pooling: config.pooling,
          finalLoss: lastLoss,
          scores,
          seconds: (Date.now() - started) / 1000,
        };
        workspace.runs.setResult(runId, result);
      }
      workspace.runs.setStatus(runId, status, { error: reason ?? null });
      const finished = { type: 'finished' as const, status, step, finalLoss: lastLoss, ...(reason ? { reason } : {}) };
      report(finished);
      return finished;
    });
  } finally {
    for (const optimizer of optimizers) optimizer.dispose();
    tf.dispose(owned);
    loaded?.dispose();
    workspace.close();
  }
}

/** Writes encoder + head as this run's checkpoint and records it. */
async function saveClassifier(
  workspace: Workspace,
  projectId: number,
  runId: number,
  loaded: LoadedRun,
  head: { weight: tf.Tensor; bias: tf.Tensor },
  meta: ClassifierMeta,
): Promise<string> {
  const tensors = new Map<string, NamedTensor>();
  for (const [name, variable] of loaded.model.params) {
    if (name.startsWith('decoder_') || name === 'mask_token') continue;
    tensors.set(`model.${name}`, { shape: variable.shape, data: (await variable.data()) as Float32Array });
  }
  tensors.set('head.weight', { shape: head.weight.shape, data: (await head.weight.data()) as Float32Array });
  tensors.set('head.bias', { shape: head.bias.shape, data: (await head.bias.data()) as Float32Array });
  const dir = path.join(workspace.projectDir(projectId), 'checkpoints');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `run-${runId}-classifier-step-${meta.step}.safetensors`);
  await writeSafetensors(file, tensors, { studio: JSON.stringify(meta) });
  workspace.runs.addCheckpoint(
    runId,
    meta.step,
    file,
    createHash('sha256').update(fs.readFileSync(file)).digest('hex'),
  );
  return file;
}
