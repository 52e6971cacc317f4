/**
 * Pretraining recipe: model, masking, batch, optimizer and schedule, merged over the
 * reference defaults by one validator that names the offending field; and what a run takes for
 * the options beyond the recipe (`DEFAULT_PRETRAIN`: encoder, decoder, epochs, backend, split).
 */
import { MASK_STRATEGIES } from '../contract';
import {
  DEFAULT_MAE_CONFIG,
  validateMaeConfig,
  type DECODER_SIZES,
  type ENCODER_SIZES,
  type MaeConfig,
} from '../mae/config';
import type { BackendPreference } from '../runtime/backend';
import type { MaskStrategyName } from '../mae/masking';
import { DEFAULT_ADAMW } from './adamw';
import { recipeHeads, validateDomainRecipe, type DomainRecipeConfig } from './recipes/domain-recipes';
import { describeLearningRate, LR_RULES, peakLearningRate, type LrRuleName } from './schedule';

/** Everything a pretraining run needs besides its data. */
export interface TrainConfig {
  model: MaeConfig;
  /** Fraction of patches masked. */
  maskRatio: number;
  /** How masked patches are chosen. */
  maskStrategy: MaskStrategyName;
  /** Images per forward pass. */
  batchSize: number;
  /** Forward passes per optimizer step (effective batch = batchSize × accumSteps). */
  accumSteps: number;
  /** Optimizer steps of the whole run. */
  totalSteps: number;
  /** Optimizer steps of linear warmup. */
  warmupSteps: number;
  /** How the peak lr follows the effective batch (schedule.ts `peakLearningRate`). */
  lrRule: LrRuleName;
  /** Base learning rate: the lr at effective batch 256 (linear, sqrt), or the lr itself (fixed). */
  blr: number;
  /**
   * The peak lr the rule gave when the run was planned, kept so a run resumed by a later version
   * (whose rule constants may differ) trains on; absent, it is computed from the rule.
   */
  peakLr?: number;
  /** Floor of the cosine schedule. */
  minLr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Seeds initialisation, data order, augmentation and masks. */
  seed: number;
  /**
   * The domain recipe and its options (recipes/domain-recipes.ts); absent: the paper's MAE (every
   * run planned before recipes). It decides the model's prediction heads.
   */
  domainRecipe?: DomainRecipeConfig;
}

/** Each rule's default base lr (bench/recipe.ts measured them; README "Pretraining defaults"). */
export const DEFAULT_BLR: Readonly<Record<LrRuleName, number>> = {
  linear: 1.5e-4, // paper: base lr 1.5e-4 at batch 4096
  sqrt: 6e-4, // × √(4096 / 256) = 2.4e-3, the paper's lr at its batch 4096
  fixed: 3e-4, // 1e-3 gave a lower 200-step loss but spoiled the features of real images (bench/recipe.ts)
  floor: 1.5e-4, // the paper's base lr, floored at LR_FLOOR
};

/** The MAE recipe (He et al., Table 8), scaled down where a desktop needs it. */
export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  model: DEFAULT_MAE_CONFIG,
  maskRatio: 0.75, // He et al.: 75% is the sweet spot
  maskStrategy: 'random', // the paper's per-sample random masking
  batchSize: 8, // fits ViT-Tiny @224 in a few GB; use accumSteps for larger effective batches
  accumSteps: 1, // no accumulation by default
  totalSteps: 1000, // a short desktop run; the paper trains 800 epochs of ImageNet
  warmupSteps: 50, // paper: 40 of 800 epochs, i.e. 5% of the run
  lrRule: 'floor', // the paper's rule at large batches, never below LR_FLOOR at small ones (bench/recipe.ts)
  blr: DEFAULT_BLR.floor, // the default rule's base lr; another rule brings its own (DEFAULT_BLR)
  minLr: 0, // reference default min_lr = 0
  weightDecay: DEFAULT_ADAMW.weightDecay, // paper: 0.05
  beta1: DEFAULT_ADAMW.beta1, // paper: 0.9
  beta2: DEFAULT_ADAMW.beta2, // paper: 0.95
  epsilon: DEFAULT_ADAMW.epsilon, // torch default 1e-8
  seed: 0, // any integer
};

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
  preset: 'vit-tiny', // DEFAULT_MAE_CONFIG's encoder: the size that trains on a laptop (blocks: model-sizing.ts)
  decoder: '512x8', // the paper's, for runs from published weights; others are sized to the project (model-sizing.ts)
  epochs: 30, // when neither steps nor epochs are given; bench:finetune: 30 beat 10 (README, fine-tuning)
  backend: 'auto', // the fastest backend that works on this machine
  valFraction: 0.1, // enough images for a stable val loss on small projects
};

/** Merges `input` over the defaults and checks every field; throws `train.<field> must ...`. */
export function validateTrainConfig(input: Partial<TrainConfig> & { model?: Partial<MaeConfig> }): TrainConfig {
  const config: TrainConfig = {
    ...DEFAULT_TRAIN_CONFIG,
    ...input,
    model: { ...DEFAULT_TRAIN_CONFIG.model, ...input.model },
  };
  // The recipe decides the heads; a plain MAE keeps the reference model (and its stored JSON) as it was.
  delete config.model.pixelHead;
  delete config.model.featureHeads;
  if (config.domainRecipe?.name === 'mae') delete config.domainRecipe;
  if (config.domainRecipe) {
    validateDomainRecipe(config.domainRecipe, config.model);
    config.model = { ...config.model, ...recipeHeads(config.domainRecipe, config.model) };
  }
  // A rule chosen without a base lr takes that rule's own default (a fixed lr is not a linear blr).
  if (input.blr === undefined && config.lrRule in DEFAULT_BLR) config.blr = DEFAULT_BLR[config.lrRule];
  validateMaeConfig(config.model);
  const fail = (field: string, rule: string, value: unknown): never => {
    throw new Error(`train.${field} must ${rule}, got ${JSON.stringify(value)}`);
  };
  if (!(config.maskRatio > 0 && config.maskRatio < 1)) fail('maskRatio', 'be in (0, 1)', config.maskRatio);
  if (!(LR_RULES as readonly string[]).includes(config.lrRule))
    fail('lrRule', `be one of ${LR_RULES.join(', ')}`, config.lrRule);
  if (!(MASK_STRATEGIES as readonly string[]).includes(config.maskStrategy))
    fail('maskStrategy', `be one of ${MASK_STRATEGIES.join(', ')}`, config.maskStrategy);
  // HPM mines its own masks: the hardest patches its loss predictor ranks, the rest at random
  if (config.domainRecipe?.name === 'hpm' && config.maskStrategy !== 'random')
    fail('maskStrategy', 'be random with HPM (it mines the hard patches itself)', config.maskStrategy);
  for (const field of ['batchSize', 'accumSteps', 'totalSteps'] as const) {
    if (!Number.isInteger(config[field]) || config[field] < 1) fail(field, 'be a positive integer', config[field]);
  }
  if (!Number.isInteger(config.warmupSteps) || config.warmupSteps < 0)
    fail('warmupSteps', 'be a non-negative integer', config.warmupSteps);
  if (!Number.isInteger(config.seed)) fail('seed', 'be an integer', config.seed);
  if (config.peakLr !== undefined && !(config.peakLr >= 0 && Number.isFinite(config.peakLr)))
    fail('peakLr', 'be a finite number ≥ 0', config.peakLr);
  for (const field of ['blr', 'minLr', 'weightDecay', 'epsilon'] as const) {
    if (!(config[field] >= 0) || !Number.isFinite(config[field])) fail(field, 'be a finite number ≥ 0', config[field]);
  }
  for (const field of ['beta1', 'beta2'] as const) {
    if (!(config[field] >= 0 && config[field] < 1)) fail(field, 'be in [0, 1)', config[field]);
  }
  return config;
}

/**
 * A recipe as stored by a run: one planned before lr rules existed has no `lrRule` and was
 * trained with the paper's linear rule, which it keeps (the default would change its lr).
 */
export function storedTrainConfig(stored: TrainConfig): TrainConfig {
  return { ...stored, lrRule: stored.lrRule ?? 'linear' };
}

/** The fields of a recipe that decide its learning rate. */
type LrFields = Pick<TrainConfig, 'lrRule' | 'blr' | 'batchSize' | 'accumSteps' | 'peakLr'>;

/** The peak lr of a recipe: as stored when planned, else what its rule gives its effective batch. */
export function recipePeakLr(config: LrFields): number {
  return config.peakLr ?? peakLearningRate(config.lrRule ?? 'linear', config.blr, config.batchSize * config.accumSteps);
}

/** "lr 3e-4 (rule: floor, …, blr 1.5e-4, batch 8)" for a recipe (stored or new; no rule reads as linear). */
export function describeRecipeLr(config: LrFields): string {
  return describeLearningRate(
    config.lrRule ?? 'linear',
    config.blr,
    config.batchSize * config.accumSteps,
    recipePeakLr(config),
  );
}
