/**
 * CA-MAE against its PyTorch re-implementation under Recursion's names (app/mae/camae_reference.py):
 * the whole-model export loads into it with strict=True and gives our loss and our patch-embedding
 * gradient on the same weights, images and mask; the encoder export loads strictly into their
 * channel-agnostic ViT and gives our features, also for fewer channels than it was trained on.
 */
import * as tf from '@tensorflow/tfjs-core';
import { runTorch } from '../../mae/torch-python.fixtures';
import { beforeAll, describe, expect, it } from 'vitest';
import { camaeEncoderStateDict, camaeFullStateDict } from '../../export/camae';
import { scriptModel } from '../../handoff/handoff';
import { validateMaeConfig, type MaeConfig } from '../../mae/config';
import { useCpuBackend } from '../../mae/mae.fixtures';
import { createMae, disposeModel, forwardMae } from '../../mae/model';
import { encodeAllPatches } from '../probe-features';
import {
  lossAndPatchGradient,
  randomImages,
  randomiseParams,
  randomShuffle,
  runReference,
  scaledError,
  transposed,
} from './parity.fixtures';

beforeAll(useCpuBackend);

/** 3 channels of 16×16, patch 4: 48 channel tokens, 12 kept. */
function config(fourierLossWeight: number): MaeConfig {
  return validateMaeConfig({
    imgSize: 16,
    patchSize: 4,
    inChans: 3,
    embedDim: 16,
    depth: 2,
    numHeads: 2,
    decoderEmbedDim: 8,
    decoderDepth: 1,
    decoderNumHeads: 2,
    mlpRatio: 4,
    normPixLoss: true,
    channelAgnostic: true,
    ...(fourierLossWeight > 0 && { fourierLossWeight }),
  });
}

/** Images whose channels have their own offset and scale (self-standardisation has work to do). */
function stainedImages(): Float32Array {
  const images = randomImages([2, 3, 16, 16], 3);
  return images.map((value, i) => {
    const channel = Math.floor(i / 256) % 3;
    return 20 * channel + (1 + 2 * channel) * value;
  });
}

describe.skipIf(!runTorch)('CA-MAE matches its PyTorch reference (Recursion names)', () => {
  // 0.01 is the paper's weight; 1 makes an error in the Fourier term visible at 1e-4.
  for (const fourier of [0, 0.01, 1]) {
    it(`loss and patch-embedding gradient to 1e-4, Fourier weight ${fourier}`, () => {
      const model = createMae(config(fourier), 1);
      randomiseParams(model, 2);
      const pixels = stainedImages();
      const imgs = tf.tensor4d(pixels, [2, 3, 16, 16]);
      const { ids, masks } = randomShuffle(2, 48, 12, 4);
      const ours = lossAndPatchGradient(model, () => tf.tidy(() => forwardMae(model, imgs, masks).loss));
      const theirs = runReference(
        {
          recipe: 'camae',
          config: { ...scriptModel(model.config), fourier },
          imgs: Array.from(pixels),
          shape: [2, 3, 16, 16],
          idsShuffle: ids,
          keep: 12,
        },
        { 'weights.safetensors': camaeFullStateDict(model), 'encoder.safetensors': camaeEncoderStateDict(model) },
      );
      const lossError = Math.abs(ours.loss - theirs.loss) / theirs.loss;
      const gradError = scaledError(transposed(ours.grad, 16, 16), theirs.grad);
      if (process.env.PARITY_ERRORS) console.log(`CA-MAE fourier ${fourier}: loss ${lossError}, gradient ${gradError}`);
      expect(lossError).toBeLessThan(1e-4);
      expect(gradError).toBeLessThan(1e-4);
      // The exported table is ours (models_mae.py halves); a fresh reference model generates Recursion's.
      expect(theirs.posEmbedIsStudioTable).toBe(true);
      expect(theirs.generatedIsRecursionTable).toBe(true);

      if (fourier === 0.01) {
        const tokens = encodeAllPatches(model, imgs); // [2, 1 + 48, 16]
        const fewer = tf.tidy(() => encodeAllPatches(model, tf.slice(imgs, [0, 0, 0, 0], [-1, 1, -1, -1])));
        const errors = [
          scaledError(tokens.dataSync(), theirs.features as number[]),
          scaledError(tokens.dataSync(), theirs.encoderFeatures as number[]),
          scaledError(fewer.dataSync(), theirs.fewerChannelFeatures as number[]),
        ];
        if (process.env.PARITY_ERRORS) console.log('CA-MAE features (whole, encoder file, 1 channel):', errors);
        for (const error of errors) expect(error).toBeLessThan(1e-4);
        tf.dispose([tokens, fewer]);
      }
      imgs.dispose();
      disposeModel(model);
    }, 30_000);
  }
});
