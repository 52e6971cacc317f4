/**
 * Recipes as people see them: a sentence per field for the new-run dialog, which field an
 * engine error belongs to, and the short summary the run history shows.
 */
import type { Recipe, RunRecipe } from '../contract';
import type { PretrainPlan } from './pretrain-plan';
import { recipePeakLr } from './config';
import { domainRecipeSummary } from './recipes/domain-recipes';

/** One sentence per recipe field, shown under it in the new-run dialog. */
export const RECIPE_HELP: Record<keyof Recipe, string> = {
  preset: 'Encoder size. ViT-Tiny trains on a laptop; Small and Base need a GPU and more images.',
  imgSize:
    "Side in pixels each image is resized to; by default the images' own side in whole patches, at most 224. " +
    'Must be divisible by the patch size.',
  patchSize: 'Side of one patch (token). Smaller patches see finer detail but cost quadratically more.',
  decoder: 'Decoder width × blocks. The paper uses 512×8; 128×2 is ~20× cheaper and the default below 10,000 images.',
  depth:
    'Encoder blocks. ViT-Tiny has 12; below 10,000 images the default is 4, which fine-tuned better on small data.',
  maskRatio: 'Share of patches hidden from the encoder, in (0, 1). He et al.: 75% works best.',
  maskStrategy: 'Random patches (the paper), contiguous blocks (BEiT) or band-pass noise (ColorMAE).',
  normPixLoss: 'Pixels normalised per patch (the paper), or plain pixels: better for flat, noisy images such as CT.',
  domainRecipe:
    "What the run learns from: the paper's MAE, or a recipe made for a kind of image (each cites its paper).",
  blurSigma:
    'Deblurring MAE: σ in pixels (at the image size above) of the ' +
    'Gaussian blur the encoder sees; the loss is on the sharp image.',
  featureTargets:
    'FG-MAE: what each masked patch is regressed as. HOG for any ' +
    'sensor; NDVI, NDWI and NDBI need bands named red, green, nir, swir.',
  bandGroups:
    'SatMAE: bands split into groups, each its own tokens, patch embedding and prediction head; ' +
    'band indices from 0 or names. Bands in no group are not seen.',
  spatialMask:
    "SatMAE: hide the same patches in every group, instead of drawing each group's mask " +
    "on its own (the reference's default, off).",
  hardPatchShare:
    'HPM: share of the masked patches picked as the hardest the loss predictor sees, reached by the end of ' +
    'training from 0 (easy to hard); the rest are random. Wang et al. use 0.5.',
  dates:
    'SatMAE temporal: images of one place (taken on different dates) per sample, each date its own tokens ' +
    'with a year/month/hour encoding. Places with fewer dates are left out.',
  sameMask:
    "SatMAE temporal: hide the same patches at every date, instead of drawing each date's mask on its own " +
    "(the reference's default, off).",
  batchSize: 'Images per forward pass. Must fit in memory; use accumulation for a larger effective batch.',
  accumSteps: 'Forward passes per optimizer step. Effective batch = batch × accumulation.',
  steps: 'Optimizer steps of the whole run (instead of epochs).',
  epochs: 'Passes over the training images.',
  warmupSteps: 'Steps of linear learning-rate warm-up; by default 5% of the run, as in the paper.',
  lrRule:
    "How the peak lr follows the batch: linear (the paper's, made for batch 4096), square root, one fixed lr, " +
    'or linear with a floor of 3e-4 (default).',
  blr: 'Base learning rate, carried to the peak lr by the rule (linear and sqrt: the lr at batch 256; paper: 1.5e-4).',
  seed: 'Seeds initialisation, data order, augmentation and masks: same seed, same run.',
  init:
    'Optional: start from published weights (official MAE .pth, Hugging Face ViTMAE or timm .safetensors) ' +
    'instead of random ones. The encoder must match patch size, width and depth.',
  valFraction:
    'Share of the images held out to measure the validation loss, when Curate has stored no split (default 10%).',
  backend: 'Where the math runs. Auto picks the fastest that works: GPU, then native CPU, then WebAssembly.',
};

const FIELD_OF = new Map<string, keyof Recipe>([
  ['imgSize', 'imgSize'],
  ['patchSize', 'patchSize'],
  ['maskRatio', 'maskRatio'],
  ['maskStrategy', 'maskStrategy'],
  ['normPixLoss', 'normPixLoss'],
  ['batchSize', 'batchSize'],
  ['accumSteps', 'accumSteps'],
  ['totalSteps', 'steps'],
  ['warmupSteps', 'warmupSteps'],
  ['blr', 'blr'],
  ['lrRule', 'lrRule'],
  ['seed', 'seed'],
  ['decoder', 'decoder'],
  ['preset', 'preset'],
  ['depth', 'depth'],
  ['decoderEmbedDim', 'decoder'],
  ['decoderNumHeads', 'decoder'],
  ['decoderDepth', 'decoder'],
  ['embedDim', 'preset'],
  ['numHeads', 'preset'],
  ['valFraction', 'valFraction'],
  ['init', 'init'],
  ['domainRecipe', 'domainRecipe'],
  ['blurSigma', 'blurSigma'],
  ['featureTargets', 'featureTargets'],
  ['bandGroups', 'bandGroups'],
  ['groupedBands', 'bandGroups'],
  ['spatialMask', 'spatialMask'],
  ['hardPatchShare', 'hardPatchShare'],
  ['lossPredictorWeight', 'domainRecipe'],
  ['dates', 'dates'],
  ['frames', 'dates'],
  ['temporal', 'dates'],
  ['baseYear', 'dates'],
  ['sameMask', 'sameMask'],
]);

/** The recipe field an engine message names (`train.maskRatio must …` → `maskRatio`). */
export function recipeErrorField(message: string): keyof Recipe | 'recipe' {
  const match = /\b(?:train|mae|pretrain)\.(\w+)/.exec(message);
  return (match && FIELD_OF.get(match[1]!)) ?? 'recipe';
}

/** What the history shows of a stored plan. */
export function recipeSummary(plan: PretrainPlan): RunRecipe {
  const { recipe } = plan;
  return {
    imgSize: recipe.model.imgSize,
    patchSize: recipe.model.patchSize,
    embedDim: recipe.model.embedDim,
    depth: recipe.model.depth,
    decoderEmbedDim: recipe.model.decoderEmbedDim,
    decoderDepth: recipe.model.decoderDepth,
    channels: recipe.model.inChans,
    ...(plan.data.channelPlan?.conversions && { channelConversions: plan.data.channelPlan.conversions }),
    ...(plan.data.excludedClasses && { excludedClasses: plan.data.excludedClasses }),
    maskRatio: recipe.maskRatio,
    maskStrategy: recipe.maskStrategy,
    normPixLoss: recipe.model.normPixLoss,
    domainRecipe: domainRecipeSummary(recipe.domainRecipe),
    batchSize: recipe.batchSize,
    accumSteps: recipe.accumSteps,
    totalSteps: recipe.totalSteps,
    stepsPerEpoch: plan.stepsPerEpoch,
    blr: recipe.blr,
    lrRule: recipe.lrRule ?? 'linear', // runs planned before lr rules
    peakLr: recipePeakLr(recipe),
    seed: recipe.seed,
    backend: plan.backend,
    trainImages: plan.data.trainImageIds.length,
    valImages: plan.data.valImageIds.length,
  };
}
