/**
 * What one optimizer step of a trainer reports (its loss, lr and speed), and when a run on the
 * webgpu backend reads those losses back from the GPU (its logging interval). The 2-D trainer
 * (`trainer.ts`) and the 3-D one (`volume3d/trainer3d.ts`) report steps this way; the runs record
 * them as metrics.
 */

/** What one optimizer step reports. */
export interface StepMetrics {
  /** Optimizer steps completed, counting this one. */
  step: number;
  /** Mean loss over the step's micro-batches. */
  loss: number;
  /** Learning rate used for this step. */
  lr: number;
  imagesPerSecond: number;
  msPerStep: number;
}

/**
 * When a run on the webgpu backend reads its losses back (its logging interval): after this many
 * steps or this much time, whichever comes first, and before a checkpoint, a validation or the
 * end. Between reads the losses stay on the GPU, so the GPU is never waited for. Other backends
 * read every step, as before.
 */
export interface LossReads {
  everySteps: number;
  everyMs: number;
}

/** A webgpu run's logging interval. */
export const DEFAULT_LOSS_READS: LossReads = {
  everySteps: 25, // the metrics table is written every 25 steps: reading as often delays no row
  everyMs: 2000, // and every 2 s, so the curve on screen is never further behind
};
