/**
 * Cost of HPM per training step: the same encoder and decoder on RGB images as the plain MAE,
 * then with HPM (its loss predictor, the relative objective and the EMA teacher's pass over every
 * patch to mine the masks), median time of a few steps after a warm-up step.
 *
 *   node dist/bench/hpm.js [--backend native] [--size 64] [--patch 8] [--batch 8] [--steps 3]
 */
import { selectBackend, type BackendPreference } from '../app/runtime/backend';
import type { DomainRecipeConfig } from '../app/train/recipes/domain-recipes';
import { argument } from './shared/options';
import { medianStepMs } from './shared/step-time';

const backend = argument('backend', 'cpu') as BackendPreference;
const imgSize = Number(argument('size', '64'));
const patchSize = Number(argument('patch', '8'));
const batchSize = Number(argument('batch', '8'));
const steps = Number(argument('steps', '3'));

const selection = await selectBackend(backend);
console.log(
  `backend ${selection.backend}; ViT-Tiny depth 4, decoder 128x2, ${imgSize} px / ${patchSize}, batch ${batchSize}`,
);
const variants: [string, DomainRecipeConfig | undefined][] = [
  ['MAE', undefined],
  ['HPM (share 0.5, weight 1)', { name: 'hpm', finalHardShare: 0.5, lossPredictorWeight: 1 }],
];
for (const [name, domainRecipe] of variants) {
  const median = await medianStepMs({ imgSize, patchSize, channels: 3, batchSize, steps, domainRecipe });
  console.log(`${name.padEnd(28)} ${median.toFixed(0)} ms/step (median of ${steps})`);
}
