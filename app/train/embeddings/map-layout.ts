/**
 * The embedding map's layout at any size. umap-js keeps about 70 KB per image (20 000 images:
 * 86 s and 1.4 GB), so a large set is laid out in three seeded steps: the unit rows, centred, are
 * projected onto their leading principal subspace (`DEFAULT_LAYOUT.dimensions` directions found
 * by subspace iteration from a seeded Gaussian start); UMAP is fitted on a seeded subsample of at
 * most `DEFAULT_LAYOUT.fitLimit` rows of that; every other row is placed at the distance-weighted
 * mean of its nearest fitted rows' positions (cosine distance in the subspace, through the TF.js
 * backend's matMul). The same rows and seed give the same map; a set within the limit is fitted
 * whole, exactly as before.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../mae/rng';
import type { Matrix } from './npy';
import { projectRows } from './projection';

/** Defaults of the layout of a large set. */
export const DEFAULT_LAYOUT = {
  /** At most this many rows are fitted by UMAP; the rest are placed by their nearest fitted rows. */
  fitLimit: 10_000,
  /** Principal directions kept before fitting (wider rows are projected onto them). */
  dimensions: 40,
  /** Rounds of subspace iteration (each one multiplication by XᵀX). */
  powerRounds: 4,
  /** Fitted neighbours whose positions place a row. */
  placeNeighbours: 10,
  /** Rows placed per matMul block (a [block, fitted] similarity matrix in memory at once). */
  placeBlock: 1024,
};

/** Options of one layout. */
export interface LayoutOptions {
  seed: number;
  signal?: AbortSignal;
  /** Steps done of the total: UMAP's epochs, then one step per block of placed rows. */
  onProgress?: (done: number, total: number) => void;
  /** Overrides of `DEFAULT_LAYOUT` (tests use small ones). */
  settings?: Partial<typeof DEFAULT_LAYOUT>;
}

/** A layout: [x0, y0, …] in [-1, 1] in row order, and how many rows UMAP itself fitted. */
export interface Layout {
  points: Float32Array;
  fitted: number;
}

/** Separate Rng streams (from the map's 31) for the subsample and the subspace start. */
const SAMPLE_STREAM = 32;
const SUBSPACE_STREAM = 33;

/** Rows scaled to unit length, in place; returns `values`. */
function normaliseInPlace(values: Float32Array, width: number): Float32Array {
  for (let start = 0; start < values.length; start += width) {
    let sum = 0;
    for (let d = 0; d < width; d++) sum += values[start + d]! ** 2;
    const scale = sum > 0 ? 1 / Math.sqrt(sum) : 1;
    for (let d = 0; d < width; d++) values[start + d]! *= scale;
  }
  return values;
}

/** Orthonormal columns of a [rows, columns] matrix (modified Gram–Schmidt, in place). */
function orthonormalColumns(values: Float32Array, rows: number, columns: number): Float32Array {
  for (let c = 0; c < columns; c++) {
    for (let p = 0; p < c; p++) {
      let dot = 0;
      for (let r = 0; r < rows; r++) dot += values[r * columns + c]! * values[r * columns + p]!;
      for (let r = 0; r < rows; r++) values[r * columns + c]! -= dot * values[r * columns + p]!;
    }
    let norm = 0;
    for (let r = 0; r < rows; r++) norm += values[r * columns + c]! ** 2;
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let r = 0; r < rows; r++) values[r * columns + c]! *= scale;
  }
  return values;
}

/**
 * The unit rows, centred on the mean of the `sample` rows and projected onto the sample's leading
 * `dimensions` principal directions: [rows, dimensions], each row scaled to unit length again.
 */
export function principalRows(unit: Matrix, sample: readonly number[], dimensions: number, seed: number, rounds = 4) {
  const { rows, columns } = unit;
  const mean = new Float32Array(columns);
  for (const row of sample) for (let d = 0; d < columns; d++) mean[d]! += unit.values[row * columns + d]!;
  for (let d = 0; d < columns; d++) mean[d]! /= sample.length;
  const rng = Rng.fromSeed(seed, SUBSPACE_STREAM);
  const start = orthonormalColumns(
    Float32Array.from({ length: columns * dimensions }, () => rng.normal()),
    columns,
    dimensions,
  );
  const centredSample = new Float32Array(sample.length * columns);
  sample.forEach((row, i) => {
    for (let d = 0; d < columns; d++) centredSample[i * columns + d] = unit.values[row * columns + d]! - mean[d]!;
  });
  let basis = start;
  const x = tf.tensor2d(centredSample, [sample.length, columns]);
  try {
    for (let round = 0; round < rounds; round++) {
      const next = tf.tidy(() => tf.matMul(x, tf.matMul(x, tf.tensor2d(basis, [columns, dimensions])), true, false));
      basis = orthonormalColumns(next.dataSync() as Float32Array, columns, dimensions);
      next.dispose();
    }
  } finally {
    x.dispose();
  }
  const out = new Float32Array(rows * dimensions);
  const block = 8192;
  const q = tf.tensor2d(basis, [columns, dimensions]);
  const centre = tf.tensor1d(mean);
  try {
    for (let from = 0; from < rows; from += block) {
      const size = Math.min(block, rows - from);
      const part = tf.tidy(() =>
        tf.matMul(
          tf.sub(tf.tensor2d(unit.values.subarray(from * columns, (from + size) * columns), [size, columns]), centre),
          q,
        ),
      );
      out.set(part.dataSync(), from * dimensions);
      part.dispose();
    }
  } finally {
    q.dispose();
    centre.dispose();
  }
  return normaliseInPlace(out, dimensions);
}

/** The seeded subsample UMAP fits: `limit` distinct rows, ascending. */
export function fitSample(rows: number, limit: number, seed: number): number[] {
  const all = Array.from({ length: rows }, (_, i) => i);
  if (rows <= limit) return all;
  return Rng.fromSeed(seed, SAMPLE_STREAM)
    .shuffle(all)
    .slice(0, limit)
    .sort((a, b) => a - b);
}

/**
 * Places each of `rows` (unit rows of `reduced`, width `width`) at the weighted mean of its `k`
 * nearest fitted rows' points (weight 1 / (distance + a small floor)), writing into `points`.
 */
function placeRows(
  reduced: Float32Array,
  width: number,
  fitted: readonly number[],
  rows: readonly number[],
  points: Float32Array,
  k: number,
  block: number,
  step: () => Promise<void>,
): Promise<void> {
  const fittedValues = new Float32Array(fitted.length * width);
  fitted.forEach((row, i) => fittedValues.set(reduced.subarray(row * width, (row + 1) * width), i * width));
  const candidates = tf.tensor2d(fittedValues, [fitted.length, width]);
  const count = Math.min(k, fitted.length);
  const bestSimilarity = new Float64Array(count);
  const bestIndex = new Int32Array(count);
  const run = async () => {
    for (let from = 0; from < rows.length; from += block) {
      const size = Math.min(block, rows.length - from);
      const queries = new Float32Array(size * width);
      for (let b = 0; b < size; b++)
        queries.set(reduced.subarray(rows[from + b]! * width, (rows[from + b]! + 1) * width), b * width);
      const product = tf.tidy(() => tf.matMul(tf.tensor2d(queries, [size, width]), candidates, false, true));
      const similarities = (await product.data()) as Float32Array;
      product.dispose();
      for (let b = 0; b < size; b++) {
        let found = 0;
        let floor = Number.NEGATIVE_INFINITY; // the k-th best so far, once there are k
        const offset = b * fitted.length;
        for (let f = 0; f < fitted.length; f++) {
          const similarity = similarities[offset + f]!;
          if (similarity <= floor) continue;
          let at = found < count ? found++ : count - 1;
          while (at > 0 && bestSimilarity[at - 1]! < similarity) {
            bestSimilarity[at] = bestSimilarity[at - 1]!;
            bestIndex[at] = bestIndex[at - 1]!;
            at--;
          }
          bestSimilarity[at] = similarity;
          bestIndex[at] = f;
          if (found === count) floor = bestSimilarity[count - 1]!;
        }
        let x = 0;
        let y = 0;
        let total = 0;
        for (let n = 0; n < found; n++) {
          const weight = 1 / (Math.max(0, 1 - bestSimilarity[n]!) + 1e-6);
          const point = fitted[bestIndex[n]!]!;
          x += weight * points[point * 2]!;
          y += weight * points[point * 2 + 1]!;
          total += weight;
        }
        const row = rows[from + b]!;
        points[row * 2] = x / total;
        points[row * 2 + 1] = y / total;
      }
      await step();
    }
  };
  return run().finally(() => candidates.dispose());
}

/** Centres the points on their mean and scales the farthest coordinate to ±1, in place. */
function renormalise(points: Float32Array): Float32Array {
  const n = points.length / 2;
  let meanX = 0;
  let meanY = 0;
  for (let i = 0; i < n; i++) {
    meanX += points[i * 2]! / n;
    meanY += points[i * 2 + 1]! / n;
  }
  let extent = 0;
  for (let i = 0; i < n; i++)
    extent = Math.max(extent, Math.abs(points[i * 2]! - meanX), Math.abs(points[i * 2 + 1]! - meanY));
  const scale = extent > 0 ? 1 / extent : 1;
  for (let i = 0; i < n; i++) {
    points[i * 2] = (points[i * 2]! - meanX) * scale;
    points[i * 2 + 1] = (points[i * 2 + 1]! - meanY) * scale;
  }
  return points;
}

/** The map of `matrix`'s rows; a set within the fit limit is `projectRows` of it, unchanged. */
export async function layoutRows(matrix: Matrix, options: LayoutOptions): Promise<Layout> {
  const settings = { ...DEFAULT_LAYOUT, ...options.settings };
  if (matrix.rows <= settings.fitLimit) {
    const points = await projectRows(matrix, {
      seed: options.seed,
      ...(options.signal && { signal: options.signal }),
      ...(options.onProgress && { onProgress: options.onProgress }),
    });
    return { points, fitted: matrix.rows };
  }
  const unit: Matrix = {
    rows: matrix.rows,
    columns: matrix.columns,
    values: normaliseInPlace(Float32Array.from(matrix.values), matrix.columns),
  };
  const sample = fitSample(matrix.rows, settings.fitLimit, options.seed);
  const width = Math.min(settings.dimensions, matrix.columns);
  const reduced =
    matrix.columns > settings.dimensions
      ? principalRows(unit, sample, width, options.seed, settings.powerRounds)
      : unit.values;
  options.signal?.throwIfAborted();
  const sampled = new Float32Array(sample.length * width);
  sample.forEach((row, i) => sampled.set(reduced.subarray(row * width, (row + 1) * width), i * width));
  const rest = Array.from({ length: matrix.rows }, (_, i) => i).filter((_, i) => !inSample(sample, i));
  const blocks = Math.ceil(rest.length / settings.placeBlock);
  let epochs = 0;
  const fittedPoints = await projectRows(
    { rows: sample.length, columns: width, values: sampled },
    {
      seed: options.seed,
      ...(options.signal && { signal: options.signal }),
      onProgress: (done, total) => {
        epochs = total;
        options.onProgress?.(done, total + blocks);
      },
    },
  );
  const points = new Float32Array(matrix.rows * 2);
  sample.forEach((row, i) => {
    points[row * 2] = fittedPoints[i * 2]!;
    points[row * 2 + 1] = fittedPoints[i * 2 + 1]!;
  });
  let placed = 0;
  await placeRows(reduced, width, sample, rest, points, settings.placeNeighbours, settings.placeBlock, async () => {
    placed += 1;
    options.onProgress?.(epochs + placed, epochs + blocks);
    await new Promise<void>((resolve) => setImmediate(resolve));
    options.signal?.throwIfAborted();
  });
  return { points: renormalise(points), fitted: sample.length };
}

/** Whether ascending `sample` holds `row` (binary search). */
function inSample(sample: readonly number[], row: number): boolean {
  let low = 0;
  let high = sample.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (sample[middle] === row) return true;
    if (sample[middle]! < row) low = middle + 1;
    else high = middle - 1;
  }
  return false;
}
