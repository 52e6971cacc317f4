/**
 * A run's time from a warm-up measurement: not just steps × time per step, but everything the
 * run does besides its steps — starting up, a validation pass every epoch, a reconstruction grid
 * every `reconstructEvery` steps and a checkpoint every `checkpointEvery` steps, each timed once
 * in the warm-up. The steps-only figure said 105 s for a 10-step ViT-Tiny @224 run that took
 * 201 s on a busy 2-core box (bench/estimate.ts); with start-up and these passes, a like run
 * read 289 s against 344 s. The rest is the machine's load changing, which only the run's own
 * pace can follow (eta.ts).
 */
import type { RunTimeEstimate } from '../contract';
import type { PretrainPlan } from './pretrain-plan';

/** The costs a warm-up measures, in milliseconds. */
export interface WarmupCosts {
  backend: string;
  device: string;
  msPerStep: number;
  measuredSteps: number;
  startupMs: number;
  validationMs: number;
  reconstructionMs: number;
  checkpointMs: number;
}

/** Steps between reconstruction grids when a run does not say (as `executePretrain`). */
export function reconstructionInterval(plan: Pick<PretrainPlan, 'validateEvery'>): number {
  return Math.max(1, Math.min(plan.validateEvery, 100));
}

/** How often each periodic pass happens in a run of `totalSteps` (as `executePretrain` does them). */
export function periodicPasses(
  plan: Pick<PretrainPlan, 'validateEvery' | 'checkpointEvery'> & { recipe: { totalSteps: number } },
  valImages: number,
) {
  const total = plan.recipe.totalSteps;
  const every = reconstructionInterval(plan);
  return {
    // After every `validateEvery` steps and after the last one.
    validation: valImages > 0 ? Math.floor(total / plan.validateEvery) + (total % plan.validateEvery === 0 ? 0 : 1) : 0,
    // One at step 0, then every `every` steps and after the last one.
    reconstruction: 1 + Math.floor(total / every) + (total % every === 0 ? 0 : 1),
    // Every `checkpointEvery` steps before the last, and one at the end.
    checkpoints: Math.floor((total - 1) / plan.checkpointEvery) + 1,
  };
}

/** The whole run's time at the measured costs. */
export function projectRunTime(costs: WarmupCosts, plan: PretrainPlan): RunTimeEstimate {
  const passes = periodicPasses(plan, plan.data.valImageIds.length);
  const parts = {
    startup: costs.startupMs / 1000,
    // The first step is part of start-up (it compiles); the others run at the measured pace.
    steps: (Math.max(0, plan.recipe.totalSteps - 1) * costs.msPerStep) / 1000,
    validation: (passes.validation * costs.validationMs) / 1000,
    reconstruction: (passes.reconstruction * costs.reconstructionMs) / 1000,
    checkpoints: (passes.checkpoints * costs.checkpointMs) / 1000,
  };
  const seconds = parts.startup + parts.steps + parts.validation + parts.reconstruction + parts.checkpoints;
  return { seconds, measuredSteps: costs.measuredSteps, backend: costs.backend, device: costs.device, parts };
}

/**
 * What makes one step cost what it costs: two recipes with the same key have the same warm-up,
 * so a measurement stays valid while only epochs, steps, seed or learning rate change.
 */
export function costKey(projectId: number, plan: PretrainPlan): string {
  const { recipe } = plan;
  return JSON.stringify([
    projectId,
    plan.backend,
    recipe.model,
    recipe.batchSize,
    recipe.accumSteps,
    recipe.maskRatio,
    recipe.maskStrategy,
    plan.data.trainImageIds.length,
    plan.data.valImageIds.length,
    plan.stepsPerEpoch,
    // A domain recipe's targets are made on the host every step (a blur, HOG): another recipe costs otherwise.
    ...(recipe.domainRecipe ? [recipe.domainRecipe] : []),
  ]);
}
