import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomMasking, type MaskSet } from './masking';
import {
  createMae,
  disposeModel,
  forwardDecoder,
  forwardEncoder,
  forwardMae,
  unshufflePrediction,
  type MaeModel,
} from './model';
import { forwardLoss } from './model-loss';
import { layerNorm, linear } from './ops';
import { patchify } from './patchify';
import { Rng } from './rng';
import { TINY_MAE, useCpuBackend } from './mae.fixtures';
import { block } from './vit';

beforeAll(useCpuBackend);

function tinyBatch(seed: number, batchSize = 2): { imgs: tf.Tensor; masks: MaskSet } {
  const rng = Rng.fromSeed(seed);
  const imgs = tf.tensor4d(
    Float32Array.from({ length: batchSize * 2 * 8 * 8 }, () => rng.normal()),
    [batchSize, 2, 8, 8],
  );
  return { imgs, masks: randomMasking({ batchSize, gridSide: 2, maskRatio: 0.5 }, rng) };
}

/** The reference decoder order: append mask tokens, unshuffle with ids_restore, add positions. */
function referenceDecoder(model: MaeModel, latent: tf.Tensor, masks: MaskSet): tf.Tensor {
  return tf.tidy(() => {
    const param = (name: string): tf.Tensor => model.params.get(name)!;
    const { batchSize, numPatches, numKeep } = masks;
    const x = linear(latent, param('decoder_embed.weight'), param('decoder_embed.bias'));
    const width = x.shape[2]!;
    const tokens = tf.concat(
      [tf.slice(x, [0, 1, 0], [-1, -1, -1]), tf.tile(param('mask_token'), [batchSize, numPatches - numKeep, 1])],
      1,
    );
    const restoreFlat = masks.restore.map((id, k) => Math.floor(k / numPatches) * numPatches + id);
    const unshuffled = tf.reshape(tf.gather(tf.reshape(tokens, [-1, width]), tf.tensor1d(restoreFlat, 'int32')), [
      batchSize,
      numPatches,
      width,
    ]);
    let y = tf.add(tf.concat([tf.slice(x, [0, 0, 0], [-1, 1, -1]), unshuffled], 1), model.decoderPosEmbed);
    y = block(y, param, 'decoder_blocks.0', model.config.decoderNumHeads);
    y = layerNorm(y, param('decoder_norm.weight'), param('decoder_norm.bias'));
    return tf.slice(linear(y, param('decoder_pred.weight'), param('decoder_pred.bias')), [0, 1, 0], [-1, -1, -1]);
  });
}

describe('MaskedAutoencoderViT', () => {
  it('produces the reference shapes', () => {
    const model = createMae(TINY_MAE, 0);
    const { imgs, masks } = tinyBatch(1);
    const patches = patchify(imgs, 4);
    const latent = forwardEncoder(model, patches, masks);
    const pred = forwardDecoder(model, latent, masks);
    expect(latent.shape).toEqual([2, 1 + 2, 8]);
    expect(pred.shape).toEqual([2, 4, 32]);
    tf.dispose([imgs, patches, latent, pred]);
    disposeModel(model);
  });

  it('equals the reference unshuffled decoder and its masked-patch loss', () => {
    const model = createMae({ ...TINY_MAE, imgSize: 16 }, 3);
    const rng = Rng.fromSeed(4);
    const imgs = tf.tensor4d(
      Float32Array.from({ length: 3 * 2 * 16 * 16 }, () => rng.normal()),
      [3, 2, 16, 16],
    );
    const masks = randomMasking({ batchSize: 3, gridSide: 4, maskRatio: 0.75 }, rng);
    const patches = patchify(imgs, 4);
    const latent = forwardEncoder(model, patches, masks);
    const ours = unshufflePrediction(forwardDecoder(model, latent, masks), masks);
    const reference = referenceDecoder(model, latent, masks);
    const [a, b] = [ours.dataSync(), reference.dataSync()];
    a.forEach((value, i) => expect(value).toBeCloseTo(b[i]!, 5));
    // reference loss: per-patch MSE against normalised targets, averaged over mask == 1
    const target = patches.arraySync() as number[][][];
    const predicted = reference.arraySync() as number[][][];
    let total = 0;
    for (let s = 0; s < 3; s++)
      for (let l = 0; l < 16; l++) {
        if (!masks.mask[s * 16 + l]) continue;
        const values = target[s]![l]!;
        const mean = values.reduce((x, y) => x + y) / values.length;
        const variance = values.reduce((x, y) => x + (y - mean) ** 2, 0) / (values.length - 1);
        total +=
          values.reduce((x, y, k) => x + (predicted[s]![l]![k]! - (y - mean) / Math.sqrt(variance + 1e-6)) ** 2, 0) /
          values.length;
      }
    const { loss } = forwardMae(model, imgs, masks);
    expect(loss.dataSync()[0]).toBeCloseTo(total / (3 * 12), 5);
    tf.dispose([imgs, patches, latent, ours, reference, loss]);
    disposeModel(model);
  });

  it('computes the hand-checked loss of a zero prediction', () => {
    // zero pred: loss = mean over masked patches of mean(target²); with normPixLoss each
    // normalised patch has mean square (n − 1)/n · var/(var + eps) for unbiased var.
    const model = createMae(TINY_MAE, 0);
    const { imgs, masks } = tinyBatch(2);
    const patches = patchify(imgs, 4);
    const zero = tf.zeros([2, 4, 32]);
    const loss = forwardLoss(model, patches, zero, masks).dataSync()[0]!;
    const values = patches.arraySync() as number[][][];
    let expected = 0;
    for (let s = 0; s < 2; s++)
      for (let l = 0; l < 4; l++)
        if (masks.mask[s * 4 + l]) {
          const v = values[s]![l]!;
          const mean = v.reduce((x, y) => x + y) / 32;
          const variance = v.reduce((x, y) => x + (y - mean) ** 2, 0) / 31;
          expected += ((31 / 32) * variance) / (variance + 1e-6);
        }
    expect(loss).toBeCloseTo(expected / 4, 6);
    model.config.normPixLoss = false;
    const raw = forwardLoss(model, patches, zero, masks).dataSync()[0]!;
    let rawExpected = 0;
    for (let s = 0; s < 2; s++)
      for (let l = 0; l < 4; l++)
        if (masks.mask[s * 4 + l]) rawExpected += values[s]![l]!.reduce((x, y) => x + y * y, 0) / 32;
    expect(raw).toBeCloseTo(rawExpected / 4, 5);
    tf.dispose([imgs, patches, zero]);
    disposeModel(model);
  });

  it('encodes visible patches only: masked pixels do not change the latent', () => {
    const model = createMae(TINY_MAE, 0);
    const { imgs, masks } = tinyBatch(3, 1);
    const patches = patchify(imgs, 4);
    const changed = tf.tidy(() => tf.add(patches, tf.mul(tf.tensor3d(Array.from(masks.mask), [1, 4, 1]), 5)));
    const [a, b] = [forwardEncoder(model, patches, masks), forwardEncoder(model, changed, masks)];
    expect(a.dataSync()).toEqual(b.dataSync());
    tf.dispose([imgs, patches, changed, a, b]);
    disposeModel(model);
  });

  it('has gradients that match finite differences', () => {
    const model = createMae(TINY_MAE, 5);
    const { imgs, masks } = tinyBatch(6);
    const variables = [...model.params.values()];
    const lossOf = (): number => tf.tidy(() => forwardMae(model, imgs, masks).loss.dataSync()[0]!);
    const { value, grads } = tf.variableGrads(() => forwardMae(model, imgs, masks).loss, variables);
    value.dispose();
    const checked = [
      'patch_embed.proj.weight',
      'cls_token',
      'blocks.0.attn.qkv.weight',
      'blocks.0.norm1.weight',
      'decoder_embed.bias',
      'mask_token',
      'decoder_blocks.0.mlp.fc1.weight',
      'decoder_pred.weight',
    ];
    const epsilon = 2e-3; // float32 loss ≈ 1 carries ~1e-7 noise: numeric error ~1e-4
    for (const name of checked) {
      const variable = model.params.get(name)!;
      const analytic = grads[variable.name]!.dataSync() as Float32Array;
      const original = variable.dataSync().slice();
      // strongest entry: best relative precision
      const index = analytic.reduce((best, g, i) => (Math.abs(g) > Math.abs(analytic[best]!) ? i : best), 0);
      const at = (delta: number): number => {
        const shifted = original.slice();
        shifted[index]! += delta;
        variable.assign(tf.tensor(shifted, variable.shape));
        return lossOf();
      };
      const numeric = (at(epsilon) - at(-epsilon)) / (2 * epsilon);
      variable.assign(tf.tensor(original, variable.shape));
      expect(
        Math.abs(numeric - analytic[index]!),
        `${name}[${index}]: numeric ${numeric} vs analytic ${analytic[index]}`,
      ).toBeLessThan(0.02 * Math.abs(analytic[index]!) + 5e-4);
    }
    tf.dispose([imgs, ...Object.values(grads)]);
    disposeModel(model);
  });

  it('gives back every tensor and byte it made once disposed', () => {
    const before = tf.memory();
    disposeModel(createMae(TINY_MAE, 0));
    expect(tf.memory()).toMatchObject({ numTensors: before.numTensors, numBytes: before.numBytes });
  });

  it('does not leak tensors across forward and backward passes', () => {
    const model = createMae(TINY_MAE, 0);
    const { imgs, masks } = tinyBatch(7);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      const { value, grads } = tf.variableGrads(() => forwardMae(model, imgs, masks).loss, [...model.params.values()]);
      tf.dispose([value, ...Object.values(grads)]);
    }
    expect(tf.memory().numTensors).toBe(before);
    imgs.dispose();
    disposeModel(model);
  });
});
