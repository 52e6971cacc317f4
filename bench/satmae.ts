/**
 * Cost of SatMAE's grouped-band tokens per training step: the same encoder and decoder on the same
 * 13-band images and batch as the plain MAE (L tokens), then SatMAE with the Sentinel-2 groups
 * (3 groups, G·L tokens), each as the median of a few steps after a warm-up step, both measured in
 * this run and printed as a ratio to the MAE. A step of G·L tokens is bound to cost more (about G×
 * in the linear layers, more in attention); the ratio says how much more it costs here.
 *
 *   node dist/bench/satmae.js [--backend cpu|native] [--size 64] [--patch 16] [--batch 16] [--steps 5]
 */
import { selectBackend, type BackendPreference } from '../app/runtime/backend';
import type { DomainRecipeConfig } from '../app/train/recipes/domain-recipes';
import { argument } from './shared/options';
import { medianStepMs } from './shared/step-time';

const backend = argument('backend', 'cpu') as BackendPreference;
const imgSize = Number(argument('size', '64'));
const patchSize = Number(argument('patch', '16'));
const batchSize = Number(argument('batch', '16'));
const steps = Number(argument('steps', '5'));
const channels = 13; // Sentinel-2 L1C: B1 B2 B3 B4 B5 B6 B7 B8 B8A B9 B10 B11 B12
// SatMAE's groups in that order: (B2 B3 B4 B8), (B5 B6 B7 B8A), (B11 B12)
const groups = [
  [1, 2, 3, 7],
  [4, 5, 6, 8],
  [11, 12],
];

const selection = await selectBackend(backend);
console.log(
  `backend ${selection.backend}; ViT-Tiny depth 4, decoder 128x2, ${imgSize} px / ${patchSize}, ` +
    `${channels} bands, batch ${batchSize}, median of ${steps} steps`,
);
const variants: [string, DomainRecipeConfig | undefined][] = [
  ['MAE (L tokens)', undefined],
  ['SatMAE, 3 band groups (G·L tokens)', { name: 'satmae', groups, spatialMask: false }],
];
let baseline = 0;
for (const [name, domainRecipe] of variants) {
  const median = await medianStepMs({ imgSize, patchSize, channels, batchSize, steps, domainRecipe });
  if (!domainRecipe) baseline = median;
  console.log(`${name.padEnd(40)} ${median.toFixed(0).padStart(6)} ms/step  ${(median / baseline).toFixed(1)}× MAE`);
}
