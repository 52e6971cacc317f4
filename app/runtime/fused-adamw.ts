/**
 * A fused AdamW update for backends that register the `MaeAdamW` kernel (the `native` one):
 * one pass over parameter, moments and gradient instead of ~15 elementwise kernels, each with
 * its own full-size temporary. `app/train/adamw.ts` uses it when `fusedAdamWAvailable()`; the
 * kernel does the same float32 operations in the same order as that file's composite ops.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The kernel's name (not a TF.js op: no gradient, optimizer only). */
export const ADAMW_KERNEL = 'MaeAdamW';

/** The scalars of one AdamW update of one parameter. */
export interface FusedAdamWScalars {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** This parameter's weight decay (0 for its no-decay group). */
  weightDecay: number;
  /** 1 − β1^t and 1 − β2^t. */
  correction1: number;
  correction2: number;
}

/** Whether the active backend has the fused kernel. */
export function fusedAdamWAvailable(): boolean {
  return tf.getKernel(ADAMW_KERNEL, tf.getBackend()) !== undefined;
}

/** New parameter and moments after one AdamW step; requires `fusedAdamWAvailable()`. */
export function fusedAdamW(
  param: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  grad: tf.Tensor,
  scalars: FusedAdamWScalars,
): { param: tf.Tensor; m: tf.Tensor; v: tf.Tensor } {
  const [nextParam, nextM, nextV] = tf
    .engine()
    .runKernel(ADAMW_KERNEL, { param, m, v, grad }, { ...scalars }) as tf.Tensor[];
  return { param: nextParam!, m: nextM!, v: nextV! };
}
