import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMae, disposeModel } from './model';
import { linear } from './ops';
import { patchify } from './patchify';
import { TINY_MAE, useCpuBackend } from './mae.fixtures';
import { encoderStateDict } from './timm';

beforeAll(useCpuBackend);

describe('encoderStateDict', () => {
  it('exports the patch embedding as a Conv2d weight [D, C, p, p] that reproduces ours', () => {
    const model = createMae({ ...TINY_MAE, inChans: 3 }, 4);
    const state = encoderStateDict(model);
    const weight = state.get('patch_embed.proj.weight')!;
    expect(weight.shape).toEqual([8, 3, 4, 4]);
    const imgs = tf.randomNormal([2, 3, 8, 8]);
    const ours = tf.tidy(() =>
      linear(
        patchify(imgs, 4),
        model.params.get('patch_embed.proj.weight')!,
        model.params.get('patch_embed.proj.bias')!,
      ),
    ); // [B, L, D]
    const conv = tf.tidy(() => {
      const filter = tf.transpose(
        tf.tensor4d(weight.data, weight.shape as [number, number, number, number]),
        [2, 3, 1, 0],
      ); // [p, p, C, D]
      // [B, h, w, D]
      const out = tf.conv2d(tf.transpose(imgs, [0, 2, 3, 1]) as tf.Tensor4D, filter as tf.Tensor4D, 4, 'valid');
      return tf.add(tf.reshape(out, [2, 4, 8]), model.params.get('patch_embed.proj.bias')!);
    });
    const [a, b] = [ours.dataSync(), conv.dataSync()];
    a.forEach((value, i) => expect(value).toBeCloseTo(b[i]!, 4));
    tf.dispose([imgs, ours, conv]);
    disposeModel(model);
  });

  it('uses timm names and shapes, without decoder keys', () => {
    const model = createMae(TINY_MAE, 0);
    const state = encoderStateDict(model);
    expect(state.get('blocks.0.attn.qkv.weight')!.shape).toEqual([24, 8]);
    expect(state.get('blocks.0.mlp.fc1.weight')!.shape).toEqual([16, 8]);
    expect(state.get('pos_embed')!.shape).toEqual([1, 5, 8]);
    expect(state.get('cls_token')!.shape).toEqual([1, 1, 8]);
    expect([...state.keys()].some((name) => name.startsWith('decoder') || name === 'mask_token')).toBe(false);
    disposeModel(model);
  });
});
