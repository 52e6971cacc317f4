/**
 * Fine-tuning recipe (MAE `main_finetune.py`, scaled to a desktop): AdamW (β2 0.999), base lr
 * scaled by batch / 256, linear warmup then cosine, layer-wise lr decay, drop path, label
 * smoothing. Validated once; stored as the config of a `finetune` run whose parent is the
 * pretraining run it starts from.
 */
import { DEFAULT_FINETUNE_RECIPE, StudioError } from '../contract';
import type { BackendPreference } from '../runtime/backend';
import type { Workspace } from '../workspace';
import type { Pooling } from './probe-model';
import { LR_RULES, type LrRuleName } from './schedule';
import { refuseTemporal } from './recipes/temporal-data';
import { isVolume3dRun, typedRun } from './run-records';

/** Everything a fine-tuning run needs besides its data and starting weights. */
export interface FinetuneConfig {
  /** Optimizer steps. */
  steps: number;
  warmupSteps: number;
  batchSize: number;
  /** Base lr; the peak is blr × batch / 256. */
  blr: number;
  minLr: number;
  /** Layer-wise lr decay factor. */
  layerDecay: number;
  /** Drop-path rate of the last block. */
  dropPath: number;
  /** ε of label smoothing. */
  labelSmoothing: number;
  weightDecay: number;
  pooling: Pooling;
  seed: number;
  backend: BackendPreference;
  /** Validation passes over the run (at evenly spaced steps; the last at the end). */
  evaluations: number;
  /**
   * Also fine-tune the encoder from its random initialisation with the same steps, batches and
   * seed, so the result shows what pretraining bought (doubles the run's time); absent in configs
   * stored before it existed, which read as true.
   */
  randomInitBaseline?: boolean;
  /**
   * Start the head from the linear probe of the frozen features (LP-FT, Kumar et al. 2022) instead
   * of near zero; absent in configs stored before it existed, which read as false (as they ran).
   */
  linearProbeInit?: boolean;
  /**
   * How the peak lr follows from `blr` and the batch (`schedule.ts`); absent in configs stored
   * before it existed, which read as the paper's `linear` (as they ran).
   */
  lrRule?: LrRuleName;
  /**
   * Smallest area share of the random-resized crops (the paper: 0.2); 1 trains on whole images.
   * Absent in stored configs: 0.2, as they ran.
   */
  cropScale?: number;
  /** Probability of a horizontal flip (the paper: 0.5); absent in stored configs: 0.5, as they ran. */
  flipProbability?: number;
}

/** Warm-up as a share of the steps: the default's, and a run's whose steps are chosen without one. */
const WARMUP_SHARE = 0.1;

/**
 * MAE fine-tuning defaults (He et al., Table 9), for small projects: 3 000 steps at a peak lr of 6e-4,
 * without the paper's crops, flips and drop path (`DEFAULT_FINETUNE_RECIPE`: they cost accuracy).
 */
export const DEFAULT_FINETUNE: FinetuneConfig = {
  ...DEFAULT_FINETUNE_RECIPE, // steps, layer decay, drop path, label smoothing, crops, flips
  warmupSteps: Math.floor(DEFAULT_FINETUNE_RECIPE.steps * WARMUP_SHARE), // paper: 5 of 100 epochs; 300 here
  batchSize: 16, // fits ViT-Tiny at small image sizes on a laptop
  blr: 1e-2, // paper: 5e-4 (ViT-B); bench:finetune, digits at 1 500 steps: 1e-2 and 2e-2 tie at 96.7%
  lrRule: 'linear', // paper: blr × batch / 256, 6e-4 at batch 16
  minLr: 1e-6, // reference min_lr
  weightDecay: 0.05, // paper: 0.05
  pooling: 'mean', // paper fine-tunes on the global average of patch tokens
  seed: 0,
  backend: 'auto',
  evaluations: 4,
  randomInitBaseline: true, // a gain over random init is the question a fine-tune answers
  linearProbeInit: true, // bench:finetune: a near-zero head at desktop budgets stayed at chance on the digits
};

/**
 * Merges `input` over the defaults and checks every field; throws `finetune.<field> must ...`.
 * Steps given without a warm-up warm up for a tenth of them (the one place this rule lives).
 */
export function validateFinetuneConfig(input: Partial<FinetuneConfig>): FinetuneConfig {
  const defined = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
  const warmup =
    input.steps !== undefined && input.warmupSteps === undefined
      ? { warmupSteps: Math.floor(input.steps * WARMUP_SHARE) }
      : {};
  const config = { ...DEFAULT_FINETUNE, ...warmup, ...defined } as FinetuneConfig;
  const fail = (field: string, rule: string, value: unknown): never => {
    throw new StudioError('INVALID_ARGUMENT', `finetune.${field} must ${rule}, got ${JSON.stringify(value)}`);
  };
  for (const field of ['steps', 'batchSize', 'evaluations'] as const) {
    if (!Number.isInteger(config[field]) || config[field] < 1) fail(field, 'be a positive integer', config[field]);
  }
  if (!Number.isInteger(config.warmupSteps) || config.warmupSteps < 0 || config.warmupSteps >= config.steps)
    fail('warmupSteps', `be an integer in [0, steps = ${config.steps})`, config.warmupSteps);
  for (const field of ['blr', 'minLr', 'weightDecay'] as const)
    if (!(config[field] >= 0 && Number.isFinite(config[field]))) fail(field, 'be a finite number ≥ 0', config[field]);
  if (!(config.layerDecay > 0 && config.layerDecay <= 1))
    fail('layerDecay', 'be in (0, 1] (MAE uses 0.65–0.75)', config.layerDecay);
  if (!(config.dropPath >= 0 && config.dropPath < 1)) fail('dropPath', 'be in [0, 1)', config.dropPath);
  if (!(config.labelSmoothing >= 0 && config.labelSmoothing < 1))
    fail('labelSmoothing', 'be in [0, 1)', config.labelSmoothing);
  if (!(LR_RULES as readonly string[]).includes(config.lrRule ?? ''))
    fail('lrRule', `be one of ${LR_RULES.join(', ')}`, config.lrRule);
  if (!(config.cropScale! > 0 && config.cropScale! <= 1)) fail('cropScale', 'be in (0, 1]', config.cropScale);
  if (!(config.flipProbability! >= 0 && config.flipProbability! <= 1))
    fail('flipProbability', 'be in [0, 1]', config.flipProbability);
  if (!['cls', 'mean'].includes(config.pooling)) fail('pooling', 'be cls or mean', config.pooling);
  if (!Number.isInteger(config.seed)) fail('seed', 'be an integer', config.seed);
  for (const field of ['randomInitBaseline', 'linearProbeInit'] as const)
    if (typeof config[field] !== 'boolean') fail(field, 'be true or false', config[field]);
  return config;
}

/** The stored config of a fine-tuning run. */
export interface FinetunePlan extends FinetuneConfig {
  pretrainRunId: number;
}

/** Plans fine-tuning of a pretraining run's encoder: a queued run of kind finetune. */
export function planFinetune(workspace: Workspace, pretrainRunId: number, input: Partial<FinetuneConfig>): number {
  const parent = workspace.runs.get(pretrainRunId);
  if (parent.kind !== 'pretrain')
    throw new StudioError(
      'INVALID_ARGUMENT',
      `run ${pretrainRunId} is a ${parent.kind} run; fine-tune a pretraining run`,
    );
  if (!workspace.runs.latestCheckpoint(pretrainRunId))
    throw new StudioError('CONFLICT', `run ${pretrainRunId} has no checkpoint yet; pretrain it first`);
  const pretrain = typedRun(parent);
  if (isVolume3dRun(pretrain))
    throw new StudioError(
      'UNSUPPORTED',
      `run ${pretrainRunId} is a 3-D MAE run: fine-tuning takes 2-D runs; probe it (per-volume labels) or export it`,
    );
  if (pretrain.kind === 'pretrain') refuseTemporal(pretrainRunId, pretrain.config.recipe.domainRecipe, 'fine-tuning');
  const plan: FinetunePlan = { ...validateFinetuneConfig(input), pretrainRunId };
  return workspace.runs.create({
    projectId: parent.projectId,
    kind: 'finetune',
    config: plan,
    parentRunId: pretrainRunId,
  }).id;
}
