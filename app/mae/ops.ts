/**
 * The few primitive layers the MAE is built from, written with ops every TF.js backend
 * implements with gradients (cpu, wasm, tfjs-node). This file is the ONE place backend
 * limitations are worked around, so the model never branches on the backend:
 *  - wasm 4.22 has no UnsortedSegmentSum (the gradient of gather) and crashes on gather with
 *    batchDims: we only ever gather constants (`gatherRows`), with flat indices and no batchDims;
 *  - wasm has no Conv2DBackpropFilter: the patch embedding is a reshape + matMul (`linear`).
 * And backends with fused head split, softmax, linear, LayerNorm and GELU kernels (native and webgpu)
 * get those instead of the composite ops: the same math in one kernel each way (app/runtime/fused-ops.ts).
 * Gradients must be registered first: `ensureGradients` (app/runtime/gradients.ts), which
 * `selectBackend` calls.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  fusedGelu,
  fusedLayerNorm,
  fusedLinear,
  fusedOpAvailable,
  fusedSoftmax,
  fusedSplitHeads,
  GELU_KERNEL,
  LAYER_NORM_KERNEL,
  LINEAR_KERNEL,
  SOFTMAX_KERNEL,
  SPLIT_HEADS_KERNEL,
} from '../runtime/fused-ops';

/** Looks up a parameter by its reference name; throws naming it when absent. */
export type ParamLookup = (name: string) => tf.Tensor;

/** y = x·W + b over the last axis. Weights are stored [in, out] (the transpose of torch's). */
export function linear(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  const inDim = x.shape[x.shape.length - 1]!;
  const outDim = weight.shape[1]!;
  if (weight.shape[0] !== inDim)
    throw new Error(`linear: input width ${inDim} does not match weight ${JSON.stringify(weight.shape)}`);
  const plain =
    [x, weight, bias].every((t) => t.dtype === 'float32') &&
    weight.rank === 2 &&
    bias.rank === 1 &&
    bias.shape[0] === outDim;
  if (plain && x.rank > 0 && fusedOpAvailable(LINEAR_KERNEL)) return fusedLinear(x, weight, bias);
  const flat = tf.reshape(x, [-1, inDim]); // [N, in]
  const y = tf.add(tf.matMul(flat, weight), bias); // [N, out]
  return tf.reshape(y, [...x.shape.slice(0, -1), outDim]); // [..., out]
}

type CustomGradFunction = (...args: tf.Tensor[]) => tf.Tensor;

/** Sums `t` over every axis but the last: [..., D] → [D]. */
function sumToLast(t: tf.Tensor): tf.Tensor {
  return tf.sum(tf.reshape(t, [-1, t.shape[t.shape.length - 1]!]), 0); // [D]
}

const layerNormCore = tf.customGrad(((
  input: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: tf.Tensor,
  save: tf.GradSaveFunc,
) => {
  const { mean, variance } = tf.moments(input, -1, true);
  const inverseStd = tf.rsqrt(tf.add(variance, epsilon)); // [..., 1]
  const normalised = tf.mul(tf.sub(input, mean), inverseStd); // x̂ [..., D]
  save([normalised, inverseStd, gamma]);
  return {
    value: tf.add(tf.mul(normalised, gamma), beta),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xHat, rstd, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
      const gradXHat = tf.mul(dy, scale); // [..., D]
      const centred = tf.sub(gradXHat, tf.mean(gradXHat, -1, true));
      const dx = tf.mul(rstd, tf.sub(centred, tf.mul(xHat, tf.mean(tf.mul(gradXHat, xHat), -1, true))));
      return [dx, sumToLast(tf.mul(dy, xHat)), sumToLast(dy), tf.zerosLike(epsilon)];
    },
  };
}) as never) as unknown as CustomGradFunction;

/**
 * LayerNorm over the last axis with biased variance, as torch.nn.LayerNorm. A custom gradient
 * keeps only x̂ and 1/σ for the backward pass: TF.js would otherwise keep every intermediate
 * of the composite ops, which at ViT-Tiny/224, batch 8 exhausts the 4 GB wasm heap.
 */
export function layerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps = 1e-6): tf.Tensor {
  const width = x.shape[x.shape.length - 1];
  const plain =
    x.dtype === 'float32' &&
    x.rank > 0 &&
    [weight, bias].every((t) => t.dtype === 'float32' && t.rank === 1 && t.shape[0] === width);
  if (plain && fusedOpAvailable(LAYER_NORM_KERNEL)) return fusedLayerNorm(x, weight, bias, eps);
  return tf.tidy(() => layerNormCore(x, weight, bias, tf.scalar(eps)));
}

const geluCore = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
  save([input]);
  return {
    value: tf.mul(tf.mul(input, 0.5), tf.add(1, tf.erf(tf.mul(input, Math.SQRT1_2)))),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [z] = saved as [tf.Tensor];
      const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.mul(z, Math.SQRT1_2)))); // Φ(z)
      const pdf = tf.mul(tf.exp(tf.mul(tf.square(z), -0.5)), 1 / Math.sqrt(2 * Math.PI)); // φ(z)
      return [tf.mul(dy, tf.add(cdf, tf.mul(z, pdf)))];
    },
  };
}) as never) as unknown as CustomGradFunction;

/**
 * GELU in the exact erf form (torch.nn.GELU default), not the tanh approximation: x·Φ(x),
 * gradient Φ(x) + x·φ(x). Custom gradient keeps only x (memory, as `layerNorm`).
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  return x.dtype === 'float32' && fusedOpAvailable(GELU_KERNEL) ? fusedGelu(x) : geluCore(x);
}

/**
 * Attention's q, k, v [B, heads, N, headDim] from qkv [B, N, 3·D], whose columns are
 * (3, heads, headDim) as timm's.
 */
export function splitHeads(qkv: tf.Tensor, numHeads: number): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const [batchSize, tokens, width] = qkv.shape as [number, number, number];
  if (qkv.rank !== 3 || width % (3 * numHeads) !== 0)
    throw new Error(`splitHeads: qkv ${JSON.stringify(qkv.shape)} is not [B, N, 3·${numHeads}·headDim]`);
  if (qkv.dtype === 'float32' && fusedOpAvailable(SPLIT_HEADS_KERNEL)) return fusedSplitHeads(qkv, numHeads);
  const headDim = width / 3 / numHeads;
  return tf.split(qkv, 3, -1).map(
    (t) => tf.transpose(tf.reshape(t, [batchSize, tokens, numHeads, headDim]), [0, 2, 1, 3]), // [B, heads, N, headDim]
  ) as [tf.Tensor, tf.Tensor, tf.Tensor];
}

/** Softmax over the last axis. */
export function softmax(x: tf.Tensor): tf.Tensor {
  return x.dtype === 'float32' && x.rank > 0 && fusedOpAvailable(SOFTMAX_KERNEL) ? fusedSoftmax(x) : tf.softmax(x, -1);
}

/**
 * Rows of a constant `table` [N, W] at `flatIndices` → [indices.length, W]. Never call this on
 * something that needs a gradient: its gradient is a scatter that wasm lacks.
 */
export function gatherRows(table: tf.Tensor, flatIndices: Int32Array): tf.Tensor {
  return tf.tidy(() => tf.gather(table, tf.tensor1d(flatIndices, 'int32'))); // [K, W]
}

/** A [B, n, W] tensor with every row equal to `token` [1, 1, W] (its gradient sums over rows). */
export function repeatToken(token: tf.Tensor, batchSize: number, count: number): tf.Tensor {
  const width = token.shape[token.shape.length - 1]!;
  return tf.add(tf.zeros([batchSize, count, width]), token); // [B, n, W] by broadcasting
}
