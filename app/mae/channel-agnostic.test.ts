import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  channelAgnosticMasks,
  channelPatchify,
  channelUnpatchify,
  fourierLoss,
  selfStandardise,
  tokensToPatches,
} from './channel-agnostic';
import { tokenCount, validateMaeConfig } from './config';
import { TINY_MAE, useCpuBackend } from './mae.fixtures';
import { createMae, disposeModel, embedAllPatches, forwardMae } from './model';
import { paramSpecs } from './params';
import { patchify } from './patchify';
import { Rng } from './rng';
import { block } from './vit';
import { layerNorm } from './ops';

beforeAll(useCpuBackend);

/** 8×8 images, 4×4 patches (L = 4), 5 channels: 20 channel tokens. */
const TINY_CAMAE = validateMaeConfig({ ...TINY_MAE, inChans: 5, channelAgnostic: true, fourierLossWeight: 0.01 });

function randomImages(seed: number, shape: [number, number, number, number], scale = 1, shift = 0): tf.Tensor4D {
  const rng = Rng.fromSeed(seed);
  return tf.tensor4d(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => shift + scale * rng.normal()),
    shape,
  );
}

/** Mean-pooled encoder features of every token, as a probe sees them: [B, D]. */
function pooledFeatures(model: ReturnType<typeof createMae>, imgs: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const param = (name: string) => model.params.get(name)!;
    let x = embedAllPatches(model, imgs);
    for (let i = 0; i < model.config.depth; i++) x = block(x, param, `blocks.${i}`, model.config.numHeads);
    x = layerNorm(x, param('norm.weight'), param('norm.bias'));
    return tf.mean(tf.slice(x, [0, 1, 0], [-1, -1, -1]), 1);
  });
}

/** |DFT₂| of one H×W plane, written as the definition: Σ v·e^(−2πi(uy/H + vx/W)). */
function dftMagnitude(plane: number[], height: number, width: number): number[] {
  const out: number[] = [];
  for (let u = 0; u < height; u++) {
    for (let v = 0; v < width; v++) {
      let real = 0;
      let imaginary = 0;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const angle = -2 * Math.PI * ((u * y) / height + (v * x) / width);
          real += plane[y * width + x]! * Math.cos(angle);
          imaginary += plane[y * width + x]! * Math.sin(angle);
        }
      }
      out.push(Math.hypot(real, imaginary));
    }
  }
  return out;
}

describe('channel-agnostic tokens (CA-MAE)', () => {
  it('tokenise every channel on its own: C × L tokens of p·p values, channel-major, and back', () => {
    const imgs = randomImages(1, [2, 5, 8, 8]);
    const tokens = channelPatchify(imgs, 4);
    expect(tokens.shape).toEqual([2, 5 * 4, 16]);
    expect(tokenCount(TINY_CAMAE)).toBe(20);
    const values = imgs.arraySync();
    const rows = tokens.arraySync() as number[][][];
    // Token c·L + l of sample 1 is channel c's patch l: channel 3, patch 2 (grid row 1, column 0), pixel (1, 2).
    expect(rows[1]![3 * 4 + 2]![1 * 4 + 2]).toBe(values[1]![3]![4 + 1]![0 + 2]);
    expect(channelUnpatchify(tokens, 4, 5).arraySync()).toEqual(values);
    // The same values as the standard patches, regrouped: [B, L, C·p·p].
    expect(tokensToPatches(tokens, 5).arraySync()).toEqual(patchify(imgs, 4).arraySync());
    tf.dispose([imgs, tokens]);
  });

  it('self-standardise each image and channel: (x − mean) / √(biased variance + 1e-5)', () => {
    const imgs = randomImages(2, [2, 3, 4, 4], 7, 100);
    const values = Array.from(imgs.dataSync());
    const standardised = selfStandardise(imgs).dataSync();
    for (let plane = 0; plane < 6; plane++) {
      const slice = values.slice(plane * 16, plane * 16 + 16);
      const average = slice.reduce((a, b) => a + b, 0) / 16;
      const variance = slice.reduce((sum, value) => sum + (value - average) ** 2, 0) / 16;
      slice.forEach((value, i) =>
        expect(standardised[plane * 16 + i]).toBeCloseTo((value - average) / Math.sqrt(variance + 1e-5), 4),
      );
    }
    imgs.dispose();
  });

  it('Fourier loss: mean L1 between |DFT₂| of prediction and target, by definition, with a finite gradient', () => {
    const pred = randomImages(3, [2, 2, 8, 6]);
    const target = randomImages(4, [2, 2, 8, 6]);
    const [p, t] = [Array.from(pred.dataSync()), Array.from(target.dataSync())];
    let sum = 0;
    for (let plane = 0; plane < 4; plane++) {
      const a = dftMagnitude(p.slice(plane * 48, plane * 48 + 48), 8, 6);
      const b = dftMagnitude(t.slice(plane * 48, plane * 48 + 48), 8, 6);
      sum += a.reduce((total, value, i) => total + Math.abs(value - b[i]!), 0);
    }
    const loss = fourierLoss(pred, target);
    expect(loss.dataSync()[0]).toBeCloseTo(sum / (4 * 48), 3);
    const gradient = tf.grad((x: tf.Tensor) => fourierLoss(x, target))(pred);
    expect(Array.from(gradient.dataSync()).every(Number.isFinite)).toBe(true);
    // Identical images: zero (up to the √eps that keeps the gradient finite at zero magnitude).
    expect(fourierLoss(target, target).dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([pred, target, loss, gradient]);
  });

  it('masks C·L tokens: random over all of them, block and noise per channel; every image keeps the same count', () => {
    const random = channelAgnosticMasks('random', { batchSize: 3, gridSide: 4, maskRatio: 0.75 }, 5, Rng.fromSeed(5));
    expect(random.numPatches).toBe(80);
    expect(random.numKeep).toBe(20);
    for (let b = 0; b < 3; b++) expect(random.mask.subarray(b * 80, (b + 1) * 80).reduce((a, v) => a + v, 0)).toBe(60);
    const block = channelAgnosticMasks('block', { batchSize: 2, gridSide: 4, maskRatio: 0.75 }, 5, Rng.fromSeed(6));
    expect(block.numKeep).toBe(20);
    for (let token = 0; token < 2 * 5; token++)
      expect(block.mask.subarray(token * 16, (token + 1) * 16).reduce((a, v) => a + v, 0)).toBe(12);
    // Channels are masked apart: not every channel hides the same patches.
    const channelMasks = Array.from({ length: 5 }, (_, c) =>
      Array.from(block.mask.subarray(c * 16, (c + 1) * 16)).join(''),
    );
    expect(new Set(channelMasks).size).toBeGreaterThan(1);
  });

  it('shares one p·p patch embedding across channels and adds a channel embedding in the decoder only', () => {
    const specs = new Map(paramSpecs(TINY_CAMAE).map((spec) => [spec.name, spec.shape]));
    expect(specs.get('patch_embed.proj.weight')).toEqual([16, 8]);
    expect(specs.get('decoder_pred.weight')).toEqual([8, 16]);
    expect(specs.get('decoder_channel_embed')).toEqual([5, 8]);
    expect(new Map(paramSpecs(TINY_MAE).map((spec) => [spec.name, spec.shape])).has('decoder_channel_embed')).toBe(
      false,
    );
  });

  it('trains at C = 5 and embeds 3- and 6-channel images; its features ignore the order of the channels', () => {
    const model = createMae(TINY_CAMAE, 7);
    const imgs = randomImages(8, [2, 5, 8, 8]);
    const masks = channelAgnosticMasks('random', { batchSize: 2, gridSide: 2, maskRatio: 0.75 }, 5, Rng.fromSeed(9));
    const { loss, pred } = forwardMae(model, imgs, masks);
    expect(pred!.shape).toEqual([2, 20, 16]);
    expect(Number.isFinite(loss.dataSync()[0])).toBe(true);
    for (const channels of [3, 6]) {
      const other = randomImages(10 + channels, [2, channels, 8, 8]);
      expect(embedAllPatches(model, other).shape).toEqual([2, 1 + channels * 4, 8]);
      expect(pooledFeatures(model, other).shape).toEqual([2, 8]);
      other.dispose();
    }
    // No channel identity in the encoder: the mean-pooled features of an image with its channels reversed are the same.
    const reversed = tf.reverse(imgs, 1);
    const a = pooledFeatures(model, imgs).dataSync();
    const b = pooledFeatures(model, reversed).dataSync();
    a.forEach((value, i) => expect(b[i]).toBeCloseTo(value, 4));
    // Self-standardised inside the model: the loss does not change when a channel is rescaled and shifted.
    const rescaled = tf.add(tf.mul(imgs, tf.tensor4d([1, 30, 1, 0.01, 1], [1, 5, 1, 1])), 1000);
    expect(forwardMae(model, rescaled, masks).loss.dataSync()[0]).toBeCloseTo(loss.dataSync()[0]!, 3);
    expect(() =>
      forwardMae(
        model,
        imgs,
        channelAgnosticMasks('random', { batchSize: 2, gridSide: 2, maskRatio: 0.75 }, 4, Rng.fromSeed(1)),
      ),
    ).toThrow('masks are for 2×16 patches, images give 2×20');
    tf.dispose([imgs, loss, pred!, reversed, rescaled]);
    disposeModel(model);
  });

  it('refuses configs it cannot honour, naming the field', () => {
    expect(() => validateMaeConfig({ ...TINY_MAE, fourierLossWeight: 0.01 })).toThrow(
      'mae.fourierLossWeight needs mae.channelAgnostic',
    );
    expect(() => validateMaeConfig({ ...TINY_CAMAE, fourierLossWeight: 2 })).toThrow(
      'mae.fourierLossWeight must be between 0 and 1, got 2',
    );
    expect(() => validateMaeConfig({ ...TINY_CAMAE, featureHeads: [{ name: 'hog', width: 9 }] })).toThrow(
      'mae.channelAgnostic: channel-agnostic tokens predict pixels only',
    );
  });
});
