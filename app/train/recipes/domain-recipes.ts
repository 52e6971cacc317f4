/**
 * Domain recipes: what a pretraining run learns from besides the paper's MAE. One entry per
 * recipe — its name on screen, the paper it follows, its options checked once, the feature
 * heads it adds to the model, and its batch targets. Targets are computed on the host per batch
 * (blur.ts, hog.ts, indices.ts) and reach the model as plain tensors, so every backend trains
 * every recipe; CA-MAE changes the model only (app/mae/channel-agnostic.ts); HPM adds a loss
 * predictor to the model (app/mae/hard-patches.ts) and mines its masks in the trainer (hpm.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  DOMAIN_RECIPES,
  FEATURE_TARGETS,
  type DomainRecipeName,
  type DomainRecipeSummary,
  type FeatureTarget,
} from '../../contract';
import { validateGroupedBands, type FeatureHead, type MaeConfig } from '../../mae/config';
import type { MaeTargets } from '../../mae/model';
import { gaussianBlur } from './blur';
import { hogPerPatch, hogWidth } from './hog';
import { INDEX_BANDS, indicesPerPatch, isSpectralIndex, type BandRef, type BandRole } from './indices';

/** A run's domain recipe with its options, as its plan stores it. */
export type DomainRecipeConfig =
  | { name: 'mae' }
  | {
      name: 'deblur';
      /** σ of the Gaussian blur in pixels at the model's image size. */
      blurSigma: number;
    }
  | {
      name: 'fgmae';
      /** What the decoder regresses, in the order the losses are summed. */
      targets: FeatureTarget[];
      /** The model channels the spectral indices read (found by band name when planned). */
      bands?: Partial<Record<BandRole, BandRef>>;
      /**
       * Undoes the batch normalisation per channel (value = x · scale + shift): indices are ratios of physical values.
       */
      unscale?: { scale: number[]; shift: number[] };
    }
  | {
      name: 'satmae';
      /** Model channels of each band group (SatMAE's channel_groups). */
      groups: number[][];
      /** The groups' band names, for the screens and the model card. */
      groupNames?: string[][];
      /** Mask a patch in every group at once (spatial_mask) instead of per group. */
      spatialMask: boolean;
    }
  | {
      name: 'satmae-temporal';
      /** Dates of one place per sample (T). */
      frames: number;
      /** Mask a patch at every date at once (the reference's same_mask) instead of per date. */
      sameMask: boolean;
      /** The year timestamps count from (the run's earliest), as SatMAE counts from fMoW's first year. */
      baseYear: number;
      /** Places used, and those left out for having fewer than `frames` dates (for the screens). */
      places?: { used: number; leftOut: string[] };
      /**
       * Folders of the places held out of training for the validation loss, whole (absent in runs
       * planned before it: every place trains and no validation loss is measured).
       */
      heldOutPlaces?: string[];
    }
  | {
      name: 'camae';
      /** Weight of the Fourier-magnitude L1 term added to the MSE (0: none; Kraus et al. use 0.01). */
      fourierLossWeight: number;
    }
  | {
      name: 'hpm';
      /** Share α_T of the masked patches picked as the predicted-hardest by the end of training (Wang et al.: 0.5). */
      finalHardShare: number;
      /** Weight of the loss predictor's relative objective added to the MSE (the reference: 1). */
      lossPredictorWeight: number;
    };

/** What the screens and the model card say of each recipe. */
export const DOMAIN_RECIPE_INFO: Readonly<Record<DomainRecipeName, { label: string; citation: string }>> = {
  mae: {
    label: 'MAE',
    citation: 'He et al. 2021, "Masked Autoencoders Are Scalable Vision Learners" (arXiv:2111.06377)',
  },
  deblur: {
    label: 'Deblurring MAE',
    citation:
      'Kang et al. 2023, "Deblurring Masked Autoencoder is Better Recipe ' +
      'for Ultrasound Image Recognition" (MICCAI 2023, arXiv:2306.08249)',
  },
  fgmae: {
    label: 'FG-MAE',
    citation:
      'Wang et al. 2023, "Feature Guided Masked Autoencoder for ' +
      'Self-supervised Learning in Remote Sensing" (arXiv:2310.18653)',
  },
  satmae: {
    label: 'SatMAE (grouped bands)',
    citation:
      'Cong et al. 2022, "SatMAE: Pre-training Transformers for Temporal and Multi-Spectral ' +
      'Satellite Imagery" (NeurIPS 2022, arXiv:2207.08051)',
  },
  'satmae-temporal': {
    label: 'SatMAE (temporal)',
    citation:
      'Cong et al. 2022, "SatMAE: Pre-training Transformers for Temporal and Multi-Spectral ' +
      'Satellite Imagery" (NeurIPS 2022, arXiv:2207.08051)',
  },
  camae: {
    label: 'CA-MAE',
    citation:
      'Kraus et al. 2024, "Masked Autoencoders for Microscopy are Scalable Learners of Cellular ' +
      'Biology" (CVPR 2024, arXiv:2404.10242)',
  },
  hpm: {
    label: 'HPM (hard patches mining)',
    citation: 'Wang et al. 2023, "Hard Patches Mining for Masked Image Modeling" (CVPR 2023, arXiv:2304.05919)',
  },
};

/** Options a recipe takes when the user leaves them unset. */
export const DEFAULT_DOMAIN_RECIPE_OPTIONS = {
  blurSigma: 1, // a mild blur at the model's size; Kang et al. tune it per data set
  featureTargets: ['hog'] as FeatureTarget[], // FG-MAE: HOG for every sensor (indices need named bands)
  spatialMask: false, // SatMAE: independent masking per group (the reference's default)
  fourierLossWeight: 0.01, // CA-MAE: their config's mixing factor "for best results"
  finalHardShare: 0.5, // HPM: generate_mask ramps the hard share to 0.5 of the masked patches
  lossPredictorWeight: 1, // HPM: engine_pretrain.py adds the relative loss as it is
  frames: 3, // SatMAE temporal: three dates of a place per sample, as their fMoW-temporal model
  sameMask: false, // SatMAE temporal: independent masking across time (their default; same_mask was worse)
};

/** Checks a recipe's options; throws `train.domainRecipe…` naming the field and the allowed values. */
export function validateDomainRecipe(recipe: DomainRecipeConfig, model: MaeConfig): DomainRecipeConfig {
  const fail = (field: string, rule: string, value: unknown): never => {
    throw new Error(`train.${field} must ${rule}, got ${JSON.stringify(value)}`);
  };
  switch (recipe.name) {
    case 'mae':
      return recipe;
    case 'deblur':
      if (!(recipe.blurSigma >= 0.1 && recipe.blurSigma <= 16))
        fail('blurSigma', 'be between 0.1 and 16 pixels', recipe.blurSigma);
      return recipe;
    case 'fgmae': {
      const { targets } = recipe;
      if (!Array.isArray(targets) || targets.length === 0)
        fail('featureTargets', `name at least one of ${FEATURE_TARGETS.join(', ')}`, targets);
      for (const target of targets) {
        if (!(FEATURE_TARGETS as readonly string[]).includes(target))
          fail('featureTargets', `be among ${FEATURE_TARGETS.join(', ')}`, target);
      }
      if (new Set(targets).size !== targets.length) fail('featureTargets', 'name each target once', targets);
      for (const index of targets.filter(isSpectralIndex)) {
        const missing = INDEX_BANDS[index].filter(
          (role) => recipe.bands?.[role] === undefined || recipe.bands[role]!.channel >= model.inChans,
        );
        if (missing.length > 0)
          fail('featureTargets', `name bands for ${index.toUpperCase()} (${missing.join(', ')} missing)`, targets);
      }
      if (
        targets.some(isSpectralIndex) &&
        (recipe.unscale?.scale.length !== model.inChans || recipe.unscale?.shift.length !== model.inChans)
      ) {
        fail(
          'featureTargets',
          `carry one scale and shift per channel (${model.inChans}) for the indices`,
          recipe.unscale,
        );
      }
      return recipe;
    }
    case 'satmae':
      validateGroupedBands(
        { groups: recipe.groups, spatialMask: recipe.spatialMask },
        model.inChans,
        'train.bandGroups',
      );
      return recipe;
    case 'satmae-temporal':
      if (!(Number.isInteger(recipe.frames) && recipe.frames >= 2 && recipe.frames <= 16))
        fail('frames', 'be a whole number of dates from 2 to 16', recipe.frames);
      if (typeof recipe.sameMask !== 'boolean') fail('sameMask', 'be true or false', recipe.sameMask);
      if (!(Number.isInteger(recipe.baseYear) && recipe.baseYear >= 1900 && recipe.baseYear <= 2199))
        fail('baseYear', 'be a year from 1900 to 2199', recipe.baseYear);
      return recipe;
    case 'camae':
      if (!(recipe.fourierLossWeight >= 0 && recipe.fourierLossWeight <= 1))
        fail('fourierLossWeight', 'be between 0 and 1', recipe.fourierLossWeight);
      return recipe;
    case 'hpm':
      if (!(recipe.finalHardShare >= 0 && recipe.finalHardShare <= 1))
        fail('hardPatchShare', 'be between 0 and 1', recipe.finalHardShare);
      if (!(recipe.lossPredictorWeight > 0 && recipe.lossPredictorWeight <= 10))
        fail('lossPredictorWeight', 'be in (0, 10]', recipe.lossPredictorWeight);
      if (model.channelAgnostic || model.groupedBands) fail('domainRecipe', 'be HPM alone', recipe);
      return recipe;
    default:
      return fail('domainRecipe', `be one of ${DOMAIN_RECIPES.join(', ')}`, (recipe as { name: unknown }).name);
  }
}

/**
 * What a recipe changes in the model: FG-MAE adds a head per feature kind and may drop the pixel
 * head; SatMAE gives each band group its own patch embedding and head; CA-MAE tokenises every
 * channel on its own (with its Fourier term).
 */
export function recipeHeads(
  recipe: DomainRecipeConfig | undefined,
  model: MaeConfig,
): Pick<
  MaeConfig,
  | 'pixelHead'
  | 'featureHeads'
  | 'groupedBands'
  | 'channelAgnostic'
  | 'fourierLossWeight'
  | 'lossPredictorWeight'
  | 'temporal'
> {
  // HPM: a loss predictor beside the pixel decoder
  if (recipe?.name === 'hpm') return { lossPredictorWeight: recipe.lossPredictorWeight };
  // SatMAE temporal: T frames of one place, one shared patch embedding and head
  if (recipe?.name === 'satmae-temporal') return { temporal: { frames: recipe.frames, sameMask: recipe.sameMask } };
  // SatMAE: one patch embedding and head per group
  if (recipe?.name === 'satmae') return { groupedBands: { groups: recipe.groups, spatialMask: recipe.spatialMask } };
  if (recipe?.name === 'camae')
    return {
      channelAgnostic: true,
      ...(recipe.fourierLossWeight > 0 && { fourierLossWeight: recipe.fourierLossWeight }),
    };
  if (recipe?.name !== 'fgmae') return {};
  const heads: FeatureHead[] = [];
  if (recipe.targets.includes('hog')) heads.push({ name: 'hog', width: hogWidth(model.inChans, model.patchSize) });
  const indices = recipe.targets.filter(isSpectralIndex);
  if (indices.length > 0) heads.push({ name: 'indices', width: indices.length * model.patchSize * model.patchSize });
  return { pixelHead: recipe.targets.includes('pixels'), featureHeads: heads };
}

/** One sentence of a recipe's options: "blur σ 1.5 px", "targets HOG + NDVI (nir: "B8", red: "B4")". */
export function describeDomainRecipe(recipe: DomainRecipeConfig | undefined): string {
  if (!recipe || recipe.name === 'mae') return 'masked patches regressed as pixels';
  if (recipe.name === 'deblur') {
    return (
      `encoder sees the image blurred by a Gaussian of σ ${recipe.blurSigma} px; ` +
      'masked patches regressed as the sharp image'
    );
  }
  if (recipe.name === 'satmae') {
    const names = recipe.groupNames ?? recipe.groups.map((group) => group.map((channel) => `band ${channel + 1}`));
    const groups = names.map((group) => `(${group.join(', ')})`);
    return (
      `${groups.length} band groups ${groups.join(' ')}, each its own tokens and prediction head; ` +
      `masks ${recipe.spatialMask ? 'shared by all groups' : 'drawn per group'}`
    );
  }
  if (recipe.name === 'hpm') {
    return (
      'a loss predictor learns to rank the patches by reconstruction loss (relative objective, ' +
      `weight ${recipe.lossPredictorWeight}); the masked set holds the predicted-hardest patches, ` +
      `a share growing from 0 to ${recipe.finalHardShare} over training, the rest random`
    );
  }
  if (recipe.name === 'satmae-temporal') {
    const leftOut = recipe.places?.leftOut ?? [];
    const held = recipe.heldOutPlaces?.length ?? 0;
    const places = recipe.places
      ? `${recipe.places.used} places${leftOut.length > 0 ? ` (${leftOut.length} with fewer dates left out)` : ''}` +
        `${held > 0 ? `, ${held} held out whole for validation` : ''}; `
      : '';
    return (
      `${recipe.frames} dates of one place per sample, each date's patches its own tokens with a ` +
      `year/month/hour encoding beside the position; ${places}` +
      `masks ${recipe.sameMask ? 'shared by all dates' : 'drawn per date'}; ` +
      'masked patches of every date regressed as pixels'
    );
  }
  if (recipe.name === 'camae') {
    const fourier =
      recipe.fourierLossWeight > 0
        ? ` plus ${recipe.fourierLossWeight} × the L1 distance of their Fourier magnitudes`
        : '';
    return (
      'every channel tokenised on its own by one shared patch embedding (the encoder takes any channel count); ' +
      `each image self-standardised per channel; masked channel patches regressed as pixels${fourier}`
    );
  }
  const names = recipe.targets.map((target) => (target === 'pixels' ? 'pixels' : target.toUpperCase()));
  const bands = Object.entries(recipe.bands ?? {})
    .filter(([role]) =>
      recipe.targets.some((target) => isSpectralIndex(target) && INDEX_BANDS[target].includes(role as BandRole)),
    )
    .map(([role, band]) => `${role} = "${band!.name}"`);
  return `masked patches regressed as ${names.join(' + ')}${bands.length > 0 ? ` (${bands.join(', ')})` : ''}`;
}

/** A run's recipe as the history and the model card name it: label, options in words, paper. */
export function domainRecipeSummary(recipe: DomainRecipeConfig | undefined): DomainRecipeSummary {
  const name = recipe?.name ?? 'mae';
  // SatMAE predicts per group: no full-image reconstruction is drawn (the temporal one draws a row per date).
  const reconstructs = recipe?.name === 'fgmae' ? recipe.targets.includes('pixels') : recipe?.name !== 'satmae';
  return {
    name,
    label: DOMAIN_RECIPE_INFO[name].label,
    details: describeDomainRecipe(recipe),
    citation: DOMAIN_RECIPE_INFO[name].citation,
    reconstructs,
  };
}

/** Planar images as the batch carries them. */
export interface PlanarShape {
  batchSize: number;
  channels: number;
  height: number;
  width: number;
}

/** What the encoder sees and what the model regresses, for one batch (host arrays). */
export interface RecipeBatch {
  /** The encoder's input [B, C, H, W]. */
  input: Float32Array;
  /** Pixel targets [B, C, H, W] when they differ from the input (deblurring: the sharp images). */
  pixels?: Float32Array;
  /** Feature targets by head name, [B, L, width]. */
  features?: Record<string, Float32Array>;
}

/** A normalised batch (host) → the recipe's input and targets. The default MAE returns the batch as it is. */
export function recipeBatch(
  recipe: DomainRecipeConfig | undefined,
  images: Float32Array,
  shape: PlanarShape,
  patchSize: number,
): RecipeBatch {
  // SatMAE's and CA-MAE's changes live in the model
  if (!recipe || recipe.name === 'mae' || recipe.name === 'satmae' || recipe.name === 'camae' || recipe.name === 'hpm')
    return { input: images }; // their changes live in the model (HPM: and in the masks)
  if (recipe.name === 'satmae-temporal') return { input: images }; // frames stacked as channels, as they come
  if (recipe.name === 'deblur') return { input: gaussianBlur(images, shape, recipe.blurSigma), pixels: images };
  const features: Record<string, Float32Array> = {};
  if (recipe.targets.includes('hog')) features.hog = hogPerPatch(images, shape, patchSize);
  const indices = recipe.targets.filter(isSpectralIndex);
  if (indices.length > 0)
    features.indices = indicesPerPatch(images, shape, patchSize, indices, recipe.bands ?? {}, recipe.unscale!);
  return { input: images, features };
}

/** A recipe batch as tensors: the input [B, C, H, W] and the model's targets. Dispose with `disposeRecipeTensors`. */
export function recipeTensors(
  batch: RecipeBatch,
  shape: PlanarShape,
  patchSize: number,
): { input: tf.Tensor4D; targets: MaeTargets } {
  const dims: [number, number, number, number] = [shape.batchSize, shape.channels, shape.height, shape.width];
  const numPatches = (shape.height / patchSize) * (shape.width / patchSize);
  const targets: MaeTargets = {};
  if (batch.pixels) targets.pixels = tf.tensor4d(batch.pixels, dims);
  if (batch.features) {
    targets.features = Object.fromEntries(
      Object.entries(batch.features).map(([name, values]) => [
        name,
        tf.tensor3d(values, [shape.batchSize, numPatches, values.length / (shape.batchSize * numPatches)]),
      ]),
    );
  }
  return { input: tf.tensor4d(batch.input, dims), targets };
}

/** Frees a recipe batch's target tensors. */
export function disposeRecipeTensors(targets: MaeTargets): void {
  if (targets.pixels) targets.pixels.dispose();
  for (const feature of Object.values(targets.features ?? {})) feature.dispose();
}
