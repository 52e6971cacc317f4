/**
 * Executes a planned 3-D MAE run in the training process, as `pretrain-run.ts` does a 2-D one:
 * picks the backend, trains on random crops of the training volumes, measures the validation
 * loss on the centre crops of the held-out volumes, writes metrics in batches, checkpoints (the
 * newest two kept), draws the reconstruction as slices at intervals, and records how the run
 * ended. Stop and pause end after the current step with a checkpoint; `resume` continues from the
 * newest one with the losses an uninterrupted run would have had. A non-finite loss fails the run
 * with the step, what was kept and what to change.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { StudioError } from '../../contract';
import { readEntry } from '../../data/batches';
import { centreCrop3d, randomCrop3d } from '../../data/volumes/volume-crops';
import { isotropicGrid } from '../../data/volumes/volume-resample';
import { VolumeShelf, type VolumeRef } from '../../data/volumes/volume-set';
import type { SeriesSlice, VoxelGrid } from '../../data/volumes/volume-planes';
import { Rng } from '../../mae/rng';
import type { Size3d } from '../../mae/volume3d/config3d';
import { makeMasks3d } from '../../mae/volume3d/masks3d';
import { selectBackend } from '../../runtime/backend';
import type { MetricPoint } from '../../store/runs';
import { Workspace } from '../../workspace';
import { RunEta } from '../eta';
import { sha256File } from '../pretrain-plan';
import type { ExecuteOptions } from '../run-progress';
import { typedRun, withRunStatus } from '../run-records';
import { runFolder } from '../run-files';
import { formatLearningRate } from '../schedule';
import type { StepMetrics } from '../step-metrics';
import { NonFiniteLossError } from '../trainer-errors';
import { isPretrain3dPlan, maskStrategy3d, type Pretrain3dPlan } from './plan3d';
import { writeReconstructionSlices } from './recon-slices3d';
import { Trainer3d, type CropSource, type FixedBatch3d } from './trainer3d';

/** Held-out volumes measured at most (their centre crops). */
const MAX_VALIDATION_VOLUMES = 32;
/** Metric rows are written after this many steps. */
const FLUSH_STEPS = 25;
/** Checkpoints kept per run: the newest and the one before it. */
const KEEP_CHECKPOINTS = 2;

/** Reads a stored slice of a DICOM series (frames through the studio's readers). */
function readSeriesSlice(slice: SeriesSlice, volume: VolumeRef) {
  return readEntry({ path: slice.path, frame: slice.frame, channels: volume.channels, bitDepth: 16 });
}

/** A volume's grid as the plan crops it: as stored, or resampled to isotropic voxels. */
async function plannedGrid(shelf: VolumeShelf, index: number, plan: Pretrain3dPlan): Promise<VoxelGrid> {
  const grid = await shelf.grid(index);
  return plan.volume3d.resample === 'isotropic' ? isotropicGrid(grid) : grid;
}

/** Random crops of the training volumes: each crop of a volume drawn uniformly, then a random place in it. */
export function volumeCropSource(shelf: VolumeShelf, plan: Pretrain3dPlan): CropSource {
  const size = plan.volume3d.model.volumeSize;
  return {
    next: async (rng, batchSize) => {
      const crops: Float32Array[] = [];
      for (let b = 0; b < batchSize; b++) {
        const index = rng.int(shelf.refs.length);
        const grid = await plannedGrid(shelf, index, plan);
        crops.push(randomCrop3d(grid, { size, ...plan.volume3d.crops }, rng, shelf.refs[index]!.name).values);
      }
      const values = new Float32Array(batchSize * crops[0]!.length);
      crops.forEach((crop, b) => values.set(crop, b * crop.length));
      return { values, shape: [batchSize, plan.data.channels, ...size] };
    },
  };
}

/** Centre crops of `volumes` with fixed masks (seeded), in batches: validation and the preview. */
export async function fixedBatches(
  volumes: readonly VolumeRef[],
  plan: Pretrain3dPlan,
  batchSize: number,
  stream: number,
): Promise<FixedBatch3d[]> {
  const { model } = plan.volume3d;
  const shelf = new VolumeShelf(volumes, readSeriesSlice, 1);
  const rng = Rng.fromSeed(plan.recipe.seed, stream);
  const batches: FixedBatch3d[] = [];
  try {
    for (let start = 0; start < volumes.length; start += batchSize) {
      const crops: Float32Array[] = [];
      for (let index = start; index < Math.min(volumes.length, start + batchSize); index++) {
        const grid = await plannedGrid(shelf, index, plan);
        const crop = centreCrop3d(grid, { size: model.volumeSize, ...plan.volume3d.crops }, volumes[index]!.name);
        crops.push(crop.values);
      }
      const values = new Float32Array(crops.length * crops[0]!.length);
      crops.forEach((crop, b) => values.set(crop, b * crop.length));
      batches.push({
        volumes: tf.tensor(values, [crops.length, plan.data.channels, ...model.volumeSize]),
        masks: makeMasks3d(maskStrategy3d(plan), model, crops.length, plan.recipe.maskRatio, rng),
      });
    }
  } finally {
    shelf.close();
  }
  return batches;
}

/** What a person reads when a 3-D run diverged: the step, what was kept, what to change. */
function divergedReason(error: NonFiniteLossError, plan: Pretrain3dPlan, lastGoodStep: number | null): string {
  const kept =
    lastGoodStep === null
      ? 'No checkpoint was written from this state (there was none before it).'
      : `No checkpoint was written from this state; the last good one (step ${lastGoodStep}) is kept.`;
  const lower = formatLearningRate(plan.recipe.blr / 10);
  return (
    `${error.message}. ${kept} This run had base lr ${formatLearningRate(plan.recipe.blr)} ` +
    `(peak ${formatLearningRate(plan.recipe.peakLr)}): lower the learning rate and start a new run, ` +
    `e.g. base lr ${lower} (--blr ${lower}). It already computes in fp32, so higher precision is not the fix`
  );
}

/** Runs (or resumes) a 3-D MAE run to its end; the run row records the outcome. */
export async function executePretrain3d(workspaceDir: string, runId: number, options: ExecuteOptions = {}) {
  const workspace = new Workspace(workspaceDir);
  const report = options.onProgress ?? (() => {});
  let trainer: Trainer3d | undefined;
  let shelf: VolumeShelf | undefined;
  const fixed: FixedBatch3d[] = [];
  try {
    return await withRunStatus(workspace.runs, runId, async () => {
      const run = typedRun(workspace.runs.get(runId));
      if (run.kind !== 'pretrain' || !isPretrain3dPlan(run.config))
        throw new StudioError('INVALID_ARGUMENT', `run ${runId} is not a 3-D MAE run`);
      const plan = run.config;
      const checkpoint = workspace.runs.latestCheckpoint(runId);
      if (options.resume && !checkpoint)
        throw new StudioError('CONFLICT', `run ${runId} has no checkpoint to resume from; start a new run`);
      if (!options.resume && run.status !== 'queued')
        throw new StudioError('CONFLICT', `run ${runId} is ${run.status}; use resume to continue it`);
      if (options.resume && run.status === 'completed')
        throw new StudioError('CONFLICT', `run ${runId} is already completed`);
      for (const volume of [...plan.data.trainVolumes, ...plan.data.valVolumes]) {
        const file = volume.source.kind === 'nifti' ? volume.source.path : volume.source.slices[0]?.path;
        if (file && !fs.existsSync(file))
          throw new StudioError('NOT_FOUND', `${file} (volume ${volume.name}) no longer exists on disk`);
      }

      const selection = await selectBackend(plan.backend, { log: options.log });
      trainer = checkpoint && options.resume ? await Trainer3d.resume(checkpoint.path, plan) : Trainer3d.create(plan);
      if (options.resume) workspace.runs.truncateMetrics(runId, trainer.step);
      workspace.runs.setStatus(runId, 'running', {
        backend: `${selection.backend} · ${selection.device} (${selection.reason})`,
      });
      const { totalSteps } = plan.recipe;
      report({
        type: 'started',
        runId,
        backend: selection.backend,
        device: selection.device,
        step: trainer.step,
        totalSteps,
      });
      options.log?.(
        `3-D MAE: ${plan.data.trainVolumes.length} training / ${plan.data.valVolumes.length} validation volumes, ` +
          `crops ${plan.volume3d.model.volumeSize.join('×')} of ${plan.volume3d.model.patchSize.join('×')} patches` +
          `${plan.volume3d.resample === 'isotropic' ? ', resampled to isotropic voxels' : ''}`,
      );

      shelf = new VolumeShelf(plan.data.trainVolumes, readSeriesSlice);
      const source = volumeCropSource(shelf, plan);
      const validation = await fixedBatches(
        plan.data.valVolumes.slice(0, MAX_VALIDATION_VOLUMES),
        plan,
        plan.recipe.batchSize,
        202,
      );
      fixed.push(...validation);
      const shown = plan.data.valVolumes.length > 0 ? plan.data.valVolumes : plan.data.trainVolumes;
      const [preview] = await fixedBatches(shown.slice(0, 1), plan, 1, 203);
      fixed.push(preview!);
      const spacing: Size3d =
        plan.volume3d.resample === 'isotropic' ? [1, 1, 1] : ([...shown[0]!.spacing] as unknown as Size3d);
      const gridDir = runFolder(workspace.projectDir(run.projectId), runId);
      const reconstructEvery = options.reconstructEvery ?? Math.max(1, Math.min(plan.validateEvery, 100));
      const draw = async (step: number) => {
        const file = await writeReconstructionSlices(
          trainer!.model,
          preview!.volumes,
          preview!.masks,
          spacing,
          gridDir,
          step,
        );
        report({ type: 'reconstruction', step, file });
      };
      if (trainer.step === 0) await draw(0);

      let points: MetricPoint[] = [];
      const flush = () => {
        workspace.runs.appendMetrics(runId, points);
        points = [];
      };
      const checkpointDir = path.join(workspace.projectDir(run.projectId), 'checkpoints');
      fs.mkdirSync(checkpointDir, { recursive: true });
      const saveCheckpoint = async () => {
        const file = path.join(checkpointDir, `run-${runId}-step-${trainer!.step}.safetensors`);
        await trainer!.saveCheckpoint(file);
        workspace.runs.addCheckpoint(runId, trainer!.step, file, sha256File(file));
        const all = workspace.runs.checkpoints(runId);
        for (const old of all.slice(0, Math.max(0, all.length - KEEP_CHECKPOINTS))) {
          workspace.runs.removeCheckpoint(old.id);
          fs.rmSync(old.path, { force: true });
        }
        report({ type: 'checkpoint', step: trainer!.step, path: file });
      };
      const failed = (error: NonFiniteLossError) => ({
        status: 'failed' as const,
        reason: divergedReason(error, plan, workspace.runs.latestCheckpoint(runId)?.step ?? null),
      });
      const eta = new RunEta(totalSteps, null, trainer.step);
      eta.start(performance.now() / 1000);
      const record = (step: StepMetrics) => {
        const left = eta.record(step.step, performance.now() / 1000);
        const now = Date.now() / 1000;
        points.push(
          { step: step.step, name: 'train_loss', value: step.loss, time: now },
          { step: step.step, name: 'lr', value: step.lr, time: now },
          { step: step.step, name: 'images_per_second', value: step.imagesPerSecond, time: now },
        );
        if (step.step % FLUSH_STEPS === 0) flush();
        report({
          type: 'step',
          ...step,
          totalSteps,
          etaSeconds: left.seconds,
          etaBasis: left.basis,
          etaMeasuredSteps: left.measuredSteps,
          tensorBytes: tf.memory().numBytes,
          rssBytes: process.memoryUsage().rss,
        });
      };

      let outcome: { status: 'completed' | 'failed' | 'stopped' | 'paused'; reason?: string } = { status: 'completed' };
      while (trainer.step < totalSteps) {
        if (options.signal?.aborted) {
          outcome = { status: 'stopped', reason: 'stopped by request' };
          break;
        }
        if (options.pause?.aborted) {
          outcome = { status: 'paused' };
          break;
        }
        try {
          record(await trainer.trainStep(source));
        } catch (error) {
          if (!(error instanceof NonFiniteLossError)) throw error;
          outcome = failed(error);
          break;
        }
        const done = trainer.step;
        const last = done === totalSteps;
        if (validation.length > 0 && (done % plan.validateEvery === 0 || last)) {
          const loss = await trainer.validationLoss(validation);
          points.push({ step: done, name: 'val_loss', value: loss, time: Date.now() / 1000 });
          report({ type: 'validation', step: done, loss });
        }
        if (done % reconstructEvery === 0 || last) await draw(done);
        if (done % plan.checkpointEvery === 0 && !last) {
          flush();
          await saveCheckpoint();
        }
      }
      flush();
      if (outcome.status !== 'failed') {
        try {
          await saveCheckpoint();
        } catch (error) {
          if (!(error instanceof NonFiniteLossError)) throw error;
          outcome = failed(error);
        }
      }
      workspace.runs.setStatus(runId, outcome.status, { error: outcome.reason ?? null });
      const result = { type: 'finished' as const, ...outcome, step: trainer.step, finalLoss: trainer.lastLoss };
      report(result);
      return result;
    });
  } finally {
    for (const batch of fixed) batch.volumes.dispose();
    trainer?.dispose();
    shelf?.close();
    workspace.close();
  }
}
