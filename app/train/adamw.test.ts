import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from '../mae/mae.fixtures';
import { AdamW, paramGroups } from './adamw';

beforeAll(useCpuBackend);

describe('AdamW', () => {
  it('splits parameters into decay and no-decay groups by name', () => {
    const { decay, noDecay } = paramGroups([
      'blocks.0.attn.qkv.weight',
      'blocks.0.attn.qkv.bias',
      'blocks.0.norm1.weight',
      'cls_token',
      'mask_token',
      'decoder_pred.weight',
    ]);
    expect(decay).toEqual(['blocks.0.attn.qkv.weight', 'decoder_pred.weight']);
    expect(noDecay).toEqual(['blocks.0.attn.qkv.bias', 'blocks.0.norm1.weight', 'cls_token', 'mask_token']);
  });

  it('matches torch.optim.AdamW for two steps, decaying only the weight', () => {
    const params = new Map([
      ['fc.weight', tf.variable(tf.tensor1d([1, -2]))],
      ['fc.bias', tf.variable(tf.tensor1d([0.5]))],
    ]);
    const options = { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.05 };
    const optimizer = new AdamW(params, options);
    const gradients = [
      [0.1, -0.3, 0.2],
      [0.05, 0.4, -0.1],
    ];
    const lr = 0.01;
    // scalar reference of torch's AdamW update
    const state = [1, -2, 0.5].map((p) => ({ p, m: 0, v: 0 }));
    gradients.forEach((g, stepIndex) => {
      const t = stepIndex + 1;
      state.forEach((s, i) => {
        if (i < 2) s.p *= 1 - lr * 0.05;
        s.m = 0.9 * s.m + 0.1 * g[i]!;
        s.v = 0.95 * s.v + 0.05 * g[i]! ** 2;
        s.p -= ((lr / (1 - 0.9 ** t)) * s.m) / (Math.sqrt(s.v) / Math.sqrt(1 - 0.95 ** t) + 1e-8);
      });
      const grads = new Map([
        ['fc.weight', tf.tensor1d(g.slice(0, 2))],
        ['fc.bias', tf.tensor1d(g.slice(2))],
      ]);
      optimizer.step(grads, lr);
      tf.dispose([...grads.values()]);
    });
    const got = [...params.get('fc.weight')!.dataSync(), ...params.get('fc.bias')!.dataSync()];
    got.forEach((value, i) => expect(value).toBeCloseTo(state[i]!.p, 6));
    optimizer.dispose();
    tf.dispose([...params.values()]);
  });
});
