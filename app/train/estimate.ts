/**
 * The new-run dialog's time estimate, measured rather than guessed: in a training process, pick
 * the backend the run would use, read its data the way the run does, build the model and run one
 * step to compile and warm the caches, then time a few more steps — and, once each, the passes a
 * run makes between steps (validation, a reconstruction grid, a checkpoint written and hashed).
 * `projectRunTime` adds them up for the whole run. Nothing is stored; the weights are thrown away.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { WarmupEstimate } from '../contract';
import { fileBatchSource } from '../data/batches';
import { selectBackend } from '../runtime/backend';
import { gpuBytesInUse } from '../runtime/webgpu-memory';
import { largestBatchForAdapter } from './webgpu-batch-limit';
import { Workspace } from '../workspace';
import { sha256File, type PretrainPlan } from './pretrain-plan';
import { imageEntries, temporalImages, temporalSource } from './pretrain-images';
import { validationLoss, validationSet } from './pretrain-validation';
import { temporalValidation } from './recipes/temporal-validation';
import type { BatchSource } from '../data/batch';
import { RECONSTRUCTION_IMAGES, reconstruct, writeReconstructionGrid } from './reconstruction';
import { projectRunTime } from './run-time';
import { MaeTrainer } from './trainer';
import { disposeRecipeTensors } from './recipes/domain-recipes';

/** Steps timed after the first (compiling) one. */
const TIMED_STEPS = 3;

/** Times a few warm-up steps of a plan on the backend it would use, and one of each periodic pass. */
export async function measureWarmup(
  workspaceDir: string,
  plan: PretrainPlan,
  options: { log?: (line: string) => void } = {},
): Promise<WarmupEstimate> {
  const selection = await selectBackend(plan.backend, { log: options.log });
  const workspace = new Workspace(workspaceDir);
  let entries;
  const temporal = plan.recipe.domainRecipe?.name === 'satmae-temporal' ? plan.recipe.domainRecipe : null;
  let series: BatchSource | null = null;
  let temporalSets: Awaited<ReturnType<typeof temporalValidation>> | null = null;
  try {
    entries = imageEntries(workspace, plan);
    if (temporal) {
      series = temporalSource(workspace, plan, temporal);
      // as the run: held-out places validated, a place's dates in the grid (pretrain-run.ts)
      const places = Math.max(1, Math.floor(RECONSTRUCTION_IMAGES / temporal.frames));
      temporalSets = await temporalValidation(workspace, plan, temporal, temporalImages(workspace, plan), places);
    }
  } finally {
    workspace.close();
  }
  const source =
    series ??
    fileBatchSource({
      images: entries.train,
      imgSize: plan.recipe.model.imgSize,
      mean: plan.data.mean,
      std: plan.data.std,
      ...(plan.data.transform && { transform: plan.data.transform }),
    });
  const trainer = MaeTrainer.create(
    { ...plan.recipe, totalSteps: Math.max(plan.recipe.totalSteps, TIMED_STEPS + 1) },
    source,
  );
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-warmup-'));
  const shown = (entries.val.length > 0 ? entries.val : entries.train).slice(0, RECONSTRUCTION_IMAGES);
  const validation = temporalSets
    ? temporalSets.validation.length > 0
      ? { batches: temporalSets.validation }
      : null
    : await validationSet(entries.val, plan);
  const preview = temporalSets
    ? temporalSets.preview && { batches: [temporalSets.preview] }
    : await validationSet(shown, { ...plan, recipe: { ...plan.recipe, batchSize: shown.length } });
  try {
    let tensorBytes = 0;
    let gpuBytes = 0;
    const times: number[] = [];
    let startupMs = 0;
    for (let i = 0; i <= TIMED_STEPS; i++) {
      const step = await trainer.trainStep();
      tensorBytes = Math.max(tensorBytes, tf.memory().numBytes);
      gpuBytes = Math.max(gpuBytes, gpuBytesInUse() ?? 0);
      // performance.now() counts from this process's start, as a run's process would.
      if (i === 0) startupMs = performance.now();
      else times.push(step.msPerStep);
    }
    const msPerStep = times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    const validationMs = await timed(async () => validation && validationLoss(trainer, validation));
    const reconstructionMs = await timed(async () => {
      // the run draws no grid either
      if (!preview || trainer.model.config.pixelHead === false || trainer.model.config.groupedBands) return;
      const batch = preview.batches[0]!;
      await writeReconstructionGrid(
        await reconstruct(trainer.model, batch.images, batch.masks, plan.data.mean, plan.data.std, batch.targets),
        scratch,
        0,
      );
    });
    const checkpointMs = await timed(async () => {
      const file = path.join(scratch, 'checkpoint.safetensors');
      await trainer.saveCheckpoint(file);
      sha256File(file); // the run hashes every checkpoint it records
    });
    const costs = {
      backend: selection.backend,
      device: selection.device,
      msPerStep,
      measuredSteps: times.length,
      startupMs,
      validationMs,
      reconstructionMs,
      checkpointMs,
    };
    return {
      ...costs,
      reason: selection.reason,
      gpu: selection.adapter
        ? {
            bytesInUse: gpuBytes,
            maxBufferBytes: Math.min(selection.adapter.maxBufferSize, selection.adapter.maxStorageBufferBindingSize),
            largestBatch: largestBatchForAdapter(plan.recipe.model, plan.recipe.maskRatio, selection.adapter),
          }
        : null,
      secondsPerEpoch: (msPerStep * plan.stepsPerEpoch) / 1000,
      time: projectRunTime(costs, plan),
      tensorBytes,
      rssBytes: process.memoryUsage().rss,
    };
  } finally {
    for (const batch of [...(validation?.batches ?? []), ...(preview?.batches ?? [])]) {
      batch.images.dispose();
      disposeRecipeTensors(batch.targets);
    }
    trainer.dispose();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}
