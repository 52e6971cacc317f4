/**
 * The downstream part of the contract: probes, kNN and fine-tuning of a pretraining run, and
 * exports with their model cards. `contract.ts` merges these services and events into the one
 * API (and re-exports the types), so every transport carries them like any other call.
 */
import { z } from 'zod';
import { FolderPath, Id, method, returns } from './contract-method';
import { BACKEND_CHOICES, LR_RULE_CHOICES } from './contract-training';

// ---------------------------------------------------------------------------------------------
// Value types

/** A two-sided 95 % interval, as fractions (0.71 = 71 %). */
export interface Interval {
  low: number;
  high: number;
}

/** A difference of two accuracies on the same images, with its paired-bootstrap 95 % interval. */
export interface AccuracyGain extends Interval {
  /** accuracy(a) − accuracy(b) on every scored image. */
  estimate: number;
}

/** Precision and recall of one class on the scored split. */
export interface ClassScore {
  label: string;
  precision: number;
  recall: number;
  /** Images of this class in the split. */
  support: number;
  /**
   * Wilson 95 % interval of the recall (this class's accuracy) over its `support` images; absent in results stored
   * before it existed.
   */
  recallInterval?: Interval;
}

/** Scores of one classifier on one split. */
export interface ClassificationScores {
  accuracy: number;
  /** Wilson 95 % interval of `accuracy`; absent in results stored before it existed. */
  interval?: Interval;
  /** Images scored (the n of the interval). */
  images?: number;
  perClass: ClassScore[];
  /** confusion[truth][predicted] = image count. */
  confusion: number[][];
}

/** Which encoder block a probe read, and how it was chosen. */
export interface ProbeBlock {
  /** What was asked: a block number, or the best one on the training split. */
  requested: number | 'best';
  /** The block whose tokens were probed, 1..depth (depth = the last, as exported). */
  chosen: number;
  depth: number;
  /**
   * For `best`: each candidate block's accuracy (pretrained encoder) cross-validated within
   * the fitted training images — the validation images play no part in the choice.
   */
  selection: { block: number; accuracy: number }[] | null;
  /** How the selection was scored, in words (folds, images). */
  selectedBy: string | null;
}

/** A probe's outcome: the pretrained encoder's scores and its random initialisation's. */
export interface ProbeReport {
  method: 'linear' | 'knn';
  pooling: 'cls' | 'mean';
  k: number | null;
  /** The label budget: at most this many train images per class were fitted on; null = all. */
  labelsPerClass: number | null;
  classes: string[];
  /** Classes the pretraining run's channel plan left out: not probed (absent in older reports). */
  excludedClasses?: string[];
  trainImages: number;
  valImages: number;
  /** Pretraining step of the checkpoint probed. */
  step: number;
  pretrained: ClassificationScores;
  randomInit: ClassificationScores;
  /** The same probe on the images themselves, downsampled and normalised; absent in older results. */
  rawPixels?: ClassificationScores;
  /** Side of the downsampled images the raw-pixel baseline reads (features = channels × side²). */
  rawPixelSide?: number;
  /** 3 when the raw baseline reads volumes box-averaged to side³ (a 3-D run's probe); absent: images, side². */
  rawPixelAxes?: 2 | 3;
  /** The encoder block probed (both encoders read the same one); absent in older results (the last block). */
  block?: ProbeBlock;
  /** Pretrained minus each baseline on the same validation images, paired bootstrap. */
  gain?: { randomInit: AccuracyGain; rawPixels: AccuracyGain };
  /** What makes these numbers less trustworthy, in words (small classes, k, a gain indistinguishable from 0). */
  warnings?: string[];
  /**
   * What one feature is, in words, where it is not simply an image through the encoder (SatMAE
   * temporal: each image as a one-date series with its date's encoding); absent otherwise.
   */
  featureUnit?: string;
  skipped: { reason: string; count: number }[];
  seconds: number;
}

/** A fine-tuning run's outcome. */
export interface FinetuneReport {
  classes: string[];
  /** Classes the pretraining run's channel plan left out: not fine-tuned on (absent in older reports). */
  excludedClasses?: string[];
  trainImages: number;
  valImages: number;
  steps: number;
  pooling: 'cls' | 'mean';
  finalLoss: number | null;
  /** The fine-tuned pretrained encoder's scores on the val split. */
  scores: ClassificationScores;
  /**
   * The classifier before fine-tuning when its head started from the linear probe (LP-FT): the
   * probe of the frozen last-block features, scored the same way; absent otherwise and in older results.
   */
  start?: ClassificationScores;
  /**
   * The same encoder fine-tuned from its random initialisation with the same steps, batches and
   * seed; absent when turned off, stopped before it finished, or in results stored before it existed.
   */
  randomInit?: ClassificationScores;
  /** The probe's linear model on the raw pixels (downsampled, normalised); absent in older results. */
  rawPixels?: ClassificationScores;
  /** Side of the downsampled images the raw-pixel baseline reads (features = channels × side²). */
  rawPixelSide?: number;
  /** Fine-tuned pretrained minus each baseline on the same validation images, paired bootstrap. */
  gain?: { randomInit?: AccuracyGain; rawPixels: AccuracyGain; start?: AccuracyGain };
  /** What makes these numbers less trustworthy, in the probe's words (a gain indistinguishable from 0, …). */
  warnings?: string[];
  seconds: number;
}

/** A run whose weights can be evaluated or exported. */
export interface ModelSource {
  runId: number;
  /** Its place among the project's runs of its kind ("Pretrain #2"); `runId` stays the API's name. */
  number: number;
  kind: 'pretrain' | 'finetune';
  status: string;
  createdAt: string;
  /** Step of the newest checkpoint. */
  step: number;
  /** A short description: architecture, or the fine-tune's accuracy. */
  summary: string;
  /** Encoder blocks (what a probe's block can be). */
  depth: number;
  parentRunId: number | null;
}

/** A probe or fine-tuning run with its outcome (once it has one). */
export interface EvaluationRecord {
  runId: number;
  /** Its place among the project's runs of its kind ("Probe #4"). */
  number: number;
  kind: 'probe' | 'finetune';
  parentRunId: number | null;
  /** The run it measures, by kind and number, as the history names it. */
  parent: { kind: 'pretrain' | 'finetune'; number: number } | null;
  status: string;
  createdAt: string;
  finishedAt: string | null;
  error: string | null;
  probe: ProbeReport | null;
  finetune: FinetuneReport | null;
}

/** Progress of a probe or fine-tuning run in the training process. */
export interface EvaluationProgress {
  runId: number;
  kind: 'probe' | 'finetune';
  phase: 'started' | 'step' | 'finished';
  step: number;
  totalSteps: number;
  loss: number | null;
  status?: string;
  error?: string;
}

export const EXPORT_FORMAT_NAMES = ['safetensors', 'onnx', 'tfjs'] as const;
/** An export format. */
export type ExportFormatName = (typeof EXPORT_FORMAT_NAMES)[number];

/** What an export of a run would write, before writing it. */
export interface ExportPreview {
  runId: number;
  format: ExportFormatName;
  /** Where it goes unless the user picks another folder. */
  defaultDir: string;
  /** Files of the export, model card included. */
  files: string[];
  /** What the weights are: encoder only, or encoder and classifier head. */
  contents: string[];
  /** The model card as Markdown. */
  modelCard: string;
}

/** One export as recorded. */
export interface ExportSummary {
  id: number;
  runId: number;
  format: ExportFormatName;
  path: string;
  createdAt: string;
}

/** The outcome of an export. */
export interface ExportOutcome extends ExportSummary {
  dir: string;
  /** Every file written; the weights files with their SHA-256 (as the model card records it). */
  files: { name: string; bytes: number; sha256?: string }[];
}

// ---------------------------------------------------------------------------------------------
// Argument schemas

const ProbeRequest = z.strictObject({
  // Absent fields take the engine's defaults (DEFAULT_PROBE: linear, k = 20, mean pooling).
  method: z.enum(['linear', 'knn']).optional(),
  k: z.number().int().min(1).max(1000).optional(),
  pooling: z.enum(['cls', 'mean']).optional(),
  labelsPerClass: z.number().int().min(1).max(1_000_000).nullable().optional(), // absent or null: every label
  // absent: the default (best on the training split)
  block: z.union([z.number().int().min(1).max(1000), z.literal('best')]).optional(),
  backend: z.enum(BACKEND_CHOICES).optional(), // absent: auto
});
export type ProbeRequest = z.input<typeof ProbeRequest>;

/**
 * The fine-tuning recipe's defaults a user sees and can change (the Evaluate panel starts from
 * them); `DEFAULT_FINETUNE` (app/train/finetune-plan.ts) is these plus the rest. Chosen by
 * `bench/finetune-sweep.ts` and `bench/finetune.ts` on the digits and the CT sample, two seeds
 * (README, "Fine-tuning against the raw pixels"): the paper's crops, flips and drop path lowered
 * the accuracy below the linear probe the head starts from (at 200 steps, and crops still at 1 500);
 * whole images kept it, and 3 000 steps at the larger lr (`DEFAULT_FINETUNE.blr`) carried a 4-block
 * encoder past the raw pixels on the digits where 200 steps stayed at the probe (the 12-block
 * ViT-Tiny with the 512×8 decoder stayed below them, so a small project's default model has 4 blocks
 * and a 128×2 decoder: `app/train/model-sizing.ts`, README).
 */
export const DEFAULT_FINETUNE_RECIPE = {
  steps: 3000, // bench:finetune, digits: 98.0% at 1 500 steps, 98.9% at 3 000 (pixels 96.3%); 200 kept the probe
  layerDecay: 0.75, // paper: 0.75 (ViT-B)
  dropPath: 0, // paper: 0.1; bench: −4.1 points on the digits at 200 steps
  labelSmoothing: 0.1, // paper: 0.1
  cropScale: 1, // paper: crops of 20–100%; bench: −39.5 points (digits), −12.5 (CT) at 200 steps, −4.1 at 1 500
  flipProbability: 0, // paper: 0.5; a flip changes what a digit or a left-right organ means
} as const;

const FinetuneRequest = z.strictObject({
  steps: z.number().int().min(1).max(1_000_000).optional(),
  batchSize: z.number().int().min(1).max(4096).optional(),
  blr: z.number().positive().max(1).optional(),
  layerDecay: z.number().gt(0).max(1).optional(),
  dropPath: z.number().min(0).lt(1).optional(),
  labelSmoothing: z.number().min(0).lt(1).optional(),
  pooling: z.enum(['cls', 'mean']).optional(),
  warmupSteps: z.number().int().min(0).max(1_000_000).optional(), // absent: a tenth of the steps
  // absent: true — the random-init encoder is fine-tuned the same way, as the baseline
  randomInitBaseline: z.boolean().optional(),
  // absent: true — the head starts from the linear probe of the frozen features (LP-FT)
  linearProbeInit: z.boolean().optional(),
  // absent: the defaults' (bench/finetune-sweep.ts chose them)
  lrRule: z.enum(LR_RULE_CHOICES).optional(),
  cropScale: z.number().gt(0).max(1).optional(), // smallest area share of the random crops; 1 = whole images
  flipProbability: z.number().min(0).max(1).optional(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .optional(),
  backend: z.enum(BACKEND_CHOICES).optional(),
});
export type FinetuneRequest = z.input<typeof FinetuneRequest>;

const ExportFormatArg = z.enum(EXPORT_FORMAT_NAMES);
const ExportChoices = z.strictObject({
  /** safetensors of a pretraining run: the whole MAE (encoder, decoder, mask token) in models_mae.py names. */
  full: z.boolean().optional(),
  /**
   * Features of an encoder export: the class token or the mean of the patch tokens (default mean; a classifier keeps
   * its own).
   */
  pooling: z.enum(['cls', 'mean']).optional(),
});
export type ExportChoices = z.input<typeof ExportChoices>;

// ---------------------------------------------------------------------------------------------
// Services and events

/** Evaluation of pretrained encoders and exports of runs. */
export const downstreamServices = {
  evaluation: {
    /** Runs of a project whose weights can be probed, fine-tuned or exported (newest first). */
    sources: method(z.tuple([Id]), returns<ModelSource[]>()),
    /** Probe and fine-tuning runs of a project with their outcomes (newest first). */
    list: method(z.tuple([Id]), returns<EvaluationRecord[]>()),
    /** Probes a pretraining run against its random init in the training process; `evaluationProgress` events follow. */
    probe: method(z.tuple([Id, ProbeRequest]), returns<{ runId: number }>()),
    /** Fine-tunes a pretraining run's encoder as a new run; `evaluationProgress` events follow. */
    finetune: method(z.tuple([Id, FinetuneRequest]), returns<{ runId: number }>()),
    /** Stops a running probe or fine-tuning run after its current step (status 'stopped'), as pretraining runs stop. */
    stop: method(z.tuple([Id]), returns<void>()),
  },
  exports: {
    /** Exports of a project's runs (newest first). */
    list: method(z.tuple([Id]), returns<ExportSummary[]>()),
    /** What exporting a run in a format would write, with its model card. */
    preview: method(z.tuple([Id, ExportFormatArg, ExportChoices.optional()]), returns<ExportPreview>()),
    /** Exports a run; into `dir`, or the project's exports folder when omitted. */
    create: method(
      z.tuple([Id, ExportFormatArg, FolderPath.optional(), ExportChoices.optional()]),
      returns<ExportOutcome>(),
    ),
  },
} as const;

export const downstreamEvents = {
  evaluationProgress: returns<EvaluationProgress>(),
} as const;
