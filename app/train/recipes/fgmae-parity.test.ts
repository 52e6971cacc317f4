/**
 * FG-MAE against a PyTorch re-implementation (recipes_reference.py: HOG and normalised-difference
 * indices computed in torch as targets of extra decoder heads, norm-pix per target as FGMAE's
 * forward_loss, losses summed): same weights (models_mae.py names plus decoder_pred_<head>, loaded
 * strict), images and mask give the same loss and patch-embedding gradient to 1e-4.
 */
import * as tf from '@tensorflow/tfjs-core';
import { runTorch } from '../../mae/torch-python.fixtures';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FeatureTarget } from '../../contract';
import { scriptModel } from '../../handoff/handoff';
import { validateMaeConfig } from '../../mae/config';
import { TINY_MAE, useCpuBackend } from '../../mae/mae.fixtures';
import { timmStateDict } from '../../export/timm';
import { createMae, disposeModel, forwardMae } from '../../mae/model';
import {
  disposeRecipeTensors,
  recipeBatch,
  recipeHeads,
  recipeTensors,
  type DomainRecipeConfig,
} from './domain-recipes';
import { findBands } from './indices';
import {
  encoderExportFeatures,
  lossAndPatchGradient,
  officialState,
  randomImages,
  randomiseParams,
  randomShuffle,
  runReference,
  scaledError,
  transposed,
} from './parity.fixtures';

beforeAll(useCpuBackend);

const BANDS = ['red', 'green', 'B8 (NIR)', 'SWIR16'];

function fgmae(targets: FeatureTarget[], channels: number): DomainRecipeConfig {
  return {
    name: 'fgmae',
    targets,
    bands: findBands(BANDS.slice(0, channels)),
    unscale: { scale: [0.1, 0.15, 0.2, 0.1].slice(0, channels), shift: [0.3, 0.35, 0.5, 0.4].slice(0, channels) },
  };
}

describe.skipIf(!runTorch)('FG-MAE matches its PyTorch reference', () => {
  for (const [targets, channels] of [
    [['pixels', 'hog'], 2],
    [['hog', 'ndvi', 'ndwi', 'ndbi'], 4],
  ] as [FeatureTarget[], number][]) {
    it(`loss and patch-embedding gradient to 1e-4, targets ${targets.join(' + ')}`, () => {
      const base = validateMaeConfig({
        imgSize: 16,
        patchSize: 4,
        inChans: channels,
        embedDim: 16,
        depth: 1,
        numHeads: 2,
        decoderEmbedDim: 8,
        decoderDepth: 1,
        decoderNumHeads: 2,
        mlpRatio: 4,
        normPixLoss: true,
      });
      const recipe = fgmae(targets, channels);
      const config = validateMaeConfig({ ...base, ...recipeHeads(recipe, base) });
      const model = createMae(config, 1);
      randomiseParams(model, 2);
      const shape = { batchSize: 2, channels, height: 16, width: 16 };
      const pixels = randomImages([2, channels, 16, 16], 3);
      const batch = recipeBatch(recipe, pixels, shape, 4);
      const { input, targets: tensors } = recipeTensors(batch, shape, 4);
      const { ids, masks } = randomShuffle(2, 16, 4, 4);
      const ours = lossAndPatchGradient(model, () => tf.tidy(() => forwardMae(model, input, masks, tensors).loss));
      const theirs = runReference(
        {
          recipe: 'fgmae',
          config: { ...scriptModel(config), pixel_head: config.pixelHead !== false },
          heads: Object.fromEntries((config.featureHeads ?? []).map((head) => [head.name, head.width])),
          indices: targets.filter((target) => target !== 'pixels' && target !== 'hog'),
          bands: recipe.name === 'fgmae' ? recipe.bands : {},
          unscale: recipe.name === 'fgmae' ? recipe.unscale : {},
          imgs: Array.from(pixels),
          shape: [2, channels, 16, 16],
          idsShuffle: ids,
          keep: 4,
        },
        { 'weights.safetensors': officialState(model) },
      );
      const lossError = Math.abs(ours.loss - theirs.loss) / theirs.loss;
      const gradError = scaledError(transposed(ours.grad, channels * 16, 16), theirs.grad);
      if (process.env.PARITY_ERRORS)
        console.log(`FG-MAE ${targets.join('+')}: loss ${lossError}, gradient ${gradError}`);
      expect(lossError).toBeLessThan(1e-4);
      expect(gradError).toBeLessThan(1e-4);
      disposeRecipeTensors(tensors);
      input.dispose();
      disposeModel(model);
    }, 30_000);
  }

  it("exports a vanilla ViT encoder: the plain MAE's timm names, loaded strictly, the same features", () => {
    const base = validateMaeConfig({ ...TINY_MAE, imgSize: 16, inChans: 4 });
    const recipe = fgmae(['hog', 'ndvi'], 4);
    const model = createMae(validateMaeConfig({ ...base, ...recipeHeads(recipe, base) }), 5);
    const plain = createMae(base, 5);
    randomiseParams(model, 6);
    const pixels = randomImages([2, 4, 16, 16], 7);
    const { ours, theirs, names } = encoderExportFeatures(model, pixels, [2, 4, 16, 16]);
    expect(names).toEqual([...timmStateDict(plain, null).keys()]);
    expect(scaledError(ours, theirs)).toBeLessThan(1e-4);
    disposeModel(model);
    disposeModel(plain);
  }, 30_000);
});
