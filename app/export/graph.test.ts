/**
 * The exported graphs compute what the studio's encoder computes: ONNX run by onnxruntime and
 * the TF.js graph model reloaded by `tf.loadGraphModel` both match `forwardEncoder` (all
 * patches visible) to 1e-4 on random inputs, for the encoder and for a classifier head.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as converter from '@tensorflow/tfjs-converter';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateMaeConfig } from '../mae/config';
import { createMae, disposeModel } from '../mae/model';
import { Rng } from '../mae/rng';
import { TINY_MAE, useCpuBackend } from '../mae/mae.fixtures';
import { encodeAllPatches, poolTokens } from '../train/probe-features';
import type { Pooling } from '../train/probe-model';
import { encoderToOnnx } from './onnx';
import { encoderGraphSpec } from './spec';
import { encoderToTfjs } from './tfjs';

beforeAll(useCpuBackend);

/** Two blocks, three channels, non-square heads: every reshape in the graph is exercised. */
const CONFIG = validateMaeConfig({
  ...TINY_MAE,
  imgSize: 16,
  patchSize: 4,
  inChans: 3,
  embedDim: 12,
  depth: 2,
  numHeads: 3,
});

function randomImages(count: number, seed: number): Float32Array {
  const rng = Rng.fromSeed(seed, 9);
  return Float32Array.from({ length: count * CONFIG.inChans * CONFIG.imgSize ** 2 }, () => rng.normal());
}

function reference(
  pooling: Pooling,
  pixels: Float32Array,
  count: number,
  seed: number,
  head?: { weight: tf.Tensor2D; bias: tf.Tensor1D },
) {
  const model = createMae(CONFIG, seed);
  const imgs = tf.tensor4d(pixels, [count, CONFIG.inChans, CONFIG.imgSize, CONFIG.imgSize]);
  const tokens = encodeAllPatches(model, imgs);
  const features = poolTokens(tokens, pooling);
  const logits = head ? tf.add(tf.matMul(features, head.weight), head.bias) : null;
  const spec = encoderGraphSpec(model, pooling, head ? { ...head, classes: ['a', 'b'] } : null);
  const result = {
    tokens: tokens.dataSync().slice(),
    features: features.dataSync().slice(),
    logits: logits?.dataSync().slice() ?? null,
    spec,
  };
  tf.dispose([imgs, tokens, features, ...(logits ? [logits] : [])]);
  disposeModel(model);
  return result;
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('ONNX export', () => {
  for (const pooling of ['mean', 'cls'] as const) {
    it(`gives the encoder's ${pooling}-pooled features and tokens under onnxruntime`, async () => {
      const pixels = randomImages(3, 1);
      const expected = reference(pooling, pixels, 3, 5);
      const session = await ort.InferenceSession.create(encoderToOnnx(expected.spec));
      const out = await session.run({
        pixels: new ort.Tensor('float32', pixels, [3, CONFIG.inChans, CONFIG.imgSize, CONFIG.imgSize]),
      });
      expect(out.features!.dims).toEqual([3, CONFIG.embedDim]);
      expect(out.tokens!.dims).toEqual([3, 1 + 16, CONFIG.embedDim]);
      expect(maxDifference(out.features!.data as Float32Array, expected.features)).toBeLessThan(1e-4);
      expect(maxDifference(out.tokens!.data as Float32Array, expected.tokens)).toBeLessThan(1e-4);
    });
  }

  it('adds the logits of a classifier head, for any batch size', async () => {
    const rng = Rng.fromSeed(3, 1);
    const head = {
      weight: tf.tensor2d(
        Float32Array.from({ length: CONFIG.embedDim * 2 }, () => rng.normal()),
        [CONFIG.embedDim, 2],
      ),
      bias: tf.tensor1d([0.5, -0.5]),
    };
    for (const count of [1, 4]) {
      const pixels = randomImages(count, count);
      const expected = reference('mean', pixels, count, 2, head);
      const session = await ort.InferenceSession.create(encoderToOnnx(expected.spec));
      const out = await session.run({
        pixels: new ort.Tensor('float32', pixels, [count, CONFIG.inChans, CONFIG.imgSize, CONFIG.imgSize]),
      });
      expect(out.logits!.dims).toEqual([count, 2]);
      expect(maxDifference(out.logits!.data as Float32Array, expected.logits!)).toBeLessThan(1e-4);
    }
    tf.dispose([head.weight, head.bias]);
  });
});

describe('TF.js export', () => {
  it('reloads with tf.loadGraphModel and gives the same features and tokens', async () => {
    const pixels = randomImages(2, 4);
    const expected = reference('mean', pixels, 2, 6);
    const exported = encoderToTfjs(expected.spec);
    // as read back from model.json
    const json = JSON.parse(JSON.stringify(exported.modelJson)) as typeof exported.modelJson;
    const model = await converter.loadGraphModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest[0]!.weights,
        weightData: exported.weights.buffer.slice(0) as ArrayBuffer,
      }),
    );
    const input = tf.tensor4d(pixels, [2, CONFIG.inChans, CONFIG.imgSize, CONFIG.imgSize]);
    const [features, tokens] = model.execute({ pixels: input }, ['features', 'tokens']) as tf.Tensor[];
    expect(features!.shape).toEqual([2, CONFIG.embedDim]);
    expect(maxDifference(features!.dataSync(), expected.features)).toBeLessThan(1e-4);
    expect(maxDifference(tokens!.dataSync(), expected.tokens)).toBeLessThan(1e-4);
    tf.dispose([input, features!, tokens!]);
    model.dispose();
  });
});
