/**
 * Planning a 3-D MAE run on a project's volumes: the recipe (the 2-D run's optimizer, schedule
 * and masking, over a `Mae3dConfig`), the volumes it reads, split by subject (else by volume) so
 * no volume — and no patient — gives crops to both sides, and whether crops are taken from the
 * volumes as stored or resampled to isotropic voxels, with the reason. The plan is stored as the
 * run's config (kind `pretrain`, told apart by its `volume3d` field), so a resumed run reads
 * exactly the same volumes.
 */
import {
  StudioError,
  type RunRecipe,
  type Size3dTuple,
  type Volume3dDefaults,
  type Volume3dRecipe,
  type Volume3dRunSummary,
} from '../../contract';
import { DEFAULT_CROP3D, type Crop3dOptions } from '../../data/volumes/volume-crops';
import { collectVolumes, type VolumeRef } from '../../data/volumes/volume-set';
import { isotropicSize } from '../../data/volumes/volume-resample';
import { median } from '../../data/median';
import { stratifiedSplit } from '../../data/split';
import { ENCODER_SIZES } from '../../mae/config';
import type { MaskStrategyName } from '../../mae/masking';
import { patchLength3d, tokenCount3d, validateMae3dConfig, type Mae3dConfig } from '../../mae/volume3d/config3d';
import { estimateTrainingMemory, type MemoryEstimate } from '../memory-estimate';
import type { BackendPreference } from '../../runtime/backend';
import type { Workspace } from '../../workspace';
import { DEFAULT_TRAIN_CONFIG } from '../config';
import { peakLearningRate } from '../schedule';
import type { Pretrain3dOptions } from '../volume3d-pretrain';
import { suggestVolume3d } from './suggest3d';

/** A 3-D run's defaults besides the 2-D recipe's (`DEFAULT_TRAIN_CONFIG`). */
export const DEFAULT_VOLUME_RUN = {
  preset: 'vit-tiny' as const, // trains on a laptop
  decoder: '128x2', // the light decoder: 3-D tokens are many
  batchSize: 4, // 64³ crops: about the voxels of the 2-D default batch
  epochs: 100, // an epoch sees each training volume once, as one random crop
  valFraction: 0.2, // volumes are few: a fifth of the subjects for a stable validation loss
  backend: 'auto' as BackendPreference,
};

/** The stored config of a 3-D MAE run. */
export interface Pretrain3dPlan {
  volume3d: {
    model: Mae3dConfig;
    resample: 'none' | 'isotropic';
    /** Why the patch and resampling are what they are. */
    why: string;
    crops: Omit<Crop3dOptions, 'size'>;
  };
  recipe: Omit<Pretrain3dOptions, 'crops' | 'maskStrategy'> & {
    peakLr: number;
    /** Absent in runs planned before 3-D runs had a strategy: random. */
    maskStrategy?: MaskStrategyName;
  };
  backend: BackendPreference;
  data: {
    channels: number;
    trainVolumes: VolumeRef[];
    valVolumes: VolumeRef[];
    /** Every stored slice row of the volumes, per side (what the model card counts). */
    trainImageIds: number[];
    valImageIds: number[];
    excluded: { reason: string; count: number }[];
    splitSource: 'curation' | 'seeded';
  };
  stepsPerEpoch: number;
  /** Steps between checkpoints and between validation passes. */
  checkpointEvery: number;
  validateEvery: number;
}

/** Whether a stored pretraining config is a 3-D run's. */
export function isPretrain3dPlan(config: unknown): config is Pretrain3dPlan {
  return typeof config === 'object' && config !== null && 'volume3d' in config;
}

/** The project's volumes, their common channel count and what was left out. */
function projectVolumes(workspace: Workspace, projectId: number) {
  const rows = workspace.images.usable(projectId, 'path');
  const { volumes, notVolumes } = collectVolumes(rows);
  const counts = new Map<number, number>();
  for (const volume of volumes) counts.set(volume.channels, (counts.get(volume.channels) ?? 0) + 1);
  const channels = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? 1;
  const kept = volumes.filter((volume) => volume.channels === channels);
  const excluded = [
    { reason: 'images that are not slices of a whole volume (2-D images, series with gaps)', count: notVolumes },
    { reason: `volumes without ${channels} channel(s)`, count: volumes.length - kept.length },
  ].filter((item) => item.count > 0);
  const splits = new Map(rows.map((row) => [row.id, row.split]));
  return { volumes: kept, channels, excluded, splits };
}

/** Volumes on each side: curation's split when it set one (a volume goes where most of its slices are), else seeded. */
function splitVolumes(
  volumes: VolumeRef[],
  splits: Map<number, string | null>,
  valFraction: number,
  seed: number,
): { train: VolumeRef[]; val: VolumeRef[]; source: 'curation' | 'seeded' } {
  const valShare = (volume: VolumeRef) =>
    volume.imageIds.filter((id) => splits.get(id) === 'val').length / volume.imageIds.length;
  if (volumes.some((volume) => valShare(volume) > 0)) {
    return {
      train: volumes.filter((volume) => valShare(volume) <= 0.5),
      val: volumes.filter((volume) => valShare(volume) > 0.5),
      source: 'curation',
    };
  }
  const { train, val } = stratifiedSplit(volumes, valFraction, seed);
  return { train, val, source: 'seeded' };
}

/** The size a volume is cropped at (slices, rows, columns): as stored, or resampled. */
export function croppedSize(volume: VolumeRef, resample: 'none' | 'isotropic'): Size3dTuple {
  return resample === 'isotropic' ? isotropicSize(volume.size, volume.spacing) : [...volume.size];
}

function smallestOf(sizes: Size3dTuple[]): Size3dTuple | null {
  if (sizes.length === 0) return null;
  return [0, 1, 2].map((axis) => Math.min(...sizes.map((size) => size[axis]!))) as Size3dTuple;
}

/** What the dialog offers: availability with its reason, the split and the suggestion. */
export function volumeRunDefaults(workspace: Workspace, projectId: number): Volume3dDefaults {
  workspace.projects.require(projectId);
  const { volumes, splits } = projectVolumes(workspace, projectId);
  const split = splitVolumes(volumes, splits, DEFAULT_VOLUME_RUN.valFraction, DEFAULT_TRAIN_CONFIG.seed);
  const smallest = smallestOf(volumes.map((volume) => [...volume.size] as Size3dTuple));
  const spacing =
    volumes.length > 0
      ? ([0, 1, 2].map((axis) => median(volumes.map((volume) => volume.spacing[axis]!))) as Size3dTuple)
      : null;
  const suggestion = smallest && spacing ? suggestVolume3d(spacing, smallest) : null;
  const reason =
    volumes.length === 0
      ? 'This project holds no whole volumes: import NIfTI files or DICOM series to train a 3-D MAE.'
      : split.train.length === 0
        ? 'Every volume is in the validation split: keep at least one for training.'
        : null;
  return {
    available: reason === null,
    reason,
    volumes: volumes.length,
    trainVolumes: split.train.length,
    valVolumes: split.val.length,
    smallest,
    spacing,
    suggestion,
    recipe: {
      crop: suggestion?.crop ?? [64, 64, 64],
      patch: suggestion?.patch ?? [16, 16, 16],
      resample: suggestion?.resample ?? 'none',
      preset: DEFAULT_VOLUME_RUN.preset,
      depth: ENCODER_SIZES[DEFAULT_VOLUME_RUN.preset].depth,
      decoder: DEFAULT_VOLUME_RUN.decoder,
      maskRatio: DEFAULT_TRAIN_CONFIG.maskRatio,
      maskStrategy: DEFAULT_TRAIN_CONFIG.maskStrategy,
      normPixLoss: true,
      batchSize: DEFAULT_VOLUME_RUN.batchSize,
      epochs: DEFAULT_VOLUME_RUN.epochs,
      blr: DEFAULT_TRAIN_CONFIG.blr,
      seed: DEFAULT_TRAIN_CONFIG.seed,
      backend: DEFAULT_VOLUME_RUN.backend,
    },
  };
}

function invalid(message: string): StudioError {
  return new StudioError('INVALID_ARGUMENT', message);
}

/** The 3-D model of a recipe (unset fields: the suggestion's crop and patch, ViT-Tiny, 128×2 decoder). */
function modelOf(recipe: Volume3dRecipe, channels: number, suggested: Volume3dDefaults['recipe']): Mae3dConfig {
  const encoder = ENCODER_SIZES[recipe.preset ?? DEFAULT_VOLUME_RUN.preset];
  const [width, blocks] = (recipe.decoder ?? DEFAULT_VOLUME_RUN.decoder).split('x').map(Number) as [number, number];
  try {
    return validateMae3dConfig({
      volumeSize: recipe.crop ?? suggested.crop,
      patchSize: recipe.patch ?? suggested.patch,
      inChans: channels,
      embedDim: encoder.embedDim,
      depth: recipe.depth ?? encoder.depth,
      numHeads: encoder.numHeads,
      decoderEmbedDim: width,
      decoderDepth: blocks,
      decoderNumHeads: Math.max(1, Math.floor(width / 32)),
      mlpRatio: 4,
      normPixLoss: recipe.normPixLoss ?? true,
    });
  } catch (error) {
    throw invalid((error as Error).message);
  }
}

/** Builds and validates a 3-D plan without storing it. */
export function buildPretrain3dPlan(workspace: Workspace, projectId: number, recipe: Volume3dRecipe): Pretrain3dPlan {
  const defaults = volumeRunDefaults(workspace, projectId);
  if (!defaults.available) throw invalid(defaults.reason!);
  const { volumes, channels, excluded, splits } = projectVolumes(workspace, projectId);
  const seed = recipe.seed ?? DEFAULT_TRAIN_CONFIG.seed;
  const split = splitVolumes(volumes, splits, recipe.valFraction ?? DEFAULT_VOLUME_RUN.valFraction, seed);
  const model = modelOf(recipe, channels, defaults.recipe);
  const resample = recipe.resample ?? defaults.recipe.resample;
  for (const volume of [...split.train, ...split.val]) {
    const size = croppedSize(volume, resample);
    if (model.volumeSize.some((side, axis) => side > size[axis]!)) {
      throw invalid(
        `crop ${model.volumeSize.join('×')} (slices×rows×columns) does not fit ${volume.name}, which is ` +
          `${size.join('×')}${resample === 'isotropic' ? ' after resampling' : ''}; choose a smaller crop`,
      );
    }
  }
  const batchSize = recipe.batchSize ?? DEFAULT_VOLUME_RUN.batchSize;
  if (recipe.steps !== undefined && recipe.epochs !== undefined)
    throw invalid('pretrain: give --steps or --epochs, not both');
  const stepsPerEpoch = Math.max(1, Math.ceil(split.train.length / batchSize));
  const totalSteps = recipe.steps ?? (recipe.epochs ?? DEFAULT_VOLUME_RUN.epochs) * stepsPerEpoch;
  const blr = recipe.blr ?? DEFAULT_TRAIN_CONFIG.blr;
  const suggestion = defaults.suggestion;
  const chosenByHand =
    suggestion && (model.patchSize.join() !== suggestion.patch.join() || resample !== suggestion.resample);
  const why =
    resample === 'isotropic'
      ? 'Volumes resampled to isotropic voxels (the finest spacing of each) before cropping, as chosen; ' +
        (suggestion?.reason ?? '')
      : chosenByHand
        ? `Patch ${model.patchSize.join('×')} chosen by hand; the suggestion was: ${suggestion!.reason}`
        : (suggestion?.reason ?? '');
  const every = Math.min(200, Math.max(10, stepsPerEpoch));
  return {
    volume3d: { model, resample, why, crops: { ...DEFAULT_CROP3D } },
    recipe: {
      maskRatio: recipe.maskRatio ?? DEFAULT_TRAIN_CONFIG.maskRatio,
      maskStrategy: recipe.maskStrategy ?? DEFAULT_TRAIN_CONFIG.maskStrategy,
      batchSize,
      totalSteps,
      // The paper warms up for 5% of training; keep that proportion for short desktop runs.
      warmupSteps: recipe.warmupSteps ?? Math.min(Math.round(totalSteps * 0.05), 2000),
      lrRule: DEFAULT_TRAIN_CONFIG.lrRule,
      blr,
      minLr: DEFAULT_TRAIN_CONFIG.minLr,
      weightDecay: DEFAULT_TRAIN_CONFIG.weightDecay,
      beta1: DEFAULT_TRAIN_CONFIG.beta1,
      beta2: DEFAULT_TRAIN_CONFIG.beta2,
      epsilon: DEFAULT_TRAIN_CONFIG.epsilon,
      seed,
      peakLr: peakLearningRate(DEFAULT_TRAIN_CONFIG.lrRule, blr, batchSize),
    },
    backend: recipe.backend ?? DEFAULT_VOLUME_RUN.backend,
    data: {
      channels,
      trainVolumes: split.train,
      valVolumes: split.val,
      trainImageIds: split.train.flatMap((volume) => volume.imageIds),
      valImageIds: split.val.flatMap((volume) => volume.imageIds),
      excluded,
      splitSource: split.source,
    },
    stepsPerEpoch,
    checkpointEvery: every,
    validateEvery: every,
  };
}

/** What the history shows of a 3-D plan beside the 2-D fields. */
export function volume3dSummary(plan: Pretrain3dPlan): Volume3dRunSummary {
  return {
    crop: [...plan.volume3d.model.volumeSize],
    patch: [...plan.volume3d.model.patchSize],
    resample: plan.volume3d.resample,
    why: plan.volume3d.why,
    trainVolumes: plan.data.trainVolumes.length,
    valVolumes: plan.data.valVolumes.length,
  };
}

/** The run's mask strategy: runs planned before 3-D runs had one used random masking. */
export function maskStrategy3d(plan: Pretrain3dPlan): MaskStrategyName {
  return plan.recipe.maskStrategy ?? 'random';
}

/** A 3-D run as the history shows it: in-plane crop and patch in the 2-D fields, the rest in `volume3d`. */
export function recipeSummary3d(plan: Pretrain3dPlan): RunRecipe {
  const { model } = plan.volume3d;
  const { recipe } = plan;
  return {
    imgSize: model.volumeSize[1],
    patchSize: model.patchSize[1],
    embedDim: model.embedDim,
    depth: model.depth,
    decoderEmbedDim: model.decoderEmbedDim,
    decoderDepth: model.decoderDepth,
    channels: model.inChans,
    maskRatio: recipe.maskRatio,
    maskStrategy: maskStrategy3d(plan),
    normPixLoss: model.normPixLoss,
    batchSize: recipe.batchSize,
    accumSteps: 1,
    totalSteps: recipe.totalSteps,
    stepsPerEpoch: plan.stepsPerEpoch,
    blr: recipe.blr,
    lrRule: recipe.lrRule,
    peakLr: recipe.peakLr,
    seed: recipe.seed,
    backend: plan.backend,
    volume3d: volume3dSummary(plan),
    trainImages: plan.data.trainImageIds.length,
    valImages: plan.data.valImageIds.length,
  };
}

/**
 * Memory of one step of a 3-D run, by the 2-D estimate of the same tokens: at token level a 3-D
 * MAE is a 2-D one of 1×1 patches of C·pd·ph·pw values (mae3d.ts); its L tokens are laid out on
 * the smallest square holding them, so the estimate errs on the large side.
 */
export function estimateVolume3dMemory(plan: Pretrain3dPlan): MemoryEstimate {
  const { model } = plan.volume3d;
  return estimateTrainingMemory({
    model: {
      imgSize: Math.ceil(Math.sqrt(tokenCount3d(model))),
      patchSize: 1,
      inChans: patchLength3d(model),
      embedDim: model.embedDim,
      depth: model.depth,
      numHeads: model.numHeads,
      decoderEmbedDim: model.decoderEmbedDim,
      decoderDepth: model.decoderDepth,
      decoderNumHeads: model.decoderNumHeads,
      mlpRatio: model.mlpRatio,
      normPixLoss: model.normPixLoss,
    },
    batchSize: plan.recipe.batchSize,
    maskRatio: plan.recipe.maskRatio,
  });
}
