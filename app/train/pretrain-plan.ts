/**
 * Planning a pretraining run: the recipe from user options (validated once, over the engine's
 * defaults), the dataset it reads (the project's good images of one channel count), its
 * per-channel normalisation from the stored import statistics, and a seeded split stratified by
 * label. The plan is stored as the run's config, so a resumed run reads exactly the same data.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  StudioError,
  type ChannelPlan,
  type ChannelStats,
  type ImageMeta,
  type Recipe,
  type RunTimeEstimate,
  type VolumeSampling,
} from '../contract';
import { checkInitWeights, type InitReport } from '../mae/weights/init';
import {
  type DECODER_SIZES,
  DEFAULT_MAE_CONFIG,
  MAE_PRESETS,
  maeConfigFromParts,
  ENCODER_SIZES,
  type MaeConfig,
  type MaePresetName,
} from '../mae/config';
import type { ChannelTransform } from '../data/batches';
import { convertStats } from '../data/channel-conversion';
import { channelPlanView, keptByPlan, pooledStats, resolveTransform } from '../data/channel-plan';
import { checkVolumeSampling, volumeEntries } from '../data/volumes/volume-entries';
import { splitGroupOf, stratifiedSplit } from '../data/split';
import type { BackendPreference } from '../runtime/backend';
import type { Workspace } from '../workspace';
import { DEFAULT_TRAIN_CONFIG, validateTrainConfig, type TrainConfig } from './config';
import { peakLearningRate } from './schedule';
import { planDomainRecipe } from './recipes/choices';
import { heldOutPlaces, projectSeries } from './recipes/temporal-data';

/**
 * What a user may choose for a pretraining run (CLI flags, the new-run dialog): the contract's
 * `Recipe`, where the CLI may also name a full preset and the validation fraction.
 */
export interface PretrainOptions extends Omit<Recipe, 'preset'> {
  /** `vit-tiny` | `vit-small` | `vit-base`, or a full preset name like `maeVitTinyPatch16Dec128d2b`. */
  preset?: string;
  /** Fraction of each label held out for validation loss. */
  valFraction?: number;
}

/**
 * What a pretraining run takes for the options the user leaves unset, besides the recipe's own
 * defaults (`DEFAULT_TRAIN_CONFIG`: batch, accumulation, masking, lr, seed) and the model's
 * (`DEFAULT_MAE_CONFIG`: image and patch size). The plan and the new-run dialog's defaults read it.
 */
export const DEFAULT_PRETRAIN: {
  preset: keyof typeof ENCODER_SIZES;
  decoder: keyof typeof DECODER_SIZES;
  epochs: number;
  backend: BackendPreference;
  valFraction: number;
} = {
  preset: 'vit-tiny', // DEFAULT_MAE_CONFIG's encoder: the size that trains on a laptop
  decoder: '512x8', // the paper's decoder, as in DEFAULT_MAE_CONFIG
  epochs: 10, // the run's length when neither steps nor epochs are given
  backend: 'auto', // the fastest backend that works on this machine
  valFraction: 0.1, // enough images for a stable val loss on small projects
};

/** The data half of a plan: which images, how they are normalised. */
export interface DatasetPlan {
  channels: number;
  /** Per-channel mean and std in [0, 1] units (a stored value v is scaled by 1 / (2^bitDepth − 1)). */
  mean: number[];
  std: number[];
  scaling: 'value / (2^bitDepth - 1), then (x - mean) / std per channel';
  trainImageIds: number[];
  valImageIds: number[];
  /** Images of the project left out, and why. */
  excluded: { reason: string; count: number }[];
  /**
   * Labels the channel plan leaves out entirely (none of their images is trained on or probed),
   * sorted. Absent in runs planned before channel conversions.
   */
  excludedClasses?: string[];
  /**
   * The project's channel plan when the run was planned, and the per-channel transform it
   * resolves to ((clip(v) − center) / spread, in the images' own units): batches use it
   * instead of `mean`/`std`. Absent in runs planned before channel plans existed.
   */
  channelPlan?: ChannelPlan;
  transform?: ChannelTransform;
  /** Where the split came from: the one stored by curation, or drawn for this run. */
  splitSource?: 'curation' | 'seeded';
  /**
   * Training samples when the channel plan cuts volumes into planes (`channelPlan.volume`): a
   * volume's coronal or sagittal planes outnumber its stored slices. Epochs count these.
   */
  samples?: { train: number; val: number };
}

/** The stored config of a pretraining run. */
export interface PretrainPlan {
  recipe: TrainConfig;
  backend: BackendPreference;
  data: DatasetPlan;
  stepsPerEpoch: number;
  /** Steps between checkpoints and between validation passes. */
  checkpointEvery: number;
  validateEvery: number;
  /** Where the weights start from, when not from seeded initialisation. */
  init?: { path: string; sha256: string; report: InitReport };
  /** The warm-up's estimate of the run's time, when one was measured before it started. */
  estimate?: RunTimeEstimate;
}

interface Candidate {
  id: number;
  label: string | null;
  width: number;
  height: number;
  channels: number;
  bitDepth: number;
  stats: ChannelStats[];
  /** The split stored by curation, if any. */
  split?: string | null;
  /** Slices of one volume or subject share it, so the split never parts them. */
  group?: string | null;
  meta?: ImageMeta | null;
}

/** Builds and validates the model config from the user's architecture options. */
export function modelConfig(options: PretrainOptions, inChans: number): MaeConfig {
  const overrides: Partial<MaeConfig> = { inChans };
  if (options.imgSize !== undefined) overrides.imgSize = options.imgSize;
  if (options.depth !== undefined) overrides.depth = options.depth;
  if (options.normPixLoss !== undefined) overrides.normPixLoss = options.normPixLoss;
  let decoder: Partial<MaeConfig> = {};
  if (options.decoder !== undefined) {
    const match = /^(\d+)x(\d+)$/.exec(options.decoder);
    if (!match)
      throw new StudioError(
        'INVALID_ARGUMENT',
        `pretrain.decoder must look like 512x8 (width x blocks), got ${JSON.stringify(options.decoder)}`,
      );
    const width = Number(match[1]);
    decoder = {
      decoderEmbedDim: width,
      decoderDepth: Number(match[2]),
      decoderNumHeads: Math.max(1, Math.floor(width / 32)),
    };
  }
  const preset = options.preset ?? DEFAULT_PRETRAIN.preset;
  try {
    if (preset in ENCODER_SIZES) {
      return maeConfigFromParts(
        preset as keyof typeof ENCODER_SIZES,
        options.patchSize ?? DEFAULT_MAE_CONFIG.patchSize,
        DEFAULT_PRETRAIN.decoder,
        { ...overrides, ...decoder },
      );
    }
    if (preset in MAE_PRESETS) {
      const patch = options.patchSize === undefined ? {} : { patchSize: options.patchSize };
      return MAE_PRESETS[preset as MaePresetName]({ ...overrides, ...patch, ...decoder });
    }
  } catch (error) {
    throw new StudioError('INVALID_ARGUMENT', (error as Error).message);
  }
  throw new StudioError(
    'INVALID_ARGUMENT',
    `pretrain.preset must be one of ${[...Object.keys(ENCODER_SIZES), ...Object.keys(MAE_PRESETS)].join(', ')}, ` +
      `got ${JSON.stringify(preset)}`,
  );
}

/** Plans a run over a project's images and stores it as a queued run. */
export function planPretrain(
  workspace: Workspace,
  projectId: number,
  options: PretrainOptions,
): { runId: number; plan: PretrainPlan } {
  const plan = buildPretrainPlan(workspace, projectId, options);
  const run = workspace.runs.create({ projectId, kind: 'pretrain', config: plan });
  return { runId: run.id, plan };
}

/** Builds and validates a plan without storing it (the new-run dialog checks recipes with it). */
export function buildPretrainPlan(workspace: Workspace, projectId: number, options: PretrainOptions): PretrainPlan {
  workspace.projects.require(projectId);
  const data = planDataset(workspace, projectId, options);
  const model = modelConfig(options, data.channels);
  const batchSize = options.batchSize ?? DEFAULT_TRAIN_CONFIG.batchSize;
  const accumSteps = options.accumSteps ?? DEFAULT_TRAIN_CONFIG.accumSteps;
  const stepsPerEpoch = Math.max(
    1,
    Math.ceil((data.samples?.train ?? data.trainImageIds.length) / (batchSize * accumSteps)),
  );
  if (options.steps !== undefined && options.epochs !== undefined) {
    throw new StudioError('INVALID_ARGUMENT', 'pretrain: give --steps or --epochs, not both');
  }
  const totalSteps = options.steps ?? (options.epochs ?? DEFAULT_PRETRAIN.epochs) * stepsPerEpoch;
  let recipe: TrainConfig;
  try {
    const domainRecipe = planDomainRecipe(
      options,
      modelBandNames(workspace, projectId, data),
      datasetUnscale(data),
      () => projectSeries(workspace, projectId),
    );
    recipe = validateTrainConfig({
      ...(domainRecipe && { domainRecipe }),
      model,
      totalSteps,
      batchSize,
      accumSteps,
      ...(options.maskRatio !== undefined && { maskRatio: options.maskRatio }),
      ...(options.maskStrategy !== undefined && { maskStrategy: options.maskStrategy }),
      ...(options.lrRule !== undefined && { lrRule: options.lrRule }),
      ...(options.blr !== undefined && { blr: options.blr }),
      ...(options.seed !== undefined && { seed: options.seed }),
      // The paper warms up for 5% of training; keep that proportion for short desktop runs.
      warmupSteps: options.warmupSteps ?? Math.min(Math.round(totalSteps * 0.05), 2000),
    });
  } catch (error) {
    throw new StudioError('INVALID_ARGUMENT', (error as Error).message);
  }
  // The rule's lr is fixed now: a later version with other rule constants resumes it unchanged.
  recipe.peakLr = peakLearningRate(recipe.lrRule, recipe.blr, recipe.batchSize * recipe.accumSteps);
  if (recipe.domainRecipe?.name === 'satmae-temporal') {
    // Whole places held out for the validation loss (recipes/temporal-data.ts).
    const valFraction = options.valFraction ?? DEFAULT_PRETRAIN.valFraction;
    const { frames } = recipe.domainRecipe;
    recipe.domainRecipe.heldOutPlaces = heldOutPlaces(
      projectSeries(workspace, projectId),
      frames,
      valFraction,
      recipe.seed,
    );
  }
  if (options.init !== undefined && recipe.model.groupedBands) {
    throw new StudioError(
      'INVALID_ARGUMENT',
      'pretrain.init: published MAE weights have one patch embedding over all bands; ' +
        'a SatMAE (grouped bands) run starts from its own initialisation',
    );
  }
  if (options.init !== undefined && options.domainRecipe === 'camae') {
    throw new StudioError(
      'INVALID_ARGUMENT',
      'pretrain.init: a CA-MAE run cannot start from it: weights files (timm, models_mae.py) embed all ' +
        'channels of a patch as one token, CA-MAE each channel as its own; clear the field to start ' +
        'from seeded initialisation',
    );
  }
  const init = options.init === undefined ? undefined : planInit(options.init, model);
  const plan: PretrainPlan = {
    recipe,
    backend: options.backend ?? DEFAULT_PRETRAIN.backend,
    data,
    stepsPerEpoch,
    checkpointEvery: Math.max(1, Math.min(stepsPerEpoch, 200)),
    validateEvery: stepsPerEpoch,
    ...(init && { init }),
  };
  return plan;
}

/** The name of each model channel in the channel plan (null where the files name none). */
export function modelBandNames(workspace: Workspace, projectId: number, data: DatasetPlan): (string | null)[] {
  if (!data.channelPlan) return Array.from({ length: data.channels }, () => null);
  const names = workspace.images.channelNames(projectId, data.channelPlan.inputChannels);
  return data.channelPlan.bands.map((band) => names[band] ?? null);
}

/** Per model channel, how a batch value goes back to the band's own units: value = x · scale + shift. */
export function datasetUnscale(data: DatasetPlan): { scale: number[]; shift: number[] } {
  return data.transform
    ? { scale: [...data.transform.spread], shift: [...data.transform.center] }
    : { scale: [...data.std], shift: [...data.mean] };
}

const initHashes = new Map<string, string>();

/** Reads the init weights once at planning time, so a mismatch is reported before any process starts. */
function planInit(file: string, model: MaeConfig): NonNullable<PretrainPlan['init']> {
  const resolved = path.resolve(file);
  const stat = fs.statSync(resolved, { throwIfNoEntry: false });
  if (!stat) throw new StudioError('INVALID_ARGUMENT', `pretrain.init: there is no file at ${resolved}`);
  if (!stat.isFile()) throw new StudioError('INVALID_ARGUMENT', `pretrain.init: ${resolved} is not a file`);
  try {
    // The dialog checks the recipe as the user types: hash a large file once per version of it.
    const key = `${resolved}\0${stat.size}\0${stat.mtimeMs}`;
    let sha256 = initHashes.get(key);
    if (sha256 === undefined) {
      sha256 = sha256File(resolved);
      initHashes.set(key, sha256);
    }
    return { path: resolved, sha256, report: checkInitWeights(model, resolved) };
  } catch (error) {
    throw new StudioError('INVALID_ARGUMENT', `pretrain.init: ${(error as Error).message}`);
  }
}

/** Hex sha256 of a file, streamed in chunks (checkpoints can be gigabytes). */
export function sha256File(file: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(1 << 22);
    for (let read; (read = fs.readSync(fd, buffer, 0, buffer.length, null)) > 0; )
      hash.update(buffer.subarray(0, read));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** Chooses the images, their normalisation and the split. */
export function planDataset(workspace: Workspace, projectId: number, options: PretrainOptions): DatasetPlan {
  const rows = workspace.images.usable(projectId, 'path');
  if (rows.length === 0)
    throw new StudioError(
      'INVALID_ARGUMENT',
      `project "${workspace.projects.get(projectId).name}" has no usable images: import a folder first`,
    );
  const candidates: Candidate[] = rows.map(({ id, label, width, height, channels, bitDepth, stats, split, meta }) => ({
    id,
    label,
    width,
    height,
    channels,
    bitDepth,
    stats,
    split,
    group: splitGroupOf(meta),
    meta,
  }));
  // The channel plan decides, per channel count, how images become its input bands or that they
  // are left out; Curate shows that decision and the run records it.
  const view = channelPlanView(workspace, projectId);
  const channelPlan = view.plan;
  const channels = channelPlan.inputChannels;
  const chosen = keptByPlan(candidates, channelPlan);
  const excluded = view.groups
    .filter((group) => group.conversion === 'exclude')
    .map((group) => ({
      reason: `${group.channels}-channel images, left out by the channel plan`,
      count: candidates.filter((candidate) => candidate.channels === group.channels).length,
    }))
    .filter((item) => item.count > 0);
  if (chosen.length === 0)
    throw new StudioError(
      'INVALID_ARGUMENT',
      `project ${projectId}: the channel plan leaves out every image; choose a conversion in Curate`,
    );
  if (channelPlan.volume)
    checkVolumeSampling(
      chosen.map((candidate) => candidate.meta ?? null),
      channelPlan.volume,
    );
  // Statistics of each image as the model sees it (converted), for the [0, 1] normalisation.
  const converted = chosen.map((candidate) => ({
    ...candidate,
    channels,
    stats: convertStats(candidate.stats, candidate.channels, candidate.conversion, channels) as ChannelStats[],
  }));
  const single = datasetNormalisation(converted);
  // 2.5-D: each of the 2n + 1 stacked planes has the bands' statistics (reconstructions undo them per channel).
  const planes = 2 * (channelPlan.volume?.neighbours ?? 0) + 1;
  const mean = Array.from({ length: planes }, () => single.mean).flat();
  const std = Array.from({ length: planes }, () => single.std).flat();
  const transform = resolveTransform(channelPlan, view.stats, pooledStats(converted, channels));
  // A split stored by curation wins; otherwise one is drawn for this run from its seed. Rows come
  // in path order, not id order: ids follow the order parallel decoding finished, so the same
  // folder imported twice would otherwise give the same seed a different split.
  const stored = chosen.some((candidate) => candidate.split === 'val');
  const { train, val } = stored
    ? {
        train: chosen.filter((candidate) => candidate.split !== 'val'),
        val: chosen.filter((candidate) => candidate.split === 'val'),
      }
    : stratifiedSplit(
        chosen,
        options.valFraction ?? DEFAULT_PRETRAIN.valFraction,
        options.seed ?? DEFAULT_TRAIN_CONFIG.seed,
      );
  return {
    channels: transform.bands.length,
    mean,
    std,
    channelPlan,
    transform,
    excludedClasses: view.coverage.excludedClasses,
    splitSource: stored ? 'curation' : 'seeded',
    scaling: 'value / (2^bitDepth - 1), then (x - mean) / std per channel',
    trainImageIds: train.map((c) => c.id),
    valImageIds: val.map((c) => c.id),
    excluded,
    ...(channelPlan.volume && {
      samples: { train: sampleCount(train, channelPlan.volume), val: sampleCount(val, channelPlan.volume) },
    }),
  };
}

/** Training samples of candidates when volumes are cut as `sampling` says. */
function sampleCount(candidates: readonly Candidate[], sampling: VolumeSampling): number {
  return volumeEntries(
    candidates.map(({ id, width, height, channels, bitDepth, meta }) => ({
      entry: { path: String(id), width, height, channels, bitDepth },
      meta: meta ?? null,
    })),
    sampling,
  ).length;
}

/**
 * Dataset mean and std per channel from per-image statistics, weighted by pixel count:
 * E[x] = Σ n·μ / Σ n, Var[x] = Σ n·(σ² + μ²) / Σ n − E[x]², each image in [0, 1] units.
 */
export function datasetNormalisation(images: readonly Candidate[]): { mean: number[]; std: number[] } {
  // Only meaningful for 8/16-bit unsigned images; typed images (int16, float32) use the transform.
  const channels = images[0]!.channels;
  const sum = new Float64Array(channels);
  const squares = new Float64Array(channels);
  let pixels = 0;
  for (const image of images) {
    const n = image.width * image.height;
    const scale = 1 / (2 ** image.bitDepth - 1);
    pixels += n;
    for (let c = 0; c < channels; c++) {
      const mean = image.stats[c]!.mean * scale;
      const std = image.stats[c]!.std * scale;
      sum[c]! += n * mean;
      squares[c]! += n * (std * std + mean * mean);
    }
  }
  const mean = Array.from(sum, (s) => s / pixels);
  const std = Array.from(squares, (s, c) => Math.sqrt(Math.max(s / pixels - mean[c]! ** 2, 0)));
  // A constant channel would divide by zero; it carries no signal, so leave it unscaled.
  return { mean, std: std.map((s) => (s > 1e-6 ? s : 1)) };
}

export { stratifiedSplit } from '../data/split';
