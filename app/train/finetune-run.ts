/**
 * Executes a fine-tuning run in the training process: the pretraining run's encoder plus a new
 * linear head, trained on the plan's train split with augmentation, layer-wise lr decay, drop
 * path and label smoothing (`finetune-train.ts`); scored on the val split during and after
 * training. Then the baselines, on the same val images (`finetune-baselines.ts`): the same
 * encoder fine-tuned from its random initialisation with the same steps, batches and seed
 * (unless the config turns it off), and the probe's linear model on the raw pixels; the gains
 * over both carry paired-bootstrap intervals and the probe's warnings. The classifier is saved as
 * a checkpoint of this run (encoder `model.*` + `head.*`), its scores and baselines as the result.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { StudioError, type FinetuneReport } from '../contract';
import { disposeModel, type MaeModel } from '../mae/model';
import { selectBackend } from '../runtime/backend';
import { Workspace } from '../workspace';
import { writeSafetensors, type NamedTensor } from '../mae/weights/safetensors';
import { finetuneComparison, rawPixelBaseline } from './finetune-baselines';
import { trainClassifier, type ClassifierHead, type ClassifierOutcome } from './finetune-train';
import { labelledSplits } from './probe-data';
import { loadRunModel, randomInitModel, type ClassifierMeta, type LoadedRun } from './probe-model';
import type { ExecuteOptions, RunProgress } from './run-progress';
import { typedRun, withRunStatus } from './run-records';

/** A fine-tuning run's outcome (declared in the contract, which the UI shares). */
export type { FinetuneReport } from '../contract';

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
  let random: MaeModel | undefined;
  const heads: ClassifierHead[] = [];
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
      // Configs stored before the baseline existed read as "with it", as new runs by default.
      const withRandomInit = config.randomInitBaseline ?? true;
      const selection = await selectBackend(config.backend, { log: options.log });
      workspace.runs.setStatus(runId, 'running', { backend: `${selection.backend} · ${selection.device}` });
      loaded = await loadRunModel(workspace, config.pretrainRunId);
      const { plan, model } = loaded;
      const splits = labelledSplits(workspace, plan);
      // Progress runs over both fine-tunings: the pretrained encoder's steps, then the random init's.
      const totalSteps = config.steps * (withRandomInit ? 2 : 1);
      report({ type: 'started', runId, backend: selection.backend, device: selection.device, step: 0, totalSteps });
      const stepHook = (offset: number, suffix: string) => (step: number, loss: number, lr: number, ms: number) => {
        const now = Date.now() / 1000;
        workspace.runs.appendMetrics(runId, [
          { step, name: `train_loss${suffix}`, value: loss, time: now },
          ...(suffix ? [] : [{ step, name: 'lr', value: lr, time: now }]),
        ]);
        report({
          type: 'step',
          step: offset + step,
          totalSteps,
          loss,
          lr,
          imagesPerSecond: (config.batchSize * 1000) / ms,
          etaSeconds: ((totalSteps - offset - step) * ms) / 1000,
          tensorBytes: tf.memory().numBytes,
          rssBytes: process.memoryUsage().rss,
        });
      };
      const finetuned = await trainClassifier(model, plan, splits, config, {
        signal: options.signal,
        evaluations: config.evaluations,
        onStep: stepHook(0, ''),
        onEvaluation: (step, scores) => {
          workspace.runs.appendMetrics(runId, [
            { step, name: 'val_accuracy', value: scores.accuracy, time: Date.now() / 1000 },
          ]);
          options.log?.(`step ${step}: val accuracy ${(scores.accuracy * 100).toFixed(1)}%`);
        },
      });
      heads.push(finetuned.head);
      if (finetuned.status !== 'failed') {
        const file = await saveClassifier(workspace, run.projectId, runId, loaded, finetuned.head, {
          format: 'mae-studio-classifier',
          version: 1,
          model: model.config,
          classes: splits.classes,
          pooling: config.pooling,
          pretrainRunId: config.pretrainRunId,
          step: finetuned.steps,
        });
        report({ type: 'checkpoint', step: finetuned.steps, path: file });
        // The baselines, on the same validation images; a stopped run keeps only what finished.
        let baseline: ClassifierOutcome | null = null;
        if (withRandomInit && finetuned.status === 'completed') {
          options.log?.(`fine-tuning the random-init encoder with the same ${config.steps} steps, as the baseline`);
          random = randomInitModel(plan);
          baseline = await trainClassifier(random, plan, splits, config, {
            signal: options.signal,
            evaluations: 1,
            onStep: stepHook(config.steps, '_random_init'),
          });
          heads.push(baseline.head);
        }
        const randomInitDone = baseline?.status === 'completed';
        const pixels = await rawPixelBaseline(plan, splits);
        const comparison = finetuneComparison({
          splits,
          seed: plan.recipe.seed,
          finetuned: finetuned.predicted!,
          randomInit: randomInitDone ? baseline!.predicted : null,
          rawPixels: pixels.predicted,
          start: finetuned.start?.predicted ?? null,
        });
        const why = baseline?.reason ?? finetuned.reason ?? 'stopped';
        const notFinished =
          withRandomInit && !randomInitDone
            ? [
                `The random-init encoder's fine-tuning did not finish (${why}): ` +
                  'there is no gain over random init to show.',
              ]
            : [];
        const now = Date.now() / 1000;
        workspace.runs.appendMetrics(runId, [
          ...(randomInitDone
            ? [
                {
                  step: finetuned.steps,
                  name: 'val_accuracy_random_init',
                  value: baseline!.scores!.accuracy,
                  time: now,
                },
              ]
            : []),
          { step: finetuned.steps, name: 'val_accuracy_raw_pixels', value: pixels.scores.accuracy, time: now },
        ]);
        const result: FinetuneReport = {
          classes: splits.classes,
          excludedClasses: plan.data.excludedClasses ?? [],
          trainImages: splits.train.length,
          valImages: splits.val.length,
          steps: finetuned.steps,
          pooling: config.pooling,
          finalLoss: finetuned.lastLoss,
          scores: finetuned.scores!,
          ...(finetuned.start && { start: finetuned.start.scores }),
          ...(randomInitDone && { randomInit: baseline!.scores! }),
          rawPixels: pixels.scores,
          rawPixelSide: pixels.side,
          gain: comparison.gain,
          warnings: [...comparison.warnings, ...notFinished],
          seconds: (Date.now() - started) / 1000,
        };
        workspace.runs.setResult(runId, result);
      }
      const status = finetuned.status === 'completed' && options.signal?.aborted ? 'stopped' : finetuned.status;
      const reason = finetuned.reason ?? (status === 'stopped' ? 'stopped by request' : undefined);
      workspace.runs.setStatus(runId, status, { error: reason ?? null });
      const finished = {
        type: 'finished' as const,
        status,
        step: finetuned.steps,
        finalLoss: finetuned.lastLoss,
        ...(reason ? { reason } : {}),
      };
      report(finished);
      return finished;
    });
  } finally {
    tf.dispose(heads.flatMap((head) => [head.weight, head.bias]));
    if (random) disposeModel(random);
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
  head: ClassifierHead,
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
