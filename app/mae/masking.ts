/**
 * Which patches the encoder sees. Masks are plain data computed on the CPU with a seeded
 * `Rng`, so the UI preview can show exactly what a training step used, and the model only
 * gathers constants with them (no scatter, no gather gradient: portable to every backend).
 *
 * All strategies return the reference's three arrays (`random_masking` in models_mae.py):
 * `keep` = ids_shuffle[:, :Lkeep], `restore` = argsort(ids_shuffle), `mask` (1 = masked),
 * with exactly Lkeep = round(L·(1 − maskRatio)) kept patches per sample.
 */
import { MASK_STRATEGIES, type MaskStrategy } from '../contract';
import type { Rng } from './rng';

/** Per-batch masking result, row-major over samples. */
export interface MaskSet {
  /** Samples in the batch (B). */
  batchSize: number;
  /** Patches per image (L). */
  numPatches: number;
  /** Visible patches per image (Lkeep). */
  numKeep: number;
  /** [B, Lkeep] patch indices the encoder sees, in shuffled order. */
  keep: Int32Array;
  /** [B, L] position of each patch in the shuffled order (argsort of ids_shuffle). */
  restore: Int32Array;
  /** [B, L] 1 where the patch is masked (removed), 0 where visible. */
  mask: Uint8Array;
}

/** The masking strategies the studio offers: the contract's `MASK_STRATEGIES`, the one list. */
export type MaskStrategyName = MaskStrategy;

/** Colour of the filtered noise for `noise` masking (ColorMAE, Hinojosa et al. 2024). */
export type NoiseColor = 'red' | 'blue' | 'green';

/** Inputs common to every strategy. */
export interface MaskingOptions {
  batchSize: number;
  /** Patches along one side of the square grid. */
  gridSide: number;
  /** Fraction of patches removed, in (0, 1). */
  maskRatio: number;
  /** `block`: smallest block tried, in patches (BEiT uses 16 on a 14×14 grid). */
  minBlockPatches?: number;
  /** `noise`: which filtered noise ranks the patches. */
  noiseColor?: NoiseColor;
}

/** Defaults for the strategy-specific options. */
export const DEFAULT_MASKING = {
  maskRatio: 0.75, // He et al.: 75% is the sweet spot
  minBlockPatches: 4, // BEiT's 16 is too large for the small grids of 64-px images
  blockAspect: 0.3, // BEiT: aspect ratio in [0.3, 1/0.3]
  noiseColor: 'green' as NoiseColor, // ColorMAE: green (band-pass) noise gave the best transfer
  noiseSigmas: [0.7, 2.0] as const, // Gaussian widths in patches for the low/high cut-offs
} as const;

/** Visible patches per image: round(L·(1 − r)), at least 1 and at most L − 1. */
export function keepCount(numPatches: number, maskRatio: number): number {
  if (!(maskRatio > 0 && maskRatio < 1)) throw new Error(`maskRatio must be in (0, 1), got ${maskRatio}`);
  return Math.min(numPatches - 1, Math.max(1, Math.round(numPatches * (1 - maskRatio))));
}

/** Indices 0..n−1 sorted by ascending score (ties by index: deterministic). */
function argsort(score: Float64Array): Int32Array {
  const order = Int32Array.from({ length: score.length }, (_, i) => i);
  order.sort((a, b) => score[a]! - score[b]! || a - b);
  return order;
}

/** Builds the MaskSet from per-sample scores: lowest `numKeep` scores are kept. */
export function masksFromScores(scores: Float64Array[], numPatches: number, numKeep: number): MaskSet {
  const batchSize = scores.length;
  const keep = new Int32Array(batchSize * numKeep);
  const restore = new Int32Array(batchSize * numPatches);
  const mask = new Uint8Array(batchSize * numPatches);
  scores.forEach((score, b) => {
    const shuffle = argsort(score); // ids_shuffle: small is keep, large is remove
    for (let i = 0; i < numPatches; i++) {
      const patch = shuffle[i]!;
      restore[b * numPatches + patch] = i; // ids_restore = argsort(ids_shuffle)
      mask[b * numPatches + patch] = i < numKeep ? 0 : 1;
      if (i < numKeep) keep[b * numKeep + i] = patch;
    }
  });
  return { batchSize, numPatches, numKeep, keep, restore, mask };
}

/** The paper's per-sample random masking: argsort of uniform noise. */
export function randomMasking(options: MaskingOptions, rng: Rng): MaskSet {
  const numPatches = options.gridSide * options.gridSide;
  const numKeep = keepCount(numPatches, options.maskRatio);
  const scores = Array.from({ length: options.batchSize }, () =>
    Float64Array.from({ length: numPatches }, () => rng.uniform()),
  );
  return masksFromScores(scores, numPatches, numKeep);
}

/** One BEiT block attempt: masks a random rectangle of at most `budget` new patches. */
function maskOneBlock(grid: Uint8Array, side: number, budget: number, minPatches: number, rng: Rng): number {
  const logAspect = [Math.log(DEFAULT_MASKING.blockAspect), Math.log(1 / DEFAULT_MASKING.blockAspect)] as const;
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = rng.uniformIn(Math.min(minPatches, budget), budget);
    const aspect = Math.exp(rng.uniformIn(logAspect[0], logAspect[1]));
    const height = Math.round(Math.sqrt(targetArea * aspect));
    const width = Math.round(Math.sqrt(targetArea / aspect));
    if (height < 1 || width < 1 || height > side || width > side) continue;
    const top = rng.int(side - height + 1);
    const left = rng.int(side - width + 1);
    let fresh = 0;
    for (let r = top; r < top + height; r++) for (let c = left; c < left + width; c++) fresh += 1 - grid[r * side + c]!;
    if (fresh === 0 || fresh > budget) continue;
    for (let r = top; r < top + height; r++) for (let c = left; c < left + width; c++) grid[r * side + c] = 1;
    return fresh;
  }
  return 0;
}

/**
 * BEiT-style block-wise masking (Bao et al. 2021): random rectangles with aspect ratio in
 * [0.3, 1/0.3] until the target count, then random single patches are added (or removed) so
 * every sample masks exactly L − Lkeep patches.
 */
export function blockMasking(options: MaskingOptions, rng: Rng): MaskSet {
  const side = options.gridSide;
  const numPatches = side * side;
  const numKeep = keepCount(numPatches, options.maskRatio);
  const target = numPatches - numKeep;
  const minPatches = options.minBlockPatches ?? DEFAULT_MASKING.minBlockPatches;
  const scores: Float64Array[] = [];
  for (let b = 0; b < options.batchSize; b++) {
    const grid = new Uint8Array(numPatches);
    let count = 0;
    for (let stalls = 0; count < target && stalls < 20; ) {
      const added = maskOneBlock(grid, side, target - count, minPatches, rng);
      count += added;
      stalls = added === 0 ? stalls + 1 : 0;
    }
    // Fix-up: blocks rarely land exactly; top up with random single patches.
    const score = Float64Array.from(grid, (masked) => masked + rng.uniform()); // masked patches sort last
    scores.push(score);
  }
  return masksFromScores(scores, numPatches, numKeep);
}

/** Separable Gaussian blur of a side×side field with edge clamping. */
function gaussianBlur(field: Float64Array, side: number, sigma: number): Float64Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const total = kernel.reduce((a, b) => a + b, 0);
  const blurRows = new Float64Array(field.length);
  const out = new Float64Array(field.length);
  const clamp = (v: number): number => Math.min(side - 1, Math.max(0, v));
  for (let r = 0; r < side; r++)
    for (let c = 0; c < side; c++) {
      let sum = 0;
      for (let k = -radius; k <= radius; k++) sum += kernel[k + radius]! * field[r * side + clamp(c + k)]!;
      blurRows[r * side + c] = sum / total;
    }
  for (let r = 0; r < side; r++)
    for (let c = 0; c < side; c++) {
      let sum = 0;
      for (let k = -radius; k <= radius; k++) sum += kernel[k + radius]! * blurRows[clamp(r + k) * side + c]!;
      out[r * side + c] = sum / total;
    }
  return out;
}

/**
 * ColorMAE-style data-independent masking: white noise on the patch grid is filtered
 * (red = low-pass G_σ1, blue = high-pass 1 − G_σ1, green = band-pass G_σ1 − G_σ2) and the
 * top-(L − Lkeep) patches are masked. Low-pass noise gives clustered masks, high-pass spread ones.
 */
export function noiseMasking(options: MaskingOptions, rng: Rng): MaskSet {
  const side = options.gridSide;
  const numPatches = side * side;
  const numKeep = keepCount(numPatches, options.maskRatio);
  const color = options.noiseColor ?? DEFAULT_MASKING.noiseColor;
  const [sigmaLow, sigmaHigh] = DEFAULT_MASKING.noiseSigmas;
  const scores: Float64Array[] = [];
  for (let b = 0; b < options.batchSize; b++) {
    const white = Float64Array.from({ length: numPatches }, () => rng.normal());
    const low = gaussianBlur(white, side, sigmaLow);
    const score =
      color === 'red'
        ? low
        : color === 'blue'
          ? white.map((v, i) => v - low[i]!)
          : (() => {
              const lower = gaussianBlur(white, side, sigmaHigh);
              return low.map((v, i) => v - lower[i]!);
            })();
    scores.push(score); // largest values sort last: masked
  }
  return masksFromScores(scores, numPatches, numKeep);
}

/** Masks for a batch with the named strategy. */
export function makeMasks(strategy: MaskStrategyName, options: MaskingOptions, rng: Rng): MaskSet {
  switch (strategy) {
    case 'random':
      return randomMasking(options, rng);
    case 'block':
      return blockMasking(options, rng);
    case 'noise':
      return noiseMasking(options, rng);
    default:
      throw new Error(`mask strategy must be one of ${MASK_STRATEGIES.join(', ')}, got ${String(strategy)}`);
  }
}

/** [B, L] ids_shuffle (the inverse permutation of `restore`): visible first, then masked. */
export function shuffleOrder(masks: MaskSet): Int32Array {
  const { batchSize, numPatches, restore } = masks;
  const shuffle = new Int32Array(batchSize * numPatches);
  for (let b = 0; b < batchSize; b++) {
    for (let l = 0; l < numPatches; l++) shuffle[b * numPatches + restore[b * numPatches + l]!] = l;
  }
  return shuffle;
}
