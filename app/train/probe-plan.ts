/**
 * Planning a probe: options merged over the defaults and validated once, stored as a queued
 * run of kind probe whose parent is the pretraining run. (Kept apart from probe-run.ts so the
 * studio process can plan without loading the training backends.)
 */
import { StudioError } from '../contract';
import type { BackendPreference } from '../runtime/backend';
import type { Workspace } from '../workspace';
import { DEFAULT_KNN } from './knn';
import type { Pooling } from './probe-model';
import { isVolume3dRun, typedRun } from './run-records';

/** What a user chooses for a probe. */
export interface ProbeOptions {
  method: 'linear' | 'knn';
  pooling: Pooling;
  /** kNN neighbours. */
  k: number;
  /**
   * Fit on at most this many labelled train images per class (a seeded draw, the same for the
   * pretrained and the random-init encoder); null fits on every one. Shows what pretraining buys
   * when labels are scarce, which is when it matters most.
   */
  labelsPerClass: number | null;
  /**
   * The encoder block whose tokens are probed (1..depth; depth = the last), or `best`: every
   * block tried by cross-validation within the fitted training images, the winner scored on
   * the validation split. The random-init encoder and the report use the same block.
   */
  block: number | 'best';
  backend: BackendPreference;
}

/** Defaults: the linear probe on mean-pooled patch tokens. */
export const DEFAULT_PROBE: ProbeOptions = {
  method: 'linear', // the MAE paper's headline frozen-feature protocol
  pooling: 'mean', // on small data the mean of patch tokens probes better than the cls token
  k: DEFAULT_KNN.k,
  labelsPerClass: null, // every labelled image of the train split
  // MAE features often probe best below the top block; the choice is made on the training split
  // only (no peeking at the reported images) and costs a few extra fits of a cached-feature probe.
  block: 'best',
  backend: 'auto',
};

/** Merges user options over the defaults; throws naming the field. */
export function validateProbeOptions(input: Partial<ProbeOptions>): ProbeOptions {
  const options = {
    ...DEFAULT_PROBE,
    ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)),
  } as ProbeOptions;
  if (!['linear', 'knn'].includes(options.method))
    throw new StudioError(
      'INVALID_ARGUMENT',
      `probe.method must be linear or knn, got ${JSON.stringify(options.method)}`,
    );
  if (!['cls', 'mean'].includes(options.pooling))
    throw new StudioError(
      'INVALID_ARGUMENT',
      `probe.pooling must be cls or mean, got ${JSON.stringify(options.pooling)}`,
    );
  if (!Number.isInteger(options.k) || options.k < 1)
    throw new StudioError('INVALID_ARGUMENT', `probe.k must be a positive integer, got ${JSON.stringify(options.k)}`);
  if (options.labelsPerClass !== null && (!Number.isInteger(options.labelsPerClass) || options.labelsPerClass < 1)) {
    throw new StudioError(
      'INVALID_ARGUMENT',
      `probe.labelsPerClass must be a positive integer or null ` +
        `(every label), got ${JSON.stringify(options.labelsPerClass)}`,
    );
  }
  if (options.block !== 'best' && (!Number.isInteger(options.block) || options.block < 1)) {
    throw new StudioError(
      'INVALID_ARGUMENT',
      `probe.block must be a block number (1 = the first) or "best", got ${JSON.stringify(options.block)}`,
    );
  }
  return options;
}

/** The stored config of a probe run. */
export interface ProbeConfig extends ProbeOptions {
  pretrainRunId: number;
}

/** Plans a probe of a pretraining run: a queued run of kind probe with the run as parent. */
export function planProbe(workspace: Workspace, pretrainRunId: number, input: Partial<ProbeOptions>): number {
  const parent = typedRun(workspace.runs.get(pretrainRunId));
  if (parent.kind !== 'pretrain')
    throw new StudioError('INVALID_ARGUMENT', `run ${pretrainRunId} is a ${parent.kind} run; probe a pretraining run`);
  if (!workspace.runs.latestCheckpoint(pretrainRunId))
    throw new StudioError('CONFLICT', `run ${pretrainRunId} has no checkpoint yet; pretrain it first`);
  const config: ProbeConfig = { ...validateProbeOptions(input), pretrainRunId };
  const { depth } = isVolume3dRun(parent) ? parent.config.volume3d.model : parent.config.recipe.model;
  if (isVolume3dRun(parent) && ((config.block !== 'best' && config.block !== depth) || config.labelsPerClass !== null))
    throw new StudioError(
      'INVALID_ARGUMENT',
      `run ${pretrainRunId} is a 3-D MAE run: its probe reads the encoder's last block (${depth}) ` +
        'of every labelled volume; leave probe.block at "best" and probe.labelsPerClass empty',
    );
  if (config.block !== 'best' && config.block > depth) {
    throw new StudioError(
      'INVALID_ARGUMENT',
      `probe.block must be 1..${depth} (run ${pretrainRunId}'s encoder ` +
        `has ${depth} block${depth === 1 ? '' : 's'}) or "best", got ${config.block}`,
    );
  }
  return workspace.runs.create({ projectId: parent.projectId, kind: 'probe', config, parentRunId: pretrainRunId }).id;
}
