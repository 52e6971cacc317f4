/**
 * The new-run dialog's time estimate, measured rather than guessed: in the training process,
 * pick the backend the run would use, build the model, run one step to compile and warm the
 * caches, then time a few more. Nothing is stored; the weights are thrown away.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fileBatchSource } from '../data/batches';
import { selectBackend } from '../runtime/backend';
import { gpuBytesInUse, largestBatchForAdapter } from '../runtime/webgpu-memory';
import { Workspace } from '../workspace';
import type { PretrainPlan } from './pretrain-plan';
import { imageEntries } from './pretrain-run';
import { MaeTrainer } from './trainer';

/** Steps timed after the first (compiling) one. */
const TIMED_STEPS = 3;

/** What a warm-up measured. */
export interface WarmupMeasurement {
  backend: string;
  device: string;
  /** Why this backend: requested, or why each faster one was not used. */
  reason: string;
  /** On webgpu: tensor bytes in GPU buffers, the adapter's largest buffer and the largest batch it allows. */
  gpu: { bytesInUse: number; maxBufferBytes: number; largestBatch: number } | null;
  /** Median milliseconds of one optimizer step after the first. */
  msPerStep: number;
  secondsPerEpoch: number;
  /** Largest tensor memory seen, and the process's resident memory at the end. */
  tensorBytes: number;
  rssBytes: number;
}

/** Times a few warm-up steps of a plan on the backend it would use. */
export async function measureWarmup(workspaceDir: string, plan: PretrainPlan, options: { log?: (line: string) => void } = {}): Promise<WarmupMeasurement> {
  const selection = await selectBackend(plan.backend, { log: options.log });
  const workspace = new Workspace(workspaceDir);
  let entries;
  try {
    entries = imageEntries(workspace, plan);
  } finally {
    workspace.close();
  }
  const source = fileBatchSource({ images: entries.train, imgSize: plan.recipe.model.imgSize, mean: plan.data.mean, std: plan.data.std });
  const trainer = MaeTrainer.create({ ...plan.recipe, totalSteps: Math.max(plan.recipe.totalSteps, TIMED_STEPS + 1) }, source);
  try {
    let tensorBytes = 0;
    let gpuBytes = 0;
    const times: number[] = [];
    for (let i = 0; i <= TIMED_STEPS; i++) {
      const step = await trainer.trainStep();
      tensorBytes = Math.max(tensorBytes, tf.memory().numBytes);
      gpuBytes = Math.max(gpuBytes, gpuBytesInUse() ?? 0);
      if (i > 0) times.push(step.msPerStep);
    }
    const msPerStep = times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    return {
      backend: selection.backend,
      device: selection.device,
      reason: selection.reason,
      gpu: selection.adapter ? {
        bytesInUse: gpuBytes,
        maxBufferBytes: Math.min(selection.adapter.maxBufferSize, selection.adapter.maxStorageBufferBindingSize),
        largestBatch: largestBatchForAdapter(plan.recipe.model, plan.recipe.maskRatio, selection.adapter),
      } : null,
      msPerStep,
      secondsPerEpoch: (msPerStep * plan.stepsPerEpoch) / 1000,
      tensorBytes,
      rssBytes: process.memoryUsage().rss,
    };
  } finally {
    trainer.dispose();
  }
}
