/**
 * CA-MAE encoders as ONNX (onnxruntime) and TF.js graph models: the graph self-standardises each
 * image's channels and cuts one token per channel and patch, so its features and tokens equal the
 * studio's `encodeAllPatches` to 1e-4 (the PyTorch side is in app/train/recipes/camae-parity.test.ts).
 */
import * as converter from '@tensorflow/tfjs-converter';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateMaeConfig } from '../mae/config';
import { useCpuBackend } from '../mae/mae.fixtures';
import { createMae, disposeModel } from '../mae/model';
import { Rng } from '../mae/rng';
import { encodeAllPatches, poolTokens } from '../train/probe-features';
import type { Pooling } from '../train/probe-model';
import { CAMAE_UNMAPPED, camaeEncoderStateDict, camaeFullStateDict } from './camae';
import { encoderToOnnx } from './onnx';
import { encoderGraphSpec } from './spec';
import { encoderToTfjs } from './tfjs';

beforeAll(useCpuBackend);

/** 4 channels of 16×16, patch 4: 64 channel tokens. */
const CONFIG = validateMaeConfig({
  imgSize: 16,
  patchSize: 4,
  inChans: 4,
  embedDim: 12,
  depth: 2,
  numHeads: 3,
  decoderEmbedDim: 8,
  decoderDepth: 1,
  decoderNumHeads: 2,
  mlpRatio: 2,
  normPixLoss: true,
  channelAgnostic: true,
});
const SHAPE = [2, 4, 16, 16] as const;

/** Raw-looking images: each channel its own offset and scale (the graph must standardise them). */
function images(seed: number): Float32Array {
  const rng = Rng.fromSeed(seed, 9);
  return Float32Array.from({ length: 2 * 4 * 256 }, (_, i) => {
    const channel = Math.floor(i / 256) % 4;
    return 100 * channel + (1 + channel) * 10 * rng.normal();
  });
}

function expected(pooling: Pooling, pixels: Float32Array) {
  const model = createMae(CONFIG, 7);
  const imgs = tf.tensor4d(pixels, [...SHAPE]);
  const tokens = encodeAllPatches(model, imgs);
  const features = poolTokens(tokens, pooling);
  const result = {
    tokens: tokens.dataSync().slice(),
    features: features.dataSync().slice(),
    spec: encoderGraphSpec(model, pooling),
    encoder: camaeEncoderStateDict(model),
    full: camaeFullStateDict(model),
  };
  tf.dispose([imgs, tokens, features]);
  disposeModel(model);
  return result;
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('CA-MAE encoder graph', () => {
  for (const pooling of ['mean', 'cls'] as const) {
    it(`ONNX gives the encoder's ${pooling}-pooled features and all 1 + C·L tokens`, async () => {
      const pixels = images(1);
      const wanted = expected(pooling, pixels);
      const session = await ort.InferenceSession.create(encoderToOnnx(wanted.spec));
      const out = await session.run({ pixels: new ort.Tensor('float32', pixels, [...SHAPE]) });
      expect(out.tokens!.dims).toEqual([2, 1 + 4 * 16, 12]);
      if (process.env.PARITY_ERRORS)
        console.log(`CA-MAE ONNX ${pooling}: tokens ${maxDifference(out.tokens!.data as Float32Array, wanted.tokens)}`);
      expect(maxDifference(out.features!.data as Float32Array, wanted.features)).toBeLessThan(1e-4);
      expect(maxDifference(out.tokens!.data as Float32Array, wanted.tokens)).toBeLessThan(1e-4);
    });
  }

  it('TF.js reloads with tf.loadGraphModel and gives the same features', async () => {
    const pixels = images(2);
    const wanted = expected('mean', pixels);
    const exported = encoderToTfjs(wanted.spec);
    const json = JSON.parse(JSON.stringify(exported.modelJson)) as typeof exported.modelJson;
    const model = await converter.loadGraphModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest[0]!.weights,
        weightData: exported.weights.buffer.slice(0) as ArrayBuffer,
      }),
    );
    const input = tf.tensor4d(pixels, [...SHAPE]);
    const features = model.execute({ pixels: input }, 'features') as tf.Tensor;
    expect(maxDifference(features.dataSync(), wanted.features)).toBeLessThan(1e-4);
    tf.dispose([input, features]);
    model.dispose();
  });
});

describe('CA-MAE state dicts (Recursion names)', () => {
  it('the encoder is channel_agnostic_vit: one 1-channel projection, the table repeated per channel', () => {
    const { encoder } = expected('mean', images(3));
    expect(encoder.get('patch_embed.proj.weight')!.shape).toEqual([12, 1, 4, 4]);
    expect(encoder.get('pos_embed')!.shape).toEqual([1, 1 + 4 * 16, 12]);
    expect(encoder.get('blocks.0.attn.qkv.weight')!.shape).toEqual([36, 12]);
    expect([...encoder.keys()].some((name) => name.startsWith('decoder') || name === 'mask_token')).toBe(false);
  });

  it('the whole model names encoder and decoder modules, and lists what has no Recursion name', () => {
    const { full } = expected('mean', images(4));
    const names = [...full.keys()];
    expect(
      names.filter((name) => !name.startsWith('encoder.vit_backbone.') && !name.startsWith('decoder.')).sort(),
    ).toEqual(['decoder_embed.bias', 'decoder_embed.weight', 'decoder_pred.bias', 'decoder_pred.weight']);
    expect(full.get('decoder.modality_tokens.3')!.shape).toEqual([1, 1, 8]);
    expect(full.get('decoder.pos_embeddings')!.shape).toEqual([1, 1 + 4 * 16, 8]);
    expect(full.get('decoder_pred.weight')!.shape).toEqual([16, 8]);
    expect(CAMAE_UNMAPPED.join(' ')).toContain('decoder.modality_tokens');
  });
});
