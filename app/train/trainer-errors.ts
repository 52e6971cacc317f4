/**
 * What a training step throws when it cannot go on: a loss or gradient that is NaN or infinite
 * (found at once, or at the end of a webgpu logging interval), or a GPU that ran out of memory.
 * The 2-D trainer (`trainer.ts`) and the 3-D one (`volume3d/trainer3d.ts`) throw them; the runs
 * turn them into a failed run with a reason a person can act on.
 */
import { formatLearningRate } from './schedule';
import type { StepMetrics } from './step-metrics';

/**
 * Thrown by `trainStep` when the loss or the gradients are NaN or infinite (the weights are left
 * unchanged), and by `saveCheckpoint` when the state to be written is (nothing is written).
 */
export class NonFiniteLossError extends Error {
  constructor(
    /** The optimizer step (1-based) that went wrong. */
    readonly step: number,
    what: string,
    /** The learning rate of that step. */
    readonly lr: number,
  ) {
    super(`training diverged at step ${step}: ${what} (lr ${formatLearningRate(lr)})`);
    this.name = 'NonFiniteLossError';
  }
}

/**
 * Thrown by `advance` / `flushLosses` (webgpu) when a loss read at the end of a logging interval
 * is NaN or infinite. The steps after it already ran, so the weights in memory are poisoned: the
 * trainer writes no checkpoint from them (`saveCheckpoint` refuses while losses are unread).
 */
export class LateNonFiniteLossError extends NonFiniteLossError {
  /** The last step whose loss (and every one before) was finite. */
  readonly lastGoodStep: number;
  constructor(
    step: number,
    what: string,
    lr: number,
    /** The metrics of the steps of the interval before the bad one, for the curve. */
    readonly finiteSteps: StepMetrics[],
  ) {
    super(step, what, lr);
    this.lastGoodStep = step - 1;
  }
}

/** Thrown by `trainStep` when the GPU ran out of memory (webgpu); the weights are left unchanged. */
export class GpuMemoryError extends Error {}
