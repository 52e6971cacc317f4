/**
 * Cost of CA-MAE's channel tokens and Fourier term per training step: the same encoder and
 * decoder on 5-channel images as the plain MAE (L tokens), CA-MAE without the Fourier term
 * (C·L tokens) and CA-MAE with it, median time of a few steps after a warm-up step.
 *
 *   node dist/bench/camae.js [--backend native] [--size 64] [--patch 8] [--batch 8] [--steps 3]
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
const channels = 5;

const selection = await selectBackend(backend);
console.log(
  `backend ${selection.backend}; ViT-Tiny depth 4, decoder 128x2, ${imgSize}` +
    ` px / ${patchSize}, ${channels} channels, batch ${batchSize}`,
);
const variants: [string, DomainRecipeConfig | undefined][] = [
  ['MAE (L tokens)', undefined],
  ['CA-MAE, no Fourier term (C·L tokens)', { name: 'camae', fourierLossWeight: 0 }],
  ['CA-MAE with the Fourier term (0.01)', { name: 'camae', fourierLossWeight: 0.01 }],
];
for (const [name, domainRecipe] of variants) {
  const median = await medianStepMs({ imgSize, patchSize, channels, batchSize, steps, domainRecipe });
  console.log(`${name.padEnd(40)} ${median.toFixed(0)} ms/step (median of ${steps})`);
}
