/**
 * Learning-rate schedule of the MAE recipe (`util/lr_sched.py`, `main_pretrain.py`):
 * lr = blr × effective batch / 256, linear warmup, then a half-cycle cosine down to `minLr`,
 * set before every optimizer step (the reference sets it per iteration, not per epoch).
 */

/** Schedule parameters, in optimizer steps. */
export interface LrSchedule {
  /** Peak learning rate after warmup (already scaled by the batch). */
  peakLr: number;
  /** Floor of the cosine. */
  minLr: number;
  /** Steps of linear warmup from 0 to `peakLr`. */
  warmupSteps: number;
  /** Steps of the whole run; the cosine reaches `minLr` here. */
  totalSteps: number;
}

/** The linear scaling rule: absolute lr = base lr × effective batch size / 256. */
export function scaledLearningRate(baseLr: number, effectiveBatchSize: number): number {
  return (baseLr * effectiveBatchSize) / 256;
}

/** Learning rate for optimizer step `step` (0-based; 0 gives 0 during warmup as the reference). */
export function learningRateAt(step: number, schedule: LrSchedule): number {
  const { peakLr, minLr, warmupSteps, totalSteps } = schedule;
  if (step < warmupSteps) return (peakLr * step) / warmupSteps;
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / decaySteps);
  return minLr + (peakLr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
