import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAE_PRESETS } from './config';
import { countParams, initParams, paramSpecs, usesWeightDecay } from './params';
import { TINY_MAE, useCpuBackend } from './mae.fixtures';

beforeAll(useCpuBackend);

describe('MAE parameters', () => {
  it('initialises deterministically per seed', () => {
    const [a, b, c] = [initParams(TINY_MAE, 1), initParams(TINY_MAE, 1), initParams(TINY_MAE, 2)];
    expect(a.get('blocks.0.attn.qkv.weight')!.dataSync()).toEqual(b.get('blocks.0.attn.qkv.weight')!.dataSync());
    expect(a.get('blocks.0.attn.qkv.weight')!.dataSync()).not.toEqual(c.get('blocks.0.attn.qkv.weight')!.dataSync());
    for (const params of [a, b, c]) tf.dispose([...params.values()]);
  });

  it('follows the reference init: xavier linears, zero biases, unit norms, normal(0.02) tokens', () => {
    const config = { ...TINY_MAE, embedDim: 64, decoderEmbedDim: 64, numHeads: 4, decoderNumHeads: 4 };
    const params = initParams(config, 0);
    const values = (name: string): Float32Array => params.get(name)!.dataSync() as Float32Array;
    const bound = Math.sqrt(6 / (64 + 192));
    const qkv = values('blocks.0.attn.qkv.weight');
    expect(Math.max(...qkv.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...qkv.map(Math.abs))).toBeGreaterThan(0.9 * bound);
    expect(values('blocks.0.attn.qkv.bias').every((v) => v === 0)).toBe(true);
    expect(values('norm.weight').every((v) => v === 1)).toBe(true);
    const cls = values('cls_token');
    const std = Math.sqrt(cls.reduce((a, v) => a + v * v, 0) / cls.length);
    expect(std).toBeGreaterThan(0.01);
    expect(std).toBeLessThan(0.03);
    tf.dispose([...params.values()]);
  });

  it('stores the patch embedding as [C·p·p, D] (a Conv2d weight transposed)', () => {
    const spec = paramSpecs(TINY_MAE).find((s) => s.name === 'patch_embed.proj.weight');
    expect(spec?.shape).toEqual([2 * 4 * 4, 8]);
  });

  it('decays matrices only: not biases, norms, tokens or position embeddings', () => {
    expect(usesWeightDecay('blocks.0.attn.qkv.weight')).toBe(true);
    expect(usesWeightDecay('patch_embed.proj.weight')).toBe(true);
    expect(usesWeightDecay('decoder_pred.weight')).toBe(true);
    for (const name of [
      'blocks.0.attn.qkv.bias',
      'blocks.3.norm1.weight',
      'decoder_blocks.0.norm2.weight',
      'norm.weight',
      'decoder_norm.weight',
      'cls_token',
      'mask_token',
      'pos_embed',
      'decoder_pos_embed',
    ]) {
      expect(usesWeightDecay(name), name).toBe(false);
    }
  });

  it('counts ViT-Tiny/16 encoder + 512×8 decoder like the PyTorch reference', () => {
    // encoder 5.52M (timm vit_tiny_patch16_224 without head and pos_embed) + decoder 25.3M
    expect(countParams(MAE_PRESETS.maeVitTinyPatch16Dec512d8b())).toBeGreaterThan(30_000_000);
  });
});
