/**
 * Executes a planned pretraining run (in the training process): picks the backend, reads the
 * run's images, trains with periodic validation and checkpoints, writes metrics to SQLite in
 * batched transactions, and records how the run ended. `resume` continues from the last
 * checkpoint with the same losses an uninterrupted run would have produced.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { StudioError } from '../contract';
import type { BatchSource } from '../data/batch';
import type { TrainingLoader } from '../data/cache/loader';
import { selectBackend } from '../runtime/backend';
import type { MetricPoint } from '../store/runs';
import { Workspace } from '../workspace';
import { describeRecipeLr, storedTrainConfig } from './config';
import { isVolume3dRun, typedRun, withRunStatus } from './run-records';
import { formatLearningRate } from './schedule';
import { sha256File, type PretrainPlan } from './pretrain-plan';
import { describeInit, loadInitWeights } from '../mae/weights/init';
import { MaeTrainer } from './trainer';
import type { StepMetrics } from './step-metrics';
import { GpuMemoryError, LateNonFiniteLossError, NonFiniteLossError } from './trainer-errors';
import { RECONSTRUCTION_IMAGES, reconstruct, writeReconstructionGrid } from './reconstruction';
import { runFolder } from './run-files';
import { disposeRecipeTensors } from './recipes/domain-recipes';
import { imageEntries, temporalImages, temporalSource } from './pretrain-images';
import { validationLoss, validationSet, type ValidationSet } from './pretrain-validation';
import { RunEta } from './eta';
import type { ExecuteOptions } from './run-progress';
import { openTrainingData } from './training-data';
import { temporalValidation } from './recipes/temporal-validation';

/** Metrics are flushed after this many steps or this many ms, whichever comes first. */
const FLUSH_STEPS = 25;
const FLUSH_MS = 2000;
/** Checkpoints kept per run: the newest and the one before it (a torn write never loses both). */
const KEEP_CHECKPOINTS = 2;

/** Runs (or resumes) a pretraining run to its end; the run row records the outcome. */
export async function executePretrain(workspaceDir: string, runId: number, options: ExecuteOptions = {}) {
  const workspace = new Workspace(workspaceDir);
  const report = options.onProgress ?? (() => {});
  let trainer: MaeTrainer | undefined;
  // Set inside the run's work below, read by `finally`: typed wide so neither narrows to null here.
  let validation = null as ValidationSet | null;
  let previewSet = null as ValidationSet | null;
  let loader = null as TrainingLoader | null;
  try {
    return await withRunStatus(workspace.runs, runId, async () => {
      const run = typedRun(workspace.runs.get(runId));
      if (run.kind !== 'pretrain' || isVolume3dRun(run))
        throw new StudioError('INVALID_ARGUMENT', `run ${runId} is a ${run.kind} run, not 2-D pretraining`);
      const plan = run.config;
      const checkpoint = workspace.runs.latestCheckpoint(runId);
      if (options.resume && !checkpoint)
        throw new StudioError('CONFLICT', `run ${runId} has no checkpoint to resume from; start a new run`);
      if (!options.resume && run.status !== 'queued') {
        throw new StudioError('CONFLICT', `run ${runId} is ${run.status}; use resume to continue it`);
      }
      if (options.resume && run.status === 'completed')
        throw new StudioError('CONFLICT', `run ${runId} is already completed`);

      const selection = await selectBackend(plan.backend, { log: options.log });
      const entries = imageEntries(workspace, plan);
      // The loader opens once the run is running (preparing the cache is part of the run); the
      // trainer draws nothing before its first step.
      const temporal = plan.recipe.domainRecipe?.name === 'satmae-temporal' ? plan.recipe.domainRecipe : null;
      // SatMAE temporal: T dates of one place per sample, read from their files (data/series-batches.ts).
      const series = temporal && temporalSource(workspace, plan, temporal);
      const source: BatchSource = series ?? { next: (rng, batchSize) => loader!.next(rng, batchSize) };
      trainer =
        checkpoint && options.resume
          ? await MaeTrainer.resume(checkpoint.path, source)
          : MaeTrainer.create(storedTrainConfig(plan.recipe), source);
      if (plan.init && !(checkpoint && options.resume)) {
        if (sha256File(plan.init.path) !== plan.init.sha256) {
          throw new StudioError(
            'CONFLICT',
            `init weights ${plan.init.path} changed since run ${runId} was planned; start a new run`,
          );
        }
        for (const line of describeInit(loadInitWeights(trainer.model, plan.init.path))) options.log?.(line);
        trainer.teacher?.update(trainer.model, 0); // HPM: the teacher starts from the loaded weights too
      }
      if (options.resume) workspace.runs.truncateMetrics(runId, trainer.step);
      workspace.runs.setStatus(runId, 'running', {
        backend: `${selection.backend} · ${selection.device} (${selection.reason})`,
      }); // the model card's line
      report({
        type: 'started',
        runId,
        backend: selection.backend,
        device: selection.device,
        step: trainer.step,
        totalSteps: plan.recipe.totalSteps,
      });
      if (!series) {
        let lastPrepareReport = 0;
        const data = await openTrainingData({
          projectDir: workspace.projectDir(run.projectId),
          plan,
          entries: entries.train,
          cache: options.cache !== false,
          // Stop or pause while preparing: what is prepared stays cached, the loop then ends the run.
          signal: AbortSignal.any([options.signal, options.pause].filter((signal) => signal !== undefined)),
          onPrepare: (progress) => {
            if (progress.done < progress.total && performance.now() - lastPrepareReport < 250) return;
            lastPrepareReport = performance.now();
            report({ type: 'preparing', ...progress });
          },
        });
        loader = data.loader;
        if (data.prepared)
          options.log?.(
            `training cache: ${data.prepared.total - data.prepared.read} of ${data.prepared.total}` +
              ` samples reused, ${data.prepared.read} read (${data.prepared.changed} changed on disk)`,
          );
      }

      // A fixed handful of images (validation ones when there are) for the reconstruction grids.
      const shown = (entries.val.length > 0 ? entries.val : entries.train).slice(0, RECONSTRUCTION_IMAGES);
      if (temporal) {
        // SatMAE temporal: places held out whole; the grid draws a row per date of a place or two.
        const places = Math.max(1, Math.floor(RECONSTRUCTION_IMAGES / temporal.frames));
        const sets = await temporalValidation(workspace, plan, temporal, temporalImages(workspace, plan), places);
        validation = sets.validation.length > 0 ? { batches: sets.validation } : null;
        previewSet = sets.preview && { batches: [sets.preview] };
      } else {
        validation = await validationSet(entries.val, plan);
        previewSet = await validationSet(shown, { ...plan, recipe: { ...plan.recipe, batchSize: shown.length } });
      }
      const reconstructEvery = options.reconstructEvery ?? Math.max(1, Math.min(plan.validateEvery, 100));
      const gridDir = runFolder(workspace.projectDir(run.projectId), runId);
      // A model without a pixel head (FG-MAE on features only) predicts no picture to show.
      // SatMAE: per-group heads, no full picture
      const drawsGrids =
        previewSet !== null && trainer.model.config.pixelHead !== false && !trainer.model.config.groupedBands;
      const writeGrid = async (step: number) => {
        if (!drawsGrids) return;
        const batch = previewSet!.batches[0]!;
        const pixels = await reconstruct(
          trainer!.model,
          batch.images,
          batch.masks,
          plan.data.mean,
          plan.data.std,
          batch.targets,
        );
        report({ type: 'reconstruction', step, file: await writeReconstructionGrid(pixels, gridDir, step) });
      };
      if (trainer.step === 0) await writeGrid(0);
      const metrics = new MetricBuffer(workspace, runId);
      const checkpointDir = path.join(workspace.projectDir(run.projectId), 'checkpoints');
      fs.mkdirSync(checkpointDir, { recursive: true });
      const record = (step: StepMetrics, ended: number, dataWaitShare: number) => {
        const left = eta.record(step.step, ended);
        const now = Date.now() / 1000;
        metrics.add(
          { step: step.step, name: 'train_loss', value: step.loss, time: now },
          { step: step.step, name: 'lr', value: step.lr, time: now },
          { step: step.step, name: 'images_per_second', value: step.imagesPerSecond, time: now },
          { step: step.step, name: 'data_wait_share', value: dataWaitShare, time: now },
        );
        report({
          type: 'step',
          ...step,
          totalSteps: plan.recipe.totalSteps,
          etaSeconds: left.seconds,
          etaBasis: left.basis,
          etaMeasuredSteps: left.measuredSteps,
          tensorBytes: tf.memory().numBytes,
          rssBytes: process.memoryUsage().rss,
          dataWaitShare,
        });
      };
      // The share of wall time spent waiting for data, over the interval since the last report.
      let intervalStart = performance.now();
      /** Records steps that just became known; a webgpu interval's steps ended msPerStep apart, not now. */
      const recordAll = (steps: StepMetrics[]) => {
        if (steps.length === 0) return;
        const nowMs = performance.now();
        const share = Math.min(1, (loader?.takeWaitMs() ?? 0) / Math.max(1e-3, nowMs - intervalStart));
        intervalStart = nowMs;
        steps.forEach((step, i) =>
          record(step, nowMs / 1000 - ((steps.length - 1 - i) * step.msPerStep) / 1000, share),
        );
      };
      /** Records the steps whose losses were still on the GPU (webgpu); throws at a non-finite one. */
      const flushLosses = async () => {
        try {
          recordAll(await trainer!.flushLosses());
        } catch (error) {
          if (error instanceof LateNonFiniteLossError) recordAll(error.finiteSteps);
          throw error;
        }
      };
      // Every checkpoint reads the pending losses first, so none is written from weights updated
      // after a non-finite loss (webgpu finds one at the end of its logging interval at the latest).
      const saveCheckpoint = async () => {
        await flushLosses();
        const file = path.join(checkpointDir, `run-${runId}-step-${trainer!.step}.safetensors`);
        await trainer!.saveCheckpoint(file);
        workspace.runs.addCheckpoint(runId, trainer!.step, file, sha256File(file));
        pruneCheckpoints(workspace, runId);
        report({ type: 'checkpoint', step: trainer!.step, path: file });
      };
      /** Saves a checkpoint, or says why not when the state is poisoned (the last good one stays). */
      const checkpointUnlessDiverged = async (): Promise<{ status: 'failed'; reason: string } | null> => {
        try {
          await saveCheckpoint();
          return null;
        } catch (error) {
          if (!(error instanceof NonFiniteLossError)) throw error;
          return {
            status: 'failed',
            reason: divergedReason(error, plan, workspace.runs.latestCheckpoint(runId)?.step ?? null),
          };
        }
      };

      const warmup = plan.estimate
        ? { seconds: plan.estimate.seconds - plan.estimate.parts.startup, totalSteps: plan.recipe.totalSteps }
        : null;
      const eta = new RunEta(plan.recipe.totalSteps, warmup, trainer.step);
      eta.start(performance.now() / 1000);
      let outcome: { status: 'completed' | 'failed' | 'stopped' | 'paused'; reason?: string } = { status: 'completed' };
      while (trainer.step < plan.recipe.totalSteps) {
        if (options.signal?.aborted) {
          outcome = { status: 'stopped', reason: 'stopped by request' };
          break;
        }
        if (options.pause?.aborted) {
          outcome = { status: 'paused' };
          break;
        }
        try {
          try {
            recordAll(await trainer.advance());
          } catch (error) {
            if (!(error instanceof GpuMemoryError)) throw error;
            outcome = { status: 'failed', reason: error.message };
            await saveCheckpoint(); // weights of the last good step: resume with a smaller batch
            break;
          }
          const done = trainer.step;
          const last = done === plan.recipe.totalSteps;
          const validates = validation !== null && (done % plan.validateEvery === 0 || last);
          const draws = done % reconstructEvery === 0 || last;
          if (validates || draws) await flushLosses(); // the curve is complete up to what is shown beside it
          if (validates) {
            const loss = await validationLoss(trainer, validation!);
            metrics.add({ step: done, name: 'val_loss', value: loss, time: Date.now() / 1000 });
            report({ type: 'validation', step: done, loss });
          }
          if (draws) await writeGrid(done);
          if (done % plan.checkpointEvery === 0 && !last) {
            await flushLosses();
            metrics.flush();
            await saveCheckpoint();
          }
          // that time is not the loader's share
          if (validates || draws || done % plan.checkpointEvery === 0) intervalStart = performance.now();
        } catch (error) {
          if (!(error instanceof NonFiniteLossError)) throw error;
          outcome = {
            status: 'failed',
            reason: divergedReason(error, plan, workspace.runs.latestCheckpoint(runId)?.step ?? null),
          };
          break;
        }
      }
      if (outcome.status !== 'failed') {
        try {
          await flushLosses();
        } catch (error) {
          if (!(error instanceof NonFiniteLossError)) throw error;
          outcome = {
            status: 'failed',
            reason: divergedReason(error, plan, workspace.runs.latestCheckpoint(runId)?.step ?? null),
          };
        }
      }
      metrics.flush();
      if (outcome.status !== 'failed') outcome = (await checkpointUnlessDiverged()) ?? outcome;
      workspace.runs.setStatus(runId, outcome.status, { error: outcome.reason ?? null });
      const result = { type: 'finished' as const, ...outcome, step: trainer.step, finalLoss: trainer.lastLoss };
      report(result);
      return result;
    });
  } finally {
    for (const batch of [...(validation?.batches ?? []), ...(previewSet?.batches ?? [])]) {
      batch.images.dispose();
      disposeRecipeTensors(batch.targets);
    }
    trainer?.dispose();
    await loader?.close();
    workspace.close();
  }
}

/**
 * What a person reads when a run diverged: the step, what was kept, and what to change. Every
 * backend here computes in fp32, so a lower learning rate is the change to make.
 */
export function divergedReason(error: NonFiniteLossError, plan: PretrainPlan, lastGoodStep: number | null): string {
  const recipe = storedTrainConfig(plan.recipe);
  const kept =
    lastGoodStep === null
      ? 'No checkpoint was written from this state (there was none before it).'
      : `No checkpoint was written from this state; the last good one (step ${lastGoodStep}) is kept.`;
  const lower = formatLearningRate(recipe.blr / 10);
  return (
    `${error.message}. ${kept} This run had ${describeRecipeLr(recipe)}: ` +
    `lower the learning rate and start a new run, e.g. base lr ${lower} (--blr ${lower}). ` +
    'It already computes in fp32, so higher precision is not the ' +
    'fix; if a lower lr diverges too, check the data normalisation'
  );
}

/** Buffers metric points and writes them in one transaction per flush. */
class MetricBuffer {
  #points: MetricPoint[] = [];
  #lastFlush = Date.now();
  #steps = 0;

  constructor(
    private readonly workspace: Workspace,
    private readonly runId: number,
  ) {}

  add(...points: MetricPoint[]): void {
    this.#points.push(...points);
    this.#steps += 1;
    if (this.#steps >= FLUSH_STEPS || Date.now() - this.#lastFlush >= FLUSH_MS) this.flush();
  }

  flush(): void {
    this.workspace.runs.appendMetrics(this.runId, this.#points);
    this.#points = [];
    this.#steps = 0;
    this.#lastFlush = Date.now();
  }
}

/** Deletes all but the newest checkpoints of a run, files and rows. */
function pruneCheckpoints(workspace: Workspace, runId: number): void {
  const all = workspace.runs.checkpoints(runId);
  for (const old of all.slice(0, Math.max(0, all.length - KEEP_CHECKPOINTS))) {
    workspace.runs.removeCheckpoint(old.id);
    fs.rmSync(old.path, { force: true });
  }
}
