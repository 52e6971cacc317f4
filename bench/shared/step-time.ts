/**
 * The median time of one training step of a small MAE (ViT-Tiny's width, 4 blocks, decoder 128×2)
 * on generated images, for the recipe-speed benches (`bench:camae`, `bench:satmae`, `bench:hpm`): one step
 * first to warm up, then `steps` timed steps.
 */
import { maeConfigFromParts } from '../../app/mae/config';
import type { DomainRecipeConfig } from '../../app/train/recipes/domain-recipes';
import { syntheticSource } from '../../app/train/synthetic';
import { MaeTrainer } from '../../app/train/trainer';

/** What one timing runs: the image, patch, channels, batch and recipe (none: the plain MAE). */
export interface StepTimeOptions {
  imgSize: number;
  patchSize: number;
  channels: number;
  batchSize: number;
  steps: number;
  domainRecipe?: DomainRecipeConfig | undefined;
}

/** Milliseconds of the median step of `steps`, after one warm-up step. */
export async function medianStepMs(options: StepTimeOptions): Promise<number> {
  const { imgSize, patchSize, channels, batchSize, steps, domainRecipe } = options;
  const model = maeConfigFromParts('vit-tiny', patchSize, '128x2', { imgSize, depth: 4, inChans: channels });
  const trainer = MaeTrainer.create(
    { model, batchSize, totalSteps: steps + 1, warmupSteps: 0, seed: 1, ...(domainRecipe && { domainRecipe }) },
    syntheticSource({ imgSize, channels }),
  );
  try {
    await trainer.trainStep(); // warm-up
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const started = performance.now();
      await trainer.trainStep();
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  } finally {
    trainer.dispose();
  }
}
