/**
 * Fused attention head split, softmax, linear layer, LayerNorm and GELU for backends that register their kernels (the
 * `native` one): one kernel forward and one backward instead of up to ~10 kernels each way (reshapes, matMul and bias
 * add; LayerNorm's and GELU's elementwise steps), every one with its own engine bookkeeping and most with a full-size
 * temporary. `app/mae/ops.ts` uses them when `fusedOpsAvailable()`; the kernels do the same float32 operations as its
 * composite ops. Their gradients are registered here (TF.js gradients are global, looked up by kernel name).
 */
import * as tf from '@tensorflow/tfjs-core';

/** q, k, v [B, heads, N, headDim] from qkv [B, N, 3·heads·headDim]; attrs `{ numHeads }`. */
export const SPLIT_HEADS_KERNEL = 'MaeSplitHeads';
/** The gradient of SPLIT_HEADS_KERNEL: dq, dk, dv back into one [B, N, 3·heads·headDim]. */
export const MERGE_HEADS_KERNEL = 'MaeMergeHeads';
/** Softmax over the last axis (the `Softmax` kernel's math) with a one-kernel gradient. */
export const SOFTMAX_KERNEL = 'MaeSoftmax';
/** dx = dy·y − (Σ dy·y)·y from dy and the softmax y. */
export const SOFTMAX_GRAD_KERNEL = 'MaeSoftmaxGrad';
/** y = x·weight + bias over the last axis of x. */
export const LINEAR_KERNEL = 'MaeLinear';
/** dx, dweight, dbias from dy, x and weight. */
export const LINEAR_GRAD_KERNEL = 'MaeLinearGrad';
/** y, mean, rstd = LayerNorm(x, gamma, beta) over the last axis; attrs `{ epsilon }`. */
export const LAYER_NORM_KERNEL = 'MaeLayerNorm';
/** dx, dgamma, dbeta from dy, x, gamma and the forward's mean and rstd. */
export const LAYER_NORM_GRAD_KERNEL = 'MaeLayerNormGrad';
/** y = x·Φ(x), the exact (erf) GELU. */
export const GELU_KERNEL = 'MaeGelu';
/** dx = dy·(Φ(x) + x·φ(x)). */
export const GELU_GRAD_KERNEL = 'MaeGeluGrad';

/** The fused kernels, each of which a backend must register to offer them. */
export const FUSED_KERNEL_NAMES: readonly string[] = [
  SPLIT_HEADS_KERNEL,
  MERGE_HEADS_KERNEL,
  SOFTMAX_KERNEL,
  SOFTMAX_GRAD_KERNEL,
  LINEAR_KERNEL,
  LINEAR_GRAD_KERNEL,
  LAYER_NORM_KERNEL,
  LAYER_NORM_GRAD_KERNEL,
  GELU_KERNEL,
  GELU_GRAD_KERNEL,
];

/** Whether the active backend has the fused kernels. */
export function fusedOpsAvailable(): boolean {
  const backend = tf.getBackend();
  return FUSED_KERNEL_NAMES.every((name) => tf.getKernel(name, backend) !== undefined);
}

/** Each forward kernel's backward one: a backend offers an op only with both. */
const BACKWARD_KERNEL: Record<string, string> = {
  [SPLIT_HEADS_KERNEL]: MERGE_HEADS_KERNEL,
  [SOFTMAX_KERNEL]: SOFTMAX_GRAD_KERNEL,
  [LINEAR_KERNEL]: LINEAR_GRAD_KERNEL,
  [LAYER_NORM_KERNEL]: LAYER_NORM_GRAD_KERNEL,
  [GELU_KERNEL]: GELU_GRAD_KERNEL,
};

/**
 * Whether the active backend has one fused op, forward and backward (`native` has all of them,
 * `webgpu` some: webgpu-kernels.ts).
 */
export function fusedOpAvailable(forwardKernel: string): boolean {
  const backend = tf.getBackend();
  const backward = BACKWARD_KERNEL[forwardKernel];
  if (!backward)
    throw new Error(`${forwardKernel} is not a fused forward kernel (${Object.keys(BACKWARD_KERNEL).join(', ')})`);
  return tf.getKernel(forwardKernel, backend) !== undefined && tf.getKernel(backward, backend) !== undefined;
}

/** Registers the gradients of the forward kernels once (a backend that has the kernels calls this). */
export function registerFusedGradients(): void {
  if (!tf.getGradient(SPLIT_HEADS_KERNEL)) {
    tf.registerGradient({
      kernelName: SPLIT_HEADS_KERNEL,
      gradFunc: (dys) => {
        const [dq, dk, dv] = dys as tf.Tensor[]; // zeros where an output is unused
        return { qkv: () => tf.engine().runKernel(MERGE_HEADS_KERNEL, { dq: dq!, dk: dk!, dv: dv! }, {}) as tf.Tensor };
      },
    });
  }
  if (!tf.getGradient(SOFTMAX_KERNEL)) {
    tf.registerGradient({
      kernelName: SOFTMAX_KERNEL,
      outputsToSave: [true],
      gradFunc: (dy, saved) => {
        const [y] = saved as [tf.Tensor];
        return {
          logits: () => tf.engine().runKernel(SOFTMAX_GRAD_KERNEL, { dy: dy as tf.Tensor, y }, {}) as tf.Tensor,
        };
      },
    });
  }
  if (!tf.getGradient(LINEAR_KERNEL)) {
    tf.registerGradient({
      kernelName: LINEAR_KERNEL,
      inputsToSave: ['x', 'weight'],
      gradFunc: (dy, saved) => {
        const [x, weight] = saved as [tf.Tensor, tf.Tensor];
        const [dx, dweight, dbias] = tf
          .engine()
          .runKernel(LINEAR_GRAD_KERNEL, { dy: dy as tf.Tensor, x, weight }, {}) as tf.Tensor[];
        return { x: () => dx!, weight: () => dweight!, bias: () => dbias! };
      },
    });
  }
  if (!tf.getGradient(LAYER_NORM_KERNEL)) {
    tf.registerGradient({
      kernelName: LAYER_NORM_KERNEL,
      inputsToSave: ['x', 'gamma'],
      outputsToSave: [false, true, true], // mean and rstd, not y
      gradFunc: (dy, saved) => {
        const [x, gamma, mean, rstd] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const dyOfY = Array.isArray(dy) ? dy[0]! : dy; // mean and rstd get zeros: nothing uses them
        // One kernel gives all three; each closure hands out its share.
        const [dx, dgamma, dbeta] = tf
          .engine()
          .runKernel(LAYER_NORM_GRAD_KERNEL, { dy: dyOfY, x, gamma, mean, rstd }, {}) as tf.Tensor[];
        return { x: () => dx!, gamma: () => dgamma!, beta: () => dbeta! };
      },
    });
  }
  if (!tf.getGradient(GELU_KERNEL)) {
    tf.registerGradient({
      kernelName: GELU_KERNEL,
      inputsToSave: ['x'],
      gradFunc: (dy, saved) => {
        const [x] = saved as [tf.Tensor];
        return { x: () => tf.engine().runKernel(GELU_GRAD_KERNEL, { dy: dy as tf.Tensor, x }, {}) as tf.Tensor };
      },
    });
  }
}

/** q, k, v [B, heads, N, headDim] of float32 qkv [B, N, 3·heads·headDim]; requires `fusedOpsAvailable()`. */
export function fusedSplitHeads(qkv: tf.Tensor, numHeads: number): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.engine().runKernel(SPLIT_HEADS_KERNEL, { qkv }, { numHeads }) as [tf.Tensor, tf.Tensor, tf.Tensor];
}

/** Softmax over the last axis of float32 `logits`; requires `fusedOpsAvailable()`. */
export function fusedSoftmax(logits: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(SOFTMAX_KERNEL, { logits }, {}) as tf.Tensor;
}

/** x [..., in] · weight [in, out] + bias [out], all float32; requires `fusedOpsAvailable()`. */
export function fusedLinear(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(LINEAR_KERNEL, { x, weight, bias }, {}) as tf.Tensor;
}

/**
 * LayerNorm over the last axis of float32 `x` [..., D] with `gamma` and `beta` of shape [D];
 * requires `fusedOpsAvailable()`.
 */
export function fusedLayerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): tf.Tensor {
  const [y, mean, rstd] = tf.engine().runKernel(LAYER_NORM_KERNEL, { x, gamma, beta }, { epsilon }) as tf.Tensor[];
  tf.dispose([mean!, rstd!]); // the tape keeps its own copies for the gradient
  return y!;
}

/** Exact GELU of float32 `x`; requires `fusedOpsAvailable()`. */
export function fusedGelu(x: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(GELU_KERNEL, { x }, {}) as tf.Tensor;
}
