/**
 * The runs part of the contract: what the history shows of a run (its recipe, status, metrics,
 * reconstruction grid), the history's methods, and the events of a live run (progress, status
 * changes). `contract.ts` merges these into the one API (and re-exports the types); the methods
 * that start and steer a run are `contract-training.ts`'s. No Node, Electron or DOM here.
 */
import { z } from 'zod';
import type { ChannelConversion } from './contract-channels';
import { Id, method, returns } from './contract-method';
import type { DomainRecipeSummary } from './contract-recipes';
import type { LR_RULE_CHOICES, MaskStrategy } from './contract-training';

// ---------------------------------------------------------------------------------------------
// Value types

/** Where a run stands: waiting, working, paused, or how it ended. */
export const RUN_STATUS_NAMES = [
  'queued',
  'running',
  'paused',
  'completed',
  'failed',
  'interrupted',
  'stopped',
] as const;
/** One of `RUN_STATUS_NAMES`. */
export type RunStatusName = (typeof RUN_STATUS_NAMES)[number];

// 3-D runs (their methods: contract-volume-runs.ts)
/** Three sizes in (slices, rows, columns) order. */
export type Size3dTuple = [number, number, number];

/** How crops meet anisotropic voxels: as stored, or resampled to the finest spacing first. */
export const RESAMPLE_CHOICES = ['none', 'isotropic'] as const;

/** What a 3-D run's summary adds to its recipe (`RunRecipe.volume3d`). */
export interface Volume3dRunSummary {
  crop: Size3dTuple;
  patch: Size3dTuple;
  resample: (typeof RESAMPLE_CHOICES)[number];
  /** Why the patch and resampling are what they are (the suggestion's reason, or "chosen by hand"). */
  why: string;
  trainVolumes: number;
  valVolumes: number;
}

/** A run's recipe as the history shows it. */
export interface RunRecipe {
  imgSize: number;
  patchSize: number;
  embedDim: number;
  depth: number;
  decoderEmbedDim: number;
  decoderDepth: number;
  channels: number;
  /** How images of each channel count became the input bands; absent in runs planned before. */
  channelConversions?: Record<string, ChannelConversion>;
  /** Classes the channel plan left out (none of their images was trained on); absent before. */
  excludedClasses?: string[];
  maskRatio: number;
  maskStrategy: MaskStrategy;
  normPixLoss: boolean;
  /**
   * The domain recipe with its options in words and the paper it follows (absent in runs planned
   * before recipes: those are the paper's MAE).
   */
  domainRecipe?: DomainRecipeSummary;
  batchSize: number;
  accumSteps: number;
  totalSteps: number;
  stepsPerEpoch: number;
  blr: number;
  /** The rule that turned `blr` into the peak lr ('linear' for runs planned before rules existed). */
  lrRule: (typeof LR_RULE_CHOICES)[number];
  /** Peak lr after warmup. */
  peakLr: number;
  seed: number;
  backend: string;
  /** A 3-D MAE run's crop, patch, resampling and volumes (absent: a 2-D run). */
  volume3d?: Volume3dRunSummary;
  trainImages: number;
  valImages: number;
}

/** A run that waited for data more than this share of its time was bound by its data, not its model. */
export const DATA_BOUND_SHARE = 0.2;

/** One run in the history. */
export interface RunSummary {
  id: number;
  projectId: number;
  kind: 'pretrain' | 'probe' | 'finetune';
  /** Its place among the project's runs of this kind, from 1: what the UI calls it ("Pretrain #3"). */
  number: number;
  status: RunStatusName;
  /** The backend and device it ran on, once started. */
  backend: string | null;
  createdAt: string;
  finishedAt: string | null;
  error: string | null;
  recipe: RunRecipe | null;
  /** Last step with a recorded loss. */
  step: number;
  finalTrainLoss: number | null;
  finalValLoss: number | null;
  /** Seconds spent training (pauses excluded). */
  trainingSeconds: number;
  checkpointStep: number | null;
  /**
   * Pretraining: the mean share of its time spent waiting for data (null for runs recorded
   * before it was measured); above {@link DATA_BOUND_SHARE} the run was bound by its data.
   */
  dataWaitShare?: number | null;
  /** A training process is working on it now. */
  active: boolean;
}

/** A metric's points for a chart: every point, or min/max per bucket when there are many. */
export interface MetricSeries {
  name: string;
  steps: number[];
  values: number[];
  /** Points stored, before downsampling. */
  total: number;
}

/** The newest reconstruction grid of a run: rows original | masked | reconstruction. */
export interface ReconstructionImage {
  runId: number;
  step: number;
  dataUrl: string;
}

/** What a training process reports, as the UI hears it. */
export type TrainingProgress = { runId: number; projectId: number } & (
  | { type: 'started'; backend: string; device: string; step: number; totalSteps: number }
  | {
      type: 'step';
      step: number;
      totalSteps: number;
      loss: number;
      lr: number;
      imagesPerSecond: number;
      etaSeconds: number;
      tensorBytes: number;
      rssBytes: number;
      /** Pretraining: whether the ETA is the warm-up's estimate or this run's own pace, over how many steps. */
      etaBasis?: 'warm-up' | 'run';
      etaMeasuredSteps?: number;
      /** Pretraining: share of the time since the last step report spent waiting for data (0–1). */
      dataWaitShare?: number;
    }
  | {
      /** Pretraining: the training images being prepared into the decoded cache before the first step. */
      type: 'preparing';
      done: number;
      total: number;
      /** Of those done, read from their files (not cached yet), and changed on disk since cached. */
      read: number;
      changed: number;
    }
  | { type: 'validation'; step: number; loss: number }
  | { type: 'checkpoint'; step: number }
  | { type: 'reconstruction'; step: number }
);

/** A run's status changed (started, paused, finished, interrupted, deleted). */
export interface RunChanged {
  runId: number;
  projectId: number;
  status: RunStatusName | 'deleted';
  error: string | null;
  /** A training process is working on it. */
  active: boolean;
}

// ---------------------------------------------------------------------------------------------
// Argument schemas

const MetricsQuery = z.strictObject({
  names: z.array(z.string().min(1).max(64)).min(1).max(16).default(['train_loss', 'val_loss', 'lr']),
  maxPoints: z.number().int().min(16).max(100_000).default(4000),
});
/** Which metrics `runs.metrics` returns, and at most how many points of each. */
export type MetricsQuery = z.input<typeof MetricsQuery>;

// ---------------------------------------------------------------------------------------------
// Services and events

/** The history of runs. */
export const runServices = {
  /** The pretraining runs of a project, newest first (probes and fine-tuning: `evaluation.list`). */
  list: method(z.tuple([Id]), returns<RunSummary[]>()),
  get: method(z.tuple([Id]), returns<RunSummary>()),
  metrics: method(z.tuple([Id, MetricsQuery.optional()]), returns<MetricSeries[]>()),
  reconstruction: method(z.tuple([Id]), returns<ReconstructionImage | null>()),
  /** Deletes a run with its metrics, checkpoints and reconstruction files. */
  remove: method(z.tuple([Id]), returns<void>()),
} as const;

/** A live run's events: its progress, and changes of its status. */
export const trainingEvents = {
  trainingProgress: returns<TrainingProgress>(),
  runChanged: returns<RunChanged>(),
} as const;
