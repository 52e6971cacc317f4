/**
 * What `bench:recipes` compares: the recipes it trains, the sample domains it trains them on, and the
 * model and budget every run shares.
 */
import type { Domain } from '../../app/contract';
import { writeSample } from '../../app/data/synthetic/datasets';
import { MULTICHANNEL_SAMPLES, writeMultichannelSample } from '../../app/data/synthetic/multichannel';
import type { PretrainOptions } from '../../app/train/pretrain-plan';

/** One recipe the bench trains: its options on top of the shared ones, and where it applies. */
export interface BenchRecipe {
  name: string;
  options: Partial<PretrainOptions>;
  /** Whether it is made for images of this domain and channel count. */
  applies: (domain: Domain, channels: number) => boolean;
}

/** The recipes compared, the plain MAE first (the baseline every gain is measured against). */
export const BENCH_RECIPES: readonly BenchRecipe[] = [
  { name: 'mae', options: { domainRecipe: 'mae' }, applies: () => true },
  {
    name: 'fgmae',
    // The dialog's suggestion for named Sentinel-2 bands: HOG and the three indices.
    options: { domainRecipe: 'fgmae', featureTargets: ['hog', 'ndvi', 'ndwi', 'ndbi'] },
    applies: (domain, channels) => domain === 'remote-sensing' && channels >= 4,
  },
  {
    name: 'satmae',
    options: { domainRecipe: 'satmae' }, // the Sentinel-2 groups found by band name
    applies: (domain, channels) => domain === 'remote-sensing' && channels >= 4,
  },
  {
    name: 'camae',
    options: { domainRecipe: 'camae' },
    applies: (domain, channels) => domain === 'microscopy' && channels >= 4,
  },
  {
    name: 'hpm',
    // Hard-patch mining is about where to mask, not about the kind of image: every domain, α_T at its default.
    options: { domainRecipe: 'hpm' },
    applies: () => true,
  },
  {
    name: 'deblur',
    options: { domainRecipe: 'deblur' },
    applies: (domain, channels) => domain === 'medical' && channels === 1,
  },
];

/** A sample domain of the bench: a many-channel sample, or the built-in medical one (grey CT-like slices). */
export interface BenchDomain {
  domain: Domain;
  channels: number;
  /** Images per seed. */
  count: number;
  write: (dir: string, seed: number, count: number) => Promise<unknown>;
}

/** The sample domains, by the name `--domains` takes. */
export const BENCH_DOMAINS: Readonly<Record<string, BenchDomain>> = {
  'sentinel-2': {
    domain: 'remote-sensing',
    channels: MULTICHANNEL_SAMPLES['sentinel-2'].bandNames.length,
    count: 200,
    write: (dir, seed, count) => writeMultichannelSample(dir, { kind: 'sentinel-2', count, seed }),
  },
  'cell-painting': {
    domain: 'microscopy',
    channels: MULTICHANNEL_SAMPLES['cell-painting'].bandNames.length,
    count: 180,
    write: (dir, seed, count) => writeMultichannelSample(dir, { kind: 'cell-painting', count, seed }),
  },
  medical: {
    domain: 'medical',
    channels: 1,
    count: 160,
    write: (dir, seed, count) => writeSample(dir, { domain: 'medical', count, seed }),
  },
};

/** The model and budget every run shares. */
export const DEFAULT_BENCH = {
  // 200 × 16 = 3,200 images drawn, about 23 passes over the 140 (sentinel-2) or 126 (cell-painting) training
  // images of a seed: at 50 (the first default) the MAE was level with its own random init. SatMAE's step cost 20–60×
  // the MAE's on the CPU until the grouped encoder stopped gathering (bench/satmae.ts: now 1.2–1.9×).
  steps: 200,
  batchSize: 16,
  seeds: [1, 2],
  valFraction: 0.3, // 60 of 200 images scored per seed: intervals of about ±12 points
};
