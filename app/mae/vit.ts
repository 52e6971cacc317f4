/**
 * The pre-norm ViT block of timm's `VisionTransformer` (used by MAE for the encoder and the
 * decoder): x + Attn(LN(x)), then x + MLP(LN(x)); qkv with bias, exact GELU, no dropout.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gelu, layerNorm, linear, softmax, splitHeads, type ParamLookup } from './ops';

/** Multi-head self-attention over all tokens; `prefix` is e.g. `blocks.0.attn`. */
export function attention(x: tf.Tensor, param: ParamLookup, prefix: string, numHeads: number): tf.Tensor {
  const [batchSize, tokens, width] = x.shape as [number, number, number];
  if (width % numHeads !== 0) throw new Error(`attention: width ${width} not divisible by ${numHeads} heads`);
  const headDim = width / numHeads;
  // [B, N, 3*D], columns (3, heads, headDim) as timm
  const qkv = linear(x, param(`${prefix}.qkv.weight`), param(`${prefix}.qkv.bias`));
  const [q, k, v] = splitHeads(qkv, numHeads); // [B, heads, N, headDim] each
  // Scale q before the product (as timm): same result, one [B, heads, N, N] tensor fewer to keep.
  const scores = tf.matMul(tf.mul(q, 1 / Math.sqrt(headDim)), k, false, true); // [B, heads, N, N]
  const weighted = tf.matMul(softmax(scores), v); // [B, heads, N, headDim]
  const merged = tf.reshape(tf.transpose(weighted, [0, 2, 1, 3]), [batchSize, tokens, width]); // [B, N, D]
  return linear(merged, param(`${prefix}.proj.weight`), param(`${prefix}.proj.bias`));
}

/** Two-layer MLP with exact GELU; `prefix` is e.g. `blocks.0.mlp`. */
export function mlp(x: tf.Tensor, param: ParamLookup, prefix: string): tf.Tensor {
  const hidden = gelu(linear(x, param(`${prefix}.fc1.weight`), param(`${prefix}.fc1.bias`))); // [B, N, mlpRatio*D]
  return linear(hidden, param(`${prefix}.fc2.weight`), param(`${prefix}.fc2.bias`)); // [B, N, D]
}

/** One pre-norm transformer block; `prefix` is e.g. `blocks.3` or `decoder_blocks.0`. */
export function block(x: tf.Tensor, param: ParamLookup, prefix: string, numHeads: number): tf.Tensor {
  const norm1 = layerNorm(x, param(`${prefix}.norm1.weight`), param(`${prefix}.norm1.bias`));
  const afterAttention = tf.add(x, attention(norm1, param, `${prefix}.attn`, numHeads));
  const norm2 = layerNorm(afterAttention, param(`${prefix}.norm2.weight`), param(`${prefix}.norm2.bias`));
  return tf.add(afterAttention, mlp(norm2, param, `${prefix}.mlp`));
}
