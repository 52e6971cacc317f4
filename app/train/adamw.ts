/**
 * AdamW (Loshchilov & Hutter) exactly as torch.optim.AdamW, with the MAE recipe's two
 * parameter groups: weight decay 0.05 on matrices, none on biases, norm weights, cls/mask
 * tokens and position embeddings (`usesWeightDecay`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { usesWeightDecay } from '../mae/params';
import { fusedAdamW, fusedAdamWAvailable } from '../runtime/fused-adamw';
import { PackedAdamW, packedAdamWFits } from '../runtime/webgpu-adamw';

/** Optimizer hyperparameters. */
export interface AdamWOptions {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
}

/** MAE pretraining values (He et al., Table 8). */
export const DEFAULT_ADAMW: AdamWOptions = {
  beta1: 0.9, // paper: β1 = 0.9
  beta2: 0.95, // paper: β2 = 0.95 (not 0.999): steadier with large batches
  epsilon: 1e-8, // torch default
  weightDecay: 0.05, // paper: 0.05
};

/** Parameter names split into the decayed and the not-decayed group. */
export function paramGroups(names: Iterable<string>): { decay: string[]; noDecay: string[] } {
  const decay: string[] = [];
  const noDecay: string[] = [];
  for (const name of names) (usesWeightDecay(name) ? decay : noDecay).push(name);
  return { decay, noDecay };
}

/** AdamW over named variables; the moments are variables too so they can be checkpointed. */
export class AdamW {
  /** Optimizer steps taken so far (t in the bias corrections). */
  stepCount = 0;
  readonly #firstMoments = new Map<string, tf.Variable>();
  readonly #secondMoments = new Map<string, tf.Variable>();
  /** webgpu: the state packed for the one-dispatch update (see webgpu-adamw.ts), made at the first step. */
  #packed: PackedAdamW | null = null;

  constructor(
    private readonly params: Map<string, tf.Variable>,
    readonly options: AdamWOptions = DEFAULT_ADAMW,
  ) {
    for (const [name, variable] of params) {
      // tidy: the zeros tensor is freed with the variable (it shares its buffer), not held past dispose.
      this.#firstMoments.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(variable), false)),
      );
      this.#secondMoments.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(variable), false)),
      );
    }
  }

  /** First moments by parameter name (current: on webgpu they are copied out of the packed state). */
  get firstMoments(): Map<string, tf.Variable> {
    this.#packed?.syncMoments();
    return this.#firstMoments;
  }

  /** Second moments by parameter name (as `firstMoments`). */
  get secondMoments(): Map<string, tf.Variable> {
    this.#packed?.syncMoments();
    return this.#secondMoments;
  }

  /** One update with learning rate `lr`; `grads` holds a gradient for every parameter. */
  step(grads: Map<string, tf.Tensor>, lr: number): void {
    const { beta1, beta2, epsilon, weightDecay } = this.options;
    this.stepCount += 1;
    const correction1 = 1 - beta1 ** this.stepCount;
    const correction2 = 1 - beta2 ** this.stepCount;
    if (
      this.#packed === null &&
      packedAdamWFits([...this.params.values()].reduce((sum, param) => sum + param.size, 0))
    ) {
      this.#packed = new PackedAdamW(this.params, this.#firstMoments, this.#secondMoments, usesWeightDecay);
    }
    if (this.#packed) {
      // webgpu: every parameter in one dispatch
      this.#packed.step(grads, { lr, beta1, beta2, epsilon, weightDecay, correction1, correction2 });
      return;
    }
    const fused = fusedAdamWAvailable(); // one kernel per parameter instead of ~15 (native backend)
    tf.tidy(() => {
      for (const [name, param] of this.params) {
        const grad = grads.get(name);
        if (!grad) throw new Error(`AdamW: no gradient for ${name}`);
        const m = this.#firstMoments.get(name)!;
        const v = this.#secondMoments.get(name)!;
        const decay = usesWeightDecay(name) ? weightDecay : 0;
        if (fused) {
          const next = fusedAdamW(param, m, v, grad, {
            lr,
            beta1,
            beta2,
            epsilon,
            weightDecay: decay,
            correction1,
            correction2,
          });
          m.assign(next.m);
          v.assign(next.v);
          param.assign(next.param);
          continue;
        }
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(grad, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(grad), 1 - beta2)));
        const decayed = decay > 0 ? tf.mul(param, 1 - lr * decay) : param; // decoupled decay first, as torch
        const denominator = tf.add(tf.div(tf.sqrt(v), Math.sqrt(correction2)), epsilon);
        param.assign(tf.sub(decayed, tf.mul(tf.div(m, denominator), lr / correction1)));
      }
    });
  }

  /** Frees the moment variables. */
  dispose(): void {
    for (const moment of [...this.#firstMoments.values(), ...this.#secondMoments.values()]) moment.dispose();
    this.#packed?.dispose();
    this.#packed = null;
  }
}
