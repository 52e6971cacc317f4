/**
 * The studio's three mask strategies on a 3-D token grid (D′, H′, W′), each the 2-D strategy of
 * masking.ts with the third axis added, and each masking exactly L − round(L·(1 − ratio))
 * tokens per volume:
 *  - `random`: the paper's per-sample random masking (`randomMasking3d`);
 *  - `block`: BEiT-style blocks become cuboids — a random volume of tokens, two aspect ratios
 *    (depth : height and width : height) in [0.3, 1/0.3] — until the target, then topped up or
 *    trimmed with random single tokens;
 *  - `noise`: ColorMAE's filtered noise with a separable 3-D Gaussian (red low-pass, blue
 *    high-pass, green band-pass), the highest-scoring tokens masked.
 */
import {
  DEFAULT_MASKING,
  keepCount,
  masksFromScores,
  type MaskSet,
  type MaskStrategyName,
  type NoiseColor,
} from '../masking';
import type { Rng } from '../rng';
import { gridSize3d, type Mae3dConfig, type Size3d } from './config3d';
import { randomMasking3d } from './mae3d';

/** Strategy options beyond the ratio (as masking.ts `MaskingOptions`). */
export interface Masking3dOptions {
  /** `block`: smallest block tried, in tokens. */
  minBlockPatches?: number;
  /** `noise`: which filtered noise ranks the tokens. */
  noiseColor?: NoiseColor;
}

/** One cuboid attempt: masks up to `budget` new tokens of `grid`; returns how many it added. */
function maskOneCuboid(grid: Uint8Array, size: Size3d, budget: number, minTokens: number, rng: Rng): number {
  const [slices, rows, columns] = size;
  const logAspect = [Math.log(DEFAULT_MASKING.blockAspect), Math.log(1 / DEFAULT_MASKING.blockAspect)] as const;
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = rng.uniformIn(Math.min(minTokens, budget), budget);
    const depthAspect = Math.exp(rng.uniformIn(logAspect[0], logAspect[1]));
    const widthAspect = Math.exp(rng.uniformIn(logAspect[0], logAspect[1]));
    const edge = Math.cbrt(target / (depthAspect * widthAspect));
    const extent = [Math.round(edge * depthAspect), Math.round(edge), Math.round(edge * widthAspect)];
    if (extent.some((e, axis) => e < 1 || e > size[axis]!)) continue;
    const [d, h, w] = extent as [number, number, number];
    const [z0, y0, x0] = [rng.int(slices - d + 1), rng.int(rows - h + 1), rng.int(columns - w + 1)];
    const cells: number[] = [];
    for (let z = z0; z < z0 + d; z++)
      for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) cells.push((z * rows + y) * columns + x);
    const fresh = cells.filter((cell) => grid[cell] === 0).length;
    if (fresh === 0 || fresh > budget) continue;
    for (const cell of cells) grid[cell] = 1;
    return fresh;
  }
  return 0;
}

/** Cuboid block masking over the 3-D token grid (see the file comment). */
export function blockMasking3d(
  config: Pick<Mae3dConfig, 'volumeSize' | 'patchSize'>,
  batchSize: number,
  maskRatio: number,
  rng: Rng,
  minBlockPatches: number = DEFAULT_MASKING.minBlockPatches,
): MaskSet {
  const size = gridSize3d(config);
  const numPatches = size[0] * size[1] * size[2];
  const numKeep = keepCount(numPatches, maskRatio);
  const target = numPatches - numKeep;
  const scores: Float64Array[] = [];
  for (let b = 0; b < batchSize; b++) {
    const grid = new Uint8Array(numPatches);
    let count = 0;
    for (let stalls = 0; count < target && stalls < 20; ) {
      const added = maskOneCuboid(grid, size, target - count, minBlockPatches, rng);
      count += added;
      stalls = added === 0 ? stalls + 1 : 0;
    }
    scores.push(Float64Array.from(grid, (masked) => masked + rng.uniform())); // masked tokens sort last
  }
  return masksFromScores(scores, numPatches, numKeep);
}

/** Separable Gaussian blur of a [D′, H′, W′] field along each axis, edges clamped. */
function blur3d(field: Float64Array, size: Size3d, sigma: number): Float64Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const total = kernel.reduce((a, b) => a + b, 0);
  const strides = [size[1] * size[2], size[2], 1];
  let current = field;
  for (let axis = 0; axis < 3; axis++) {
    const next = new Float64Array(current.length);
    const extent = size[axis]!;
    const stride = strides[axis]!;
    for (let index = 0; index < current.length; index++) {
      const position = Math.floor(index / stride) % extent;
      let sum = 0;
      for (let k = -radius; k <= radius; k++) {
        const moved = Math.min(extent - 1, Math.max(0, position + k));
        sum += kernel[k + radius]! * current[index + (moved - position) * stride]!;
      }
      next[index] = sum / total;
    }
    current = next;
  }
  return current;
}

/** ColorMAE-style filtered-noise masking over the 3-D token grid (see the file comment). */
export function noiseMasking3d(
  config: Pick<Mae3dConfig, 'volumeSize' | 'patchSize'>,
  batchSize: number,
  maskRatio: number,
  rng: Rng,
  color: NoiseColor = DEFAULT_MASKING.noiseColor,
): MaskSet {
  const size = gridSize3d(config);
  const numPatches = size[0] * size[1] * size[2];
  const numKeep = keepCount(numPatches, maskRatio);
  const [sigmaLow, sigmaHigh] = DEFAULT_MASKING.noiseSigmas;
  const scores: Float64Array[] = [];
  for (let b = 0; b < batchSize; b++) {
    const white = Float64Array.from({ length: numPatches }, () => rng.normal());
    const low = blur3d(white, size, sigmaLow);
    if (color === 'red') scores.push(low);
    else if (color === 'blue') scores.push(white.map((v, i) => v - low[i]!));
    else {
      const lower = blur3d(white, size, sigmaHigh);
      scores.push(low.map((v, i) => v - lower[i]!));
    }
  }
  return masksFromScores(scores, numPatches, numKeep);
}

/** Masks for a batch of volumes with the named strategy (the studio's `MaskStrategy` names). */
export function makeMasks3d(
  strategy: MaskStrategyName,
  config: Mae3dConfig,
  batchSize: number,
  maskRatio: number,
  rng: Rng,
  options: Masking3dOptions = {},
): MaskSet {
  switch (strategy) {
    case 'random':
      return randomMasking3d(config, batchSize, maskRatio, rng);
    case 'block':
      return blockMasking3d(config, batchSize, maskRatio, rng, options.minBlockPatches);
    case 'noise':
      return noiseMasking3d(config, batchSize, maskRatio, rng, options.noiseColor);
    default:
      throw new Error(`3-D mask strategy must be random, block or noise, got ${String(strategy)}`);
  }
}
