/**
 * The weights a downstream job starts from: a pretraining run's newest checkpoint (encoder +
 * decoder, the decoder unused downstream) or a fine-tuning run's classifier (encoder + head).
 * Also the "random init" baseline: the very initialisation the pretraining run started from
 * (same config, same seed), so a probe shows exactly what pretraining bought.
 */
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { StudioError } from '../contract';
import type { MaeConfig } from '../mae/config';
import { createMae, disposeModel, type MaeModel } from '../mae/model';
import type { RunRecord } from '../store/runs';
import type { Workspace } from '../workspace';
import { silenceBackendBanner } from '../runtime/backend';
import { readSafetensors, type NamedTensor } from '../mae/weights/safetensors';
import type { PretrainPlan } from './pretrain-plan';
import { isVolume3dRun, typedRun, type PretrainRun, type TypedRun } from './run-records';
import type { CheckpointMeta } from './trainer-checkpoint';

/** A linear classification head on pooled encoder features. */
export interface ClassifierHead {
  /** [D, K], stored [in, out] like every linear weight here. */
  weight: tf.Tensor2D;
  /** [K] */
  bias: tf.Tensor1D;
  classes: string[];
}

/** How features are pooled from the encoder's tokens. */
export type Pooling = 'cls' | 'mean';

/** The `studio` metadata of a fine-tuned classifier checkpoint. */
export interface ClassifierMeta {
  format: 'mae-studio-classifier';
  version: 1;
  model: MaeConfig;
  classes: string[];
  pooling: Pooling;
  /** The pretraining run whose encoder was fine-tuned. */
  pretrainRunId: number;
  step: number;
}

/** A model loaded for downstream use; `dispose` frees it. */
export interface LoadedRun {
  run: TypedRun;
  /** The pretraining run that defines the data plan (the run itself, or its parent). */
  pretrainRun: PretrainRun;
  plan: PretrainPlan;
  model: MaeModel;
  head: ClassifierHead | null;
  pooling: Pooling | null;
  checkpointPath: string;
  step: number;
  dispose(): void;
}

/** The pretraining run behind `run` (itself, or the parent of a probe / fine-tune run). */
export function pretrainRunOf(workspace: Workspace, record: RunRecord): PretrainRun {
  const run = typedRun(record);
  if (isVolume3dRun(run))
    throw new StudioError(
      'UNSUPPORTED',
      `run ${run.id} is a 3-D MAE run: it encodes volumes, not images; probe it on per-volume labels or export it`,
    );
  if (run.kind === 'pretrain') return run;
  if (run.parentRunId === null) throw new StudioError('NOT_FOUND', `run ${run.id} has no pretraining run behind it`);
  return pretrainRunOf(workspace, workspace.runs.get(run.parentRunId));
}

function assignParams(
  model: MaeModel,
  tensors: Map<string, NamedTensor>,
  prefix: string,
  file: string,
  encoderOnly: boolean,
): void {
  for (const [name, variable] of model.params) {
    if (encoderOnly && (name.startsWith('decoder_') || name === 'mask_token')) continue;
    const saved = tensors.get(`${prefix}${name}`);
    if (!saved) throw new StudioError('INVALID_ARGUMENT', `checkpoint ${file} lacks ${prefix}${name}`);
    if (saved.shape.join(',') !== variable.shape.join(',')) {
      throw new StudioError(
        'INVALID_ARGUMENT',
        `checkpoint ${file}: ${name} is [${saved.shape}], the model needs [${variable.shape}]`,
      );
    }
    tf.tidy(() => variable.assign(tf.tensor(saved.data, variable.shape)));
  }
}

/**
 * Loads the newest weights of a pretraining or fine-tuning run. Throws NOT_FOUND when the run
 * has no checkpoint yet (still queued, or failed before its first one).
 */
export async function loadRunModel(workspace: Workspace, runId: number): Promise<LoadedRun> {
  await tf.ready();
  silenceBackendBanner();
  const run = typedRun(workspace.runs.get(runId));
  if (run.kind === 'probe')
    throw new StudioError(
      'INVALID_ARGUMENT',
      `run ${runId} is a probe; it has no weights of its own — use its pretraining run ${run.parentRunId}`,
    );
  const pretrainRun = pretrainRunOf(workspace, run);
  const plan = pretrainRun.config;
  const checkpoint = workspace.runs.latestCheckpoint(runId);
  if (!checkpoint)
    throw new StudioError('NOT_FOUND', `run ${runId} (${run.status}) has no checkpoint yet; train it first`);
  if (!fs.existsSync(checkpoint.path))
    throw new StudioError('NOT_FOUND', `checkpoint ${checkpoint.path} of run ${runId} is missing on disk`);
  const { tensors, metadata } = await readSafetensors(checkpoint.path);
  const meta = JSON.parse(metadata.studio ?? '{}') as Partial<
    Omit<CheckpointMeta, 'format'> & Omit<ClassifierMeta, 'format'>
  > & { format?: string };
  if (run.kind === 'pretrain') {
    if (meta.format !== 'mae-studio-checkpoint' || !meta.config)
      throw new StudioError('INVALID_ARGUMENT', `${checkpoint.path} is not a MAE Studio checkpoint`);
    const model = createMae(meta.config.model, meta.config.seed);
    assignParams(model, tensors, 'model.', checkpoint.path, false);
    return {
      run,
      pretrainRun,
      plan,
      model,
      head: null,
      pooling: null,
      checkpointPath: checkpoint.path,
      step: checkpoint.step,
      dispose: () => disposeModel(model),
    };
  }
  if (meta.format !== 'mae-studio-classifier' || !meta.model || !meta.classes)
    throw new StudioError('INVALID_ARGUMENT', `${checkpoint.path} is not a MAE Studio classifier`);
  const model = createMae(meta.model, 0);
  assignParams(model, tensors, 'model.', checkpoint.path, true);
  const weight = tensors.get('head.weight');
  const bias = tensors.get('head.bias');
  if (!weight || !bias) throw new StudioError('INVALID_ARGUMENT', `${checkpoint.path} lacks the classifier head`);
  const head: ClassifierHead = {
    weight: tf.tensor2d(weight.data, weight.shape as [number, number]),
    bias: tf.tensor1d(bias.data),
    classes: meta.classes,
  };
  return {
    run,
    pretrainRun,
    plan,
    model,
    head,
    pooling: meta.pooling ?? 'mean',
    checkpointPath: checkpoint.path,
    step: checkpoint.step,
    dispose: () => {
      disposeModel(model);
      head.weight.dispose();
      head.bias.dispose();
    },
  };
}

/** The untrained encoder the pretraining run started from (same config, same seed). */
export function randomInitModel(plan: PretrainPlan): MaeModel {
  return createMae(plan.recipe.model, plan.recipe.seed);
}
