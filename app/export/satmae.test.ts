/**
 * SatMAE (grouped-band) encoders through the shared export graph: ONNX run by onnxruntime and
 * the TF.js graph model reloaded by `tf.loadGraphModel` give the studio's tokens and features
 * (each band group embedded on its own, G·L tokens) to 1e-5 on random inputs (SATMAE_PARITY_LOG=1
 * prints the differences).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as converter from '@tensorflow/tfjs-converter';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateMaeConfig } from '../mae/config';
import { useCpuBackend } from '../mae/mae.fixtures';
import { createMae, disposeModel } from '../mae/model';
import { Rng } from '../mae/rng';
import { encodeAllPatches, poolTokens } from '../train/probe-features';
import type { Pooling } from '../train/probe-model';
import { encoderToOnnx } from './onnx';
import { encoderGraphSpec } from './spec';
import { encoderToTfjs } from './tfjs';

beforeAll(useCpuBackend);

/** Five bands in three groups out of band order, one band left out: every slice of the graph is exercised. */
const CONFIG = validateMaeConfig({
  imgSize: 16,
  patchSize: 4,
  inChans: 6,
  embedDim: 16,
  depth: 2,
  numHeads: 2,
  decoderEmbedDim: 16,
  decoderDepth: 1,
  decoderNumHeads: 2,
  mlpRatio: 2,
  normPixLoss: true,
  groupedBands: { groups: [[1, 2, 3], [0], [5]], spatialMask: false },
});
const TOKENS = 1 + 3 * 16;

function randomImages(count: number, seed: number): Float32Array {
  const rng = Rng.fromSeed(seed, 9);
  return Float32Array.from({ length: count * CONFIG.inChans * CONFIG.imgSize ** 2 }, () => rng.normal());
}

/** The studio's tokens and features, and the graph spec of the same model (random weights, so every value counts). */
function reference(pooling: Pooling, pixels: Float32Array, count: number, seed: number) {
  const model = createMae(CONFIG, seed);
  const rng = Rng.fromSeed(seed, 5);
  for (const variable of model.params.values())
    variable.assign(
      tf.tensor(
        Float32Array.from({ length: variable.size }, () => 0.3 * rng.normal()),
        variable.shape,
      ),
    );
  const imgs = tf.tensor4d(pixels, [count, CONFIG.inChans, CONFIG.imgSize, CONFIG.imgSize]);
  const tokens = encodeAllPatches(model, imgs);
  const features = poolTokens(tokens, pooling);
  const result = {
    tokens: tokens.dataSync().slice(),
    features: features.dataSync().slice(),
    spec: encoderGraphSpec(model, pooling),
  };
  tf.dispose([imgs, tokens, features]);
  disposeModel(model);
  return result;
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  if (process.env.SATMAE_PARITY_LOG) console.log(`max |difference| ${worst}`);
  return worst;
}

describe('SatMAE encoder export graph', () => {
  for (const pooling of ['mean', 'cls'] as const) {
    it(`gives the ${pooling}-pooled features and all G·L tokens under onnxruntime`, async () => {
      const pixels = randomImages(3, 1);
      const expected = reference(pooling, pixels, 3, 4);
      const session = await ort.InferenceSession.create(encoderToOnnx(expected.spec));
      const out = await session.run({
        pixels: new ort.Tensor('float32', pixels, [3, CONFIG.inChans, CONFIG.imgSize, CONFIG.imgSize]),
      });
      expect(out.tokens!.dims).toEqual([3, TOKENS, CONFIG.embedDim]);
      expect(maxDifference(out.tokens!.data as Float32Array, expected.tokens)).toBeLessThan(1e-5);
      expect(maxDifference(out.features!.data as Float32Array, expected.features)).toBeLessThan(1e-5);
    });
  }

  it('reloads as a TF.js graph model with the same tokens and features', async () => {
    const pixels = randomImages(2, 2);
    const expected = reference('mean', pixels, 2, 6);
    const exported = encoderToTfjs(expected.spec);
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
    expect(tokens!.shape).toEqual([2, TOKENS, CONFIG.embedDim]);
    expect(maxDifference(tokens!.dataSync(), expected.tokens)).toBeLessThan(1e-5);
    expect(maxDifference(features!.dataSync(), expected.features)).toBeLessThan(1e-5);
    tf.dispose([input, features!, tokens!]);
    model.dispose();
  });
});
