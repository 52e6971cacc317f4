/**
 * Planning a pretraining run: the recipe from user options (validated once, over the engine's
 * defaults, `DEFAULT_PRETRAIN` in `config.ts` for the options beyond the recipe), the model config,
 * the init weights, and the dataset it reads with its normalisation and split (`dataset-plan.ts`).
 * The plan is stored as the run's config, so a resumed run reads exactly the same data.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StudioError, type Recipe, type RunTimeEstimate } from '../contract';
import { checkInitWeights, type InitReport } from '../mae/weights/init';
import {
  DEFAULT_MAE_CONFIG,
  MAE_PRESETS,
  maeConfigFromParts,
  ENCODER_SIZES,
  type MaeConfig,
  type MaePresetName,
} from '../mae/config';
import type { BackendPreference } from '../runtime/backend';
import type { Workspace } from '../workspace';
import { DEFAULT_PRETRAIN, DEFAULT_TRAIN_CONFIG, validateTrainConfig, type TrainConfig } from './config';
import { datasetUnscale, modelBandNames, planDataset, type DatasetPlan } from './dataset-plan';
import { sizeModel, sizingReason, type SizedField } from './model-sizing';
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
  /** Why the model has the size it has, when the options left some of it to the project (`model-sizing.ts`). */
  sizing?: string;
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
  const sized = projectSizedOptions(options, data);
  const model = modelConfig(sized.options, data.channels);
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
    ...(sized.reason && { sizing: sized.reason }),
  };
  return plan;
}

/**
 * The options with the model fields they leave unset sized to the project (`model-sizing.ts`): the
 * image size, and the encoder's blocks and the decoder when no encoder size is named. A run from
 * published weights or a full preset name keeps the model those give.
 */
export function projectSizedOptions(
  options: PretrainOptions,
  data: DatasetPlan,
): { options: PretrainOptions; reason: string | null } {
  if (options.init !== undefined || (options.preset !== undefined && !(options.preset in ENCODER_SIZES)))
    return { options, reason: null };
  const sized: SizedField[] = [];
  if (options.imgSize === undefined) sized.push('imgSize');
  if (options.depth === undefined && options.preset === undefined) sized.push('depth');
  if (options.decoder === undefined) sized.push('decoder');
  if (sized.length === 0) return { options, reason: null };
  const project = {
    trainSamples: data.samples?.train ?? data.trainImageIds.length,
    imageSide: data.imageSide ?? DEFAULT_MAE_CONFIG.imgSize,
  };
  const sizing = sizeModel(project, options.patchSize ?? DEFAULT_MAE_CONFIG.patchSize);
  return {
    options: { ...options, ...Object.fromEntries(sized.map((field) => [field, sizing[field]])) },
    reason: sizingReason(project, sizing, sized),
  };
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
