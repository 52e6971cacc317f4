/**
 * The training part of the contract: mask previews, recipes (their schema and checks) and the
 * methods that start and steer a run; the history of runs and a live run's events are
 * `contract-runs.ts`, time estimates `contract-estimates.ts`. `contract.ts` merges these services
 * into the one API (and re-exports the types), so every transport carries them like any other
 * call. No Node, Electron or DOM here either.
 */
import { z } from 'zod';
import type { ChannelConversion, VolumeSampling } from './contract-channels';
import type { RunTimeEstimate, WarmupEstimate } from './contract-estimates';
import { Id, method, returns } from './contract-method';
import {
  DOMAIN_RECIPES,
  FEATURE_TARGETS,
  type DomainRecipeChoice,
  type DomainRecipeName,
  type FeatureTarget,
} from './contract-recipes';
import type { RunSummary } from './contract-runs';

// ---------------------------------------------------------------------------------------------
// Value types

/** How masked patches are chosen: at random (the paper), in blocks, or ranked by filtered noise (ColorMAE). */
export const MASK_STRATEGIES = ['random', 'block', 'noise'] as const;
/** One of `MASK_STRATEGIES`. */
export type MaskStrategy = (typeof MASK_STRATEGIES)[number];
/** The encoder sizes a run may choose (ViT-Tiny, -Small, -Base). */
export const ENCODER_CHOICES = ['vit-tiny', 'vit-small', 'vit-base'] as const;
/**
 * How the peak lr follows the effective batch: the paper's linear rule, square-root, one fixed lr, or linear with a
 * floor.
 */
export const LR_RULE_CHOICES = ['linear', 'sqrt', 'fixed', 'floor'] as const;
/** The TF.js backends a run may ask for; `auto` takes the fastest that works on this machine. */
export const BACKEND_CHOICES = ['auto', 'tfjs-node-gpu', 'webgpu', 'tfjs-node', 'native', 'wasm', 'cpu'] as const;

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
  /** Why `recipe`'s image size, encoder blocks and decoder have these values for this project. */
  modelSizing: string;
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
  /** Why the model has its size, when the recipe left image size, blocks or decoder to the project. */
  sizing?: string | null;
  /**
   * The whole run's time, from the last warm-up measured for a recipe of the same cost per step
   * (only epochs, seed or learning rate differ); null until one is measured.
   */
  time: RunTimeEstimate | null;
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
/** A recipe as the new-run form holds it while someone types (any field empty or wrong). */
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
/** Which image `training.previewMask` masks, and how (strategy, ratio, sizes, seed, recipe options). */
export type MaskPreviewQuery = z.input<typeof MaskPreviewQuery>;

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
