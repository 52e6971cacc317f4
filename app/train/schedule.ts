/**
 * Learning-rate schedule of the MAE recipe (`util/lr_sched.py`, `main_pretrain.py`): a peak lr
 * from the effective batch size by one of the rules below, linear warmup, then a half-cycle
 * cosine down to `minLr`, set before every optimizer step (the reference sets it per iteration).
 *
 * The paper's linear rule (lr = blr × batch / 256) was made for batch 4096; at a desktop batch
 * of 8 it gives 4.7e-6 and a short run barely learns. `bench/recipe.ts` measures the rules on the
 * sample domains and real images; the default is the one that measured best (README, "Pretraining
 * defaults").
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

/** The lower bound of the `floor` rule: linear scaling, but never below this peak lr. */
export const LR_FLOOR = 3e-4;

import { LR_RULE_CHOICES } from '../contract-training';

/** How the peak learning rate follows the effective batch size (declared in the contract, which the UI shares). */
export const LR_RULES = LR_RULE_CHOICES;
export type LrRuleName = (typeof LR_RULES)[number];

/** What each rule computes, in words (the recipe panel and the model card quote it). */
export const LR_RULE_FORMULAS: Readonly<Record<LrRuleName, string>> = {
  linear: 'blr × batch / 256',
  sqrt: 'blr × √(batch / 256)',
  fixed: 'blr at every batch',
  floor: `max(blr × batch / 256, ${formatLearningRate(LR_FLOOR)})`,
};

/** The linear scaling rule: absolute lr = base lr × effective batch size / 256. */
export function scaledLearningRate(baseLr: number, effectiveBatchSize: number): number {
  return (baseLr * effectiveBatchSize) / 256;
}

/**
 * Peak lr of a run: the base lr `blr` (the lr at effective batch 256 for linear and sqrt
 * scaling) carried to `effectiveBatchSize` by `rule`.
 */
export function peakLearningRate(rule: LrRuleName, blr: number, effectiveBatchSize: number): number {
  switch (rule) {
    case 'linear':
      return scaledLearningRate(blr, effectiveBatchSize);
    case 'sqrt':
      return blr * Math.sqrt(effectiveBatchSize / 256);
    case 'fixed':
      return blr;
    case 'floor':
      return Math.max(scaledLearningRate(blr, effectiveBatchSize), LR_FLOOR);
  }
}

/** "lr 1.2e-3 (rule: sqrt, blr × √(batch / 256), blr 6.6e-3, batch 8)": where a peak lr came from. */
export function describeLearningRate(
  rule: LrRuleName,
  blr: number,
  effectiveBatchSize: number,
  peak = peakLearningRate(rule, blr, effectiveBatchSize),
): string {
  return (
    `lr ${formatLearningRate(peak)} ` +
    `(rule: ${rule}, ${LR_RULE_FORMULAS[rule]}, blr ${formatLearningRate(blr)}, batch ${effectiveBatchSize})`
  );
}

/** A learning rate in short exponent form: 0.0012 → "1.2e-3". */
export function formatLearningRate(value: number): string {
  if (value === 0) return '0';
  const [mantissa, exponent] = value.toExponential(2).split('e') as [string, string];
  return `${mantissa.replace(/\.?0+$/, '')}e${Number(exponent)}`;
}

/** Learning rate for optimizer step `step` (0-based; 0 gives 0 during warmup as the reference). */
export function learningRateAt(step: number, schedule: LrSchedule): number {
  const { peakLr, minLr, warmupSteps, totalSteps } = schedule;
  if (step < warmupSteps) return (peakLr * step) / warmupSteps;
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / decaySteps);
  return minLr + (peakLr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
