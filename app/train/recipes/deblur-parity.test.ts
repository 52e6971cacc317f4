/**
 * Deblurring MAE against the PyTorch step of the torchrun hand-off job (mae_model.py: the encoder
 * sees the image blurred by `gaussian_blur`, scipy's reflect edges; the decoder regresses the sharp
 * image's masked patches with the models_mae.py norm-pix loss): same weights, images and mask give
 * the same loss and patch-embedding gradient to 1e-4.
 */
import * as tf from '@tensorflow/tfjs-core';
import { runTorch } from '../../mae/torch-python.fixtures';
import { beforeAll, describe, expect, it } from 'vitest';
import { scriptModel } from '../../handoff/handoff';
import { validateMaeConfig } from '../../mae/config';
import { TINY_MAE, useCpuBackend } from '../../mae/mae.fixtures';
import { createMae, disposeModel, forwardMae } from '../../mae/model';
import { disposeRecipeTensors, recipeBatch, recipeTensors } from './domain-recipes';
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

describe.skipIf(!runTorch)('Deblurring MAE matches its PyTorch reference', () => {
  it('loss and patch-embedding gradient to 1e-4 (σ 1.3 px, reflect edges)', () => {
    const config = validateMaeConfig({
      imgSize: 16,
      patchSize: 4,
      inChans: 1,
      embedDim: 16,
      depth: 2,
      numHeads: 2,
      decoderEmbedDim: 8,
      decoderDepth: 1,
      decoderNumHeads: 2,
      mlpRatio: 4,
      normPixLoss: true,
    });
    const model = createMae(config, 1);
    randomiseParams(model, 2);
    const shape = { batchSize: 2, channels: 1, height: 16, width: 16 };
    const pixels = randomImages([2, 1, 16, 16], 3);
    const { input, targets } = recipeTensors(
      recipeBatch({ name: 'deblur', blurSigma: 1.3 }, pixels, shape, 4),
      shape,
      4,
    );
    const { ids, masks } = randomShuffle(2, 16, 4, 4);
    const ours = lossAndPatchGradient(model, () => tf.tidy(() => forwardMae(model, input, masks, targets).loss));
    const theirs = runReference(
      {
        recipe: 'deblur',
        config: scriptModel(config),
        blurSigma: 1.3,
        imgs: Array.from(pixels),
        shape: [2, 1, 16, 16],
        idsShuffle: ids,
        keep: 4,
      },
      { 'weights.safetensors': officialState(model) },
    );
    const lossError = Math.abs(ours.loss - theirs.loss) / theirs.loss;
    const gradError = scaledError(transposed(ours.grad, 16, 16), theirs.grad);
    if (process.env.PARITY_ERRORS) console.log(`Deblur: loss ${lossError}, gradient ${gradError}`);
    expect(lossError).toBeLessThan(1e-4);
    expect(gradError).toBeLessThan(1e-4);
    disposeRecipeTensors(targets);
    input.dispose();
    disposeModel(model);
  }, 30_000);

  it('exports a vanilla ViT encoder: timm names, loaded strictly, the same features', () => {
    // The blur is the input's, not the model's: the encoder is the plain MAE's.
    const model = createMae(validateMaeConfig({ ...TINY_MAE, imgSize: 16, inChans: 1 }), 5);
    randomiseParams(model, 6);
    const pixels = randomImages([2, 1, 16, 16], 7);
    const { ours, theirs, names } = encoderExportFeatures(model, pixels, [2, 1, 16, 16]);
    expect(names).toContain('patch_embed.proj.weight');
    expect(names.some((name) => name.startsWith('decoder') || name === 'mask_token')).toBe(false);
    expect(scaledError(ours, theirs)).toBeLessThan(1e-4);
    disposeModel(model);
  }, 30_000);
});
