/**
 * What a 2-D MAE checkpoint holds, apart from the file format (`mae/weights/safetensors.ts`): each
 * group of variables under its prefix (`model.`, `optimizer.m.`, `optimizer.v.`, `teacher.`), and
 * the `studio` metadata entry (config, steps, schedule, RNG states). The tensors are checked before
 * anything is written, so a poisoned state never replaces the last good checkpoint. The 3-D
 * trainer (`volume3d/trainer3d.ts`) writes and restores its groups through the same two functions.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RngState } from '../mae/rng';
import { readSafetensors, type NamedTensor } from '../mae/weights/safetensors';
import type { TrainConfig } from './config';
import type { LrSchedule } from './schedule';
import { NonFiniteLossError } from './trainer-errors';

/** The `format` of a 2-D checkpoint's metadata: what `readCheckpoint` accepts. */
export const CHECKPOINT_FORMAT = 'mae-studio-checkpoint';

/** The `studio` metadata entry of a checkpoint. */
export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: 1;
  config: TrainConfig;
  step: number;
  optimizerStep: number;
  lastLoss: number | null;
  schedule: LrSchedule & { nextLr: number };
  rng: { data: RngState; mask: RngState };
}

/** Variables a checkpoint holds under one prefix (`model.`, `optimizer.m.`, …). */
export type CheckpointGroup = readonly [Map<string, tf.Variable>, string];

/**
 * A checkpoint's tensors: each group's variables under its prefix (`model.`, `optimizer.m.`, …).
 * Throws `NonFiniteLossError` (at `step`, `lr`) naming the first tensor holding NaN or ∞, so a
 * poisoned state is never written over the last good checkpoint.
 */
export async function checkpointTensors(
  groups: readonly CheckpointGroup[],
  step: number,
  lr: number,
): Promise<Map<string, NamedTensor>> {
  const tensors = new Map<string, NamedTensor>();
  for (const [variables, prefix] of groups)
    for (const [name, variable] of variables) {
      const data = (await variable.data()) as Float32Array;
      if (!data.every(Number.isFinite))
        throw new NonFiniteLossError(step, `${prefix}${name} holds NaN or infinite values`, lr);
      tensors.set(`${prefix}${name}`, { shape: variable.shape, data });
    }
  return tensors;
}

/** Assigns each group's variables from a checkpoint's `tensors`; throws naming `file` and the first one missing. */
export function restoreTensors(
  groups: readonly CheckpointGroup[],
  tensors: ReadonlyMap<string, NamedTensor>,
  file: string,
): void {
  for (const [variables, prefix] of groups)
    for (const [name, variable] of variables) {
      const saved = tensors.get(`${prefix}${name}`);
      if (!saved) throw new Error(`checkpoint ${file} lacks ${prefix}${name}`);
      tf.tidy(() => variable.assign(tf.tensor(saved.data, variable.shape)));
    }
}

/** A 2-D checkpoint's tensors and metadata; throws when the file at `path` is not one. */
export async function readCheckpoint(
  path: string,
): Promise<{ tensors: Map<string, NamedTensor>; meta: CheckpointMeta }> {
  const { tensors, metadata } = await readSafetensors(path);
  const meta = JSON.parse(metadata.studio ?? '{}') as CheckpointMeta;
  if (meta.format !== CHECKPOINT_FORMAT) throw new Error(`${path} is not a MAE Studio checkpoint`);
  return { tensors, meta };
}
