/**
 * The training part of the contract: mask previews, recipes, live runs and their history.
 * `contract.ts` merges these services and events into the one API (and re-exports the types),
 * so every transport carries them like any other call. No Node, Electron or DOM here either.
 */
import { z } from 'zod';
import type { ChannelConversion, VolumeSampling } from './contract-channels';
import { Id, method, returns } from './contract-method';
import {
  DOMAIN_RECIPES,
  FEATURE_TARGETS,
  type DomainRecipeChoice,
  type DomainRecipeName,
  type DomainRecipeSummary,
  type FeatureTarget,
} from './contract-recipes';

// ---------------------------------------------------------------------------------------------
// Value types

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

export const MASK_STRATEGIES = ['random', 'block', 'noise'] as const;
export type MaskStrategy = (typeof MASK_STRATEGIES)[number];
export const ENCODER_CHOICES = ['vit-tiny', 'vit-small', 'vit-base'] as const;
/**
 * How the peak lr follows the effective batch: the paper's linear rule, square-root, one fixed lr, or linear with a
 * floor.
 */
export const LR_RULE_CHOICES = ['linear', 'sqrt', 'fixed', 'floor'] as const;
export const BACKEND_CHOICES = ['auto', 'tfjs-node-gpu', 'webgpu', 'tfjs-node', 'native', 'wasm', 'cpu'] as const;
export const RUN_STATUS_NAMES = [
  'queued',
  'running',
  'paused',
  'completed',
  'failed',
  'interrupted',
  'stopped',
] as const;
export type RunStatusName = (typeof RUN_STATUS_NAMES)[number];

/** What the user may choose for a pretraining run; unset fields take the engine's defaults. */
export interface Recipe {
  preset?: (typeof ENCODER_CHOICES)[number];
  imgSize?: number;
  patchSize?: number;
  /** `<width>x<blocks>`, e.g. `512x8`. */
  decoder?: string;
  depth?: number;
  maskRatio?: number;
  maskStrategy?: MaskStrategy;
  /** Loss on per-patch normalised pixels (the paper's default) or on the pixels as they are. */
  normPixLoss?: boolean;
  /** The domain recipe (default `mae`, the paper's). */
  domainRecipe?: DomainRecipeName;
  /** `deblur`: σ in pixels (at the model's image size) of the Gaussian blur the encoder sees. */
  blurSigma?: number;
  /** `fgmae`: what the decoder regresses; indices need bands named in the channel plan. */
  featureTargets?: FeatureTarget[];
  /**
   * `satmae`: the band groups, each a list of band indices (from 0) or band names; default: the
   * preset for these images.
   */
  bandGroups?: (number | string)[][];
  /** `satmae`: mask a patch in every group at once (SatMAE's spatial_mask) instead of per group. */
  spatialMask?: boolean;
  /**
   * `hpm`: the share of the masked patches chosen as the predicted-hardest by the end of training
   * (Wang et al.'s α_T, 0.5); it grows from 0 over the run.
   */
  hardPatchShare?: number;
  /** `satmae-temporal`: dates of one place per sample (T, default 3). */
  dates?: number;
  /** `satmae-temporal`: mask a patch at every date at once (SatMAE's same_mask) instead of per date. */
  sameMask?: boolean;
  batchSize?: number;
  accumSteps?: number;
  steps?: number;
  epochs?: number;
  warmupSteps?: number;
  /** How the peak lr follows the effective batch; each rule has its own default `blr`. */
  lrRule?: (typeof LR_RULE_CHOICES)[number];
  blr?: number;
  seed?: number;
  backend?: (typeof BACKEND_CHOICES)[number];
  /** Start from published weights: an official MAE `.pth`, HF ViTMAE or timm safetensors file. */
  init?: string;
  /** Share of the images held out for validation when Curate has stored no split. */
  valFraction?: number;
}

/** The new-run dialog's starting point: the engine's defaults and what each field means. */
export interface RecipeDefaults {
  recipe: Required<
    Omit<Recipe, 'steps' | 'warmupSteps' | 'init' | 'valFraction' | 'bandGroups' | 'spatialMask' | 'dates' | 'sameMask'>
  >;
  /** Every domain recipe, whether this project's images allow it, and the one suggested for them. */
  domainRecipes: DomainRecipeChoice[];
  /** The recipe of the last run started from the dialog in this project (stored with the project). */
  last: Recipe | null;
  /** One sentence per field. */
  help: Record<keyof Recipe, string>;
  /** Each lr rule's default base lr, and its formula in words. */
  lrRules: Record<(typeof LR_RULE_CHOICES)[number], { blr: number; formula: string }>;
  dataset: {
    usable: number;
    channels: number;
    trainImages: number;
    valImages: number;
    excluded: { reason: string; count: number }[];
    /** How images of each channel count become the input bands (the channel plan's decision). */
    conversions: Record<string, ChannelConversion>;
    /** Classes the channel plan leaves out entirely. */
    excludedClasses: string[];
    /**
     * Present when the project holds volumes: how many, how the plan cuts them into samples, and
     * the samples (planes) to train on and validate on when the plan cuts them.
     */
    volumes?: { count: number; sampling: VolumeSampling; samples?: { train: number; val: number } };
  };
  /** Memory of this machine, which the batch must fit in. */
  memoryBytes: number;
}

/** A field of the new-run form, or the recipe as a whole. */
export type RecipeField = keyof Recipe | 'recipe';

/** A recipe checked over the project's data, without starting anything. */
export interface RecipeCheck {
  ok: boolean;
  /** Each problem in plain words, with the field it belongs to (`maskRatio`, `imgSize`, …). */
  errors: { field: RecipeField; message: string }[];
  /**
   * What would make the run learn little though it may start, in words with what to change (most
   * patches flat under norm-pix loss, …); absent when not looked at (a draft with errors).
   */
  warnings?: string[];
  stepsPerEpoch: number | null;
  totalSteps: number | null;
  parameters: number | null;
  /** Where the peak lr comes from: "lr 3e-4 (rule: floor, …, blr 1.5e-4, batch 8)". */
  learningRate: string | null;
  /** Estimated bytes of one training step, and what this machine can spare. */
  memory: { estimateBytes: number; availableBytes: number; fits: boolean } | null;
  /** With `init`: what the weights file gives the model (loaded, adapted, kept fresh, not used). */
  init: string[] | null;
  /**
   * The whole run's time, from the last warm-up measured for a recipe of the same cost per step
   * (only epochs, seed or learning rate differ); null until one is measured.
   */
  time: RunTimeEstimate | null;
}

/** A run's time, and how it was worked out. */
export interface RunTimeEstimate {
  seconds: number;
  /** Optimizer steps timed in the warm-up, and where. */
  measuredSteps: number;
  backend: string;
  device: string;
  /** Parts of `seconds`: start-up, the steps, and validation / reconstruction / checkpoint passes. */
  parts: { startup: number; steps: number; validation: number; reconstruction: number; checkpoints: number };
}

/** Warm-up steps timed in a training process, on the backend the run would use. */
export interface WarmupEstimate {
  backend: string;
  /** The hardware; for webgpu the adapter (vendor, architecture, graphics API). */
  device: string;
  /** Why this backend: requested, or why each faster one was not used. */
  reason: string;
  /**
   * On webgpu: GPU buffer bytes held by tensors, the adapter's largest buffer, and the largest
   * batch whose biggest tensor fits in one (null on the CPU backends).
   */
  gpu: { bytesInUse: number; maxBufferBytes: number; largestBatch: number } | null;
  /** Median of the timed steps after the first (which compiles and warms caches). */
  msPerStep: number;
  /** Steps timed after the first. */
  measuredSteps: number;
  /** One validation pass, one reconstruction grid and one checkpoint, as the run does them. */
  validationMs: number;
  reconstructionMs: number;
  checkpointMs: number;
  /** From starting the process to the first step done: backend, model, data, compile. */
  startupMs: number;
  secondsPerEpoch: number;
  /** The run this recipe plans, at these costs. */
  time: RunTimeEstimate;
  /** Largest tensor memory seen, and the process's resident memory at the end. */
  tensorBytes: number;
  rssBytes: number;
}

/** One masked image, exactly as the engine's masking draws it. */
export interface MaskPreview {
  imageId: number;
  /** The image at the model's size (PNG data URL). */
  dataUrl: string;
  imgSize: number;
  patchSize: number;
  gridSide: number;
  numPatches: number;
  numKeep: number;
  /** [L] 1 where masked, row-major over the patch grid. */
  mask: number[];
  /** [Lkeep] visible patch indices in the order the encoder receives them. */
  keep: number[];
  seed: number;
  /** The picture is blurred by this σ (model pixels), as a deblurring run's encoder sees it. */
  blurSigma?: number;
  /** SatMAE: each band group's own [L] mask (1 = masked), group 1 first; `mask` and `keep` are group 1's. */
  groupMasks?: number[][];
  /** SatMAE: whether the groups share one mask (spatialMask) or draw their own. */
  spatialMask?: boolean;
  /** SatMAE temporal: each date's own [L] mask (1 = masked), the first date first; `mask` and `keep` are its. */
  dateMasks?: number[][];
  /** SatMAE temporal: whether the dates share one mask (sameMask) or draw their own. */
  sameMask?: boolean;
  /**
   * SatMAE temporal: the pictures of the image's place at those dates (its own first), each at the
   * model's size; absent when the image is in no place's series (then every date shows it).
   */
  datePictures?: { imageId: number; date: string; dataUrl: string }[];
  /** CA-MAE: each channel's own mask, [C][L] (1 = masked), drawn as its runs draw them over C·L tokens. */
  channelMasks?: number[][];
  /**
   * HPM: its masks at the start of training (the loss predictor has learned nothing, so they are
   * random), and how many of the `masked` patches its predictor picks as the hardest by the end
   * (`count`, the final `share` of them); which ones is learned during training.
   */
  hardPatches?: { share: number; count: number; masked: number };
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

const Count = z.number().int().positive().max(1_000_000_000);
const Finite = z.number().finite();

/** What each recipe field is called on screen; errors name fields this way, never `mae.imgSize`. */
export const RECIPE_LABELS: Record<keyof Recipe, string> = {
  preset: 'Encoder',
  imgSize: 'Image size',
  patchSize: 'Patch size',
  decoder: 'Decoder',
  depth: 'Encoder blocks',
  maskRatio: 'Mask ratio',
  maskStrategy: 'Mask strategy',
  normPixLoss: 'Loss target',
  domainRecipe: 'Recipe',
  blurSigma: 'Blur σ',
  featureTargets: 'Feature targets',
  bandGroups: 'Band groups',
  spatialMask: 'Mask every group together',
  hardPatchShare: 'Hard-patch share',
  dates: 'Dates per sample',
  sameMask: 'Mask every date together',
  batchSize: 'Batch size',
  accumSteps: 'Accumulation',
  steps: 'Steps',
  epochs: 'Epochs',
  warmupSteps: 'Warm-up steps',
  lrRule: 'Learning-rate rule',
  blr: 'Base learning rate',
  seed: 'Seed',
  backend: 'Backend',
  init: 'Weights file',
  valFraction: 'Validation share',
};

/** An empty field arrives as null (a cleared number input), a wrong type as itself. */
function missingOr(label: string, expected: string) {
  return (issue: { input?: unknown }) =>
    issue.input === null || issue.input === undefined
      ? `${label} is empty: enter ${expected}`
      : `${label} must be ${expected}`;
}

/** A whole number in [min, max], with errors in the field's own words. */
function wholeNumber(field: keyof Recipe, min: number, max: number) {
  const label = RECIPE_LABELS[field];
  const rule = `${label} must be a whole number of at least ${min.toLocaleString('en-US')}`;
  return z
    .number({ error: missingOr(label, 'a whole number') })
    .int(rule)
    .min(min, rule)
    .max(max, `${label} can be at most ${max.toLocaleString('en-US')}`);
}

function decimal(field: keyof Recipe) {
  return z.number({ error: missingOr(RECIPE_LABELS[field], 'a number') });
}

function choice<const T extends readonly [string, ...string[]]>(field: keyof Recipe, values: T) {
  return z.enum(values, { error: `${RECIPE_LABELS[field]} must be one of ${values.join(', ')}` });
}

/**
 * A pretraining recipe at the boundary. The messages are what the new-run dialog shows beside a
 * field, so they use the field's label; the engine's own validator (`validateTrainConfig`,
 * `validateMaeConfig`) adds the rules that need the other fields or the data.
 */
export const RecipeSchema = z.strictObject({
  preset: choice('preset', ENCODER_CHOICES).optional(),
  imgSize: wholeNumber('imgSize', 1, 4096).optional(),
  patchSize: wholeNumber('patchSize', 1, 256).optional(),
  decoder: z
    .string({ error: missingOr(RECIPE_LABELS.decoder, 'width × blocks, like 512x8') })
    .max(32, 'Decoder must look like 512x8 (width × blocks)')
    .optional(),
  depth: wholeNumber('depth', 1, 64).optional(),
  maskRatio: decimal('maskRatio').optional(),
  maskStrategy: choice('maskStrategy', MASK_STRATEGIES).optional(),
  normPixLoss: z.boolean({ error: 'Loss target must be normalised per patch or pixels' }).optional(),
  domainRecipe: choice('domainRecipe', DOMAIN_RECIPES).optional(),
  blurSigma: decimal('blurSigma')
    .min(0.1, 'Blur σ must be at least 0.1 pixels')
    .max(16, 'Blur σ can be at most 16 pixels')
    .optional(),
  featureTargets: z
    .array(choice('featureTargets', FEATURE_TARGETS), {
      error: `Feature targets must be a list of ${FEATURE_TARGETS.join(', ')}`,
    })
    .min(1, `Feature targets is empty: choose at least one of ${FEATURE_TARGETS.join(', ')}`)
    .max(FEATURE_TARGETS.length)
    .refine((targets) => new Set(targets).size === targets.length, 'Feature targets names a target twice')
    .optional(),
  bandGroups: z
    .array(
      z
        .array(z.union([z.number().int().min(0).max(4095), z.string().min(1).max(64)]), {
          error: 'Band groups must be lists of band indices or names',
        })
        .min(1, 'Band groups has an empty group: each needs at least one band')
        .max(4096),
      { error: 'Band groups must be a list of groups of band indices or names' },
    )
    .min(1, 'Band groups is empty: give at least one group')
    .max(64)
    .optional(),
  spatialMask: z.boolean({ error: 'Mask every group together must be true or false' }).optional(),
  hardPatchShare: decimal('hardPatchShare')
    .min(0, 'Hard-patch share must be between 0 and 1')
    .max(1, 'Hard-patch share must be between 0 and 1')
    .optional(),
  dates: wholeNumber('dates', 2, 16).optional(),
  sameMask: z.boolean({ error: 'Mask every date together must be true or false' }).optional(),
  batchSize: wholeNumber('batchSize', 1, 4096).optional(),
  accumSteps: wholeNumber('accumSteps', 1, 1024).optional(),
  steps: wholeNumber('steps', 1, 1_000_000_000).optional(),
  epochs: wholeNumber('epochs', 1, 100_000).optional(),
  warmupSteps: wholeNumber('warmupSteps', 0, 1_000_000_000).optional(),
  lrRule: choice('lrRule', LR_RULE_CHOICES).optional(),
  blr: decimal('blr').optional(),
  seed: wholeNumber('seed', 0, 2 ** 31 - 1).optional(),
  backend: choice('backend', BACKEND_CHOICES).optional(),
  init: z.string().min(1, 'Weights file is empty: give a path or clear the field').max(4096).optional(),
  valFraction: decimal('valFraction').optional(),
});

/** A recipe as a form holds it while someone types: any field may be empty (null) or wrong. */
const RecipeDraft = z.object(
  Object.fromEntries(Object.keys(RecipeSchema.shape).map((key) => [key, z.unknown().optional()])) as Record<
    keyof Recipe,
    z.ZodOptional<z.ZodUnknown>
  >,
);
export type RecipeDraft = z.infer<typeof RecipeDraft>;

const MaskPreviewQuery = z.strictObject({
  imageId: Id,
  strategy: z.enum(MASK_STRATEGIES).default('random'),
  maskRatio: Finite.default(0.75),
  patchSize: Count.max(256).default(16),
  imgSize: Count.max(1024).default(224),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .default(0),
  /** Deblurring MAE: show the picture blurred by this σ (model pixels), as its encoder sees it. */
  blurSigma: Finite.min(0.1).max(16).optional(),
  /** SatMAE: draw masks for this many band groups, per group or shared (`spatialMask`), as its training does. */
  bandGroups: Count.min(2).max(16).optional(),
  spatialMask: z.boolean().optional(),
  /** SatMAE temporal: draw masks for this many dates, per date or shared (`sameMask`), as its training does. */
  dates: Count.min(2).max(16).optional(),
  sameMask: z.boolean().optional(),
  /** CA-MAE: also mask this many channels apart, one token grid each, as its runs do. */
  channels: z.number().int().min(2).max(16).optional(),
  /** HPM: draw the masks as its training does, with this final hard-patch share. */
  hardPatchShare: Finite.min(0).max(1).optional(),
});
export type MaskPreviewQuery = z.input<typeof MaskPreviewQuery>;

const MetricsQuery = z.strictObject({
  names: z.array(z.string().min(1).max(64)).min(1).max(16).default(['train_loss', 'val_loss', 'lr']),
  maxPoints: z.number().int().min(16).max(100_000).default(4000),
});
export type MetricsQuery = z.input<typeof MetricsQuery>;

// ---------------------------------------------------------------------------------------------
// Services and events

/** Recipes, previews and the live run. */
export const trainingServices = {
  /** The engine's recipe defaults for a project, with a sentence per field. */
  defaults: method(z.tuple([Id]), returns<RecipeDefaults>()),
  /**
   * Checks a recipe as it is being typed (any field may be empty or wrong): every field error in
   * plain words, then the engine's rules over the project's data and this machine's memory, and
   * the steps, memory and time it would take. Starts nothing.
   */
  check: method(z.tuple([Id, RecipeDraft]), returns<RecipeCheck>()),
  /** Times a few warm-up steps in a training process: backend, device, seconds per epoch. */
  estimate: method(z.tuple([Id, RecipeSchema]), returns<WarmupEstimate>()),
  /** Masks one image with the engine's masking code. */
  previewMask: method(z.tuple([MaskPreviewQuery]), returns<MaskPreview>()),
  /** Plans a run and starts its training process; progress arrives as `trainingProgress`. */
  start: method(z.tuple([Id, RecipeSchema]), returns<RunSummary>()),
  /** Pauses after the current step, with a checkpoint. */
  pause: method(z.tuple([Id]), returns<void>()),
  /** Continues a paused, stopped or interrupted run from its last checkpoint. */
  resume: method(z.tuple([Id]), returns<RunSummary>()),
  /** Stops after the current step, with a checkpoint (it can still be resumed). */
  stop: method(z.tuple([Id]), returns<void>()),
  /** Runs with a training process now (to ask before quitting). */
  active: method(z.tuple([]), returns<RunSummary[]>()),
} as const;

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

export const trainingEvents = {
  trainingProgress: returns<TrainingProgress>(),
  runChanged: returns<RunChanged>(),
} as const;
