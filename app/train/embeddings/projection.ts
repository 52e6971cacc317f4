/**
 * The embedding map's projection: UMAP (umap-js) of the unit-length embedding rows down to two
 * dimensions, seeded so the same set and seed always give the same map. Runs epoch by epoch and
 * yields between chunks, so it can run on a busy thread; the studio runs it in a worker thread
 * (`map-worker.ts`) where one is built. Coordinates come back centred and scaled into [-1, 1].
 */
import { UMAP } from 'umap-js';
import { Rng } from '../../mae/rng';
import type { Matrix } from './npy';

/** UMAP's settings for the map: its usual defaults (15 neighbours, minimum distance 0.1). */
export const DEFAULT_PROJECTION = {
  neighbours: 15,
  minDistance: 0.1,
  /** Epochs between yields to the event loop (and checks of the abort signal). */
  epochsPerChunk: 10,
} as const;

/** Options of one projection. */
export interface ProjectionOptions {
  seed: number;
  signal?: AbortSignal;
  /** Called once the neighbours are found (0 done), then between chunks with the epochs done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** The Rng stream of map layouts (apart from masks, augmentation and the split drawn from the same seed). */
const MAP_STREAM = 31;

/** A seeded uniform generator in [0, 1) from the project's one PRNG (`mae/rng.ts`): same seed, same sequence. */
export function seededRandom(seed: number): () => number {
  const rng = Rng.fromSeed(seed, MAP_STREAM);
  return () => rng.uniform();
}

/** Each row scaled to unit length (so UMAP's Euclidean distance orders pairs as cosine distance does). */
function unitVectors(matrix: Matrix): number[][] {
  const rows: number[][] = [];
  for (let r = 0; r < matrix.rows; r++) {
    const row = Array.from(matrix.values.subarray(r * matrix.columns, (r + 1) * matrix.columns));
    const norm = Math.hypot(...row) || 1;
    rows.push(row.map((value) => value / norm));
  }
  return rows;
}

/** Points centred on their mean and scaled so the farthest coordinate is ±1; interleaved x, y. */
export function normalisePoints(points: readonly (readonly number[])[]): Float32Array {
  const out = new Float32Array(points.length * 2);
  if (points.length === 0) return out;
  let meanX = 0;
  let meanY = 0;
  for (const [x, y] of points) {
    meanX += x! / points.length;
    meanY += y! / points.length;
  }
  let extent = 0;
  for (const [x, y] of points) extent = Math.max(extent, Math.abs(x! - meanX), Math.abs(y! - meanY));
  const scale = extent > 0 ? 1 / extent : 1;
  points.forEach(([x, y], i) => {
    out[i * 2] = (x! - meanX) * scale;
    out[i * 2 + 1] = (y! - meanY) * scale;
  });
  return out;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The 2-D map of `matrix`'s rows: [x0, y0, x1, y1, …] in [-1, 1]. Fewer than four rows have no
 * neighbourhoods to speak of: they are laid out on a line in row order.
 */
export async function projectRows(matrix: Matrix, options: ProjectionOptions): Promise<Float32Array> {
  if (matrix.rows < 4) return normalisePoints(Array.from({ length: matrix.rows }, (_, i) => [i, 0]));
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.min(DEFAULT_PROJECTION.neighbours, matrix.rows - 1),
    minDist: DEFAULT_PROJECTION.minDistance,
    random: seededRandom(options.seed),
  });
  const epochs = umap.initializeFit(unitVectors(matrix));
  options.onProgress?.(0, epochs);
  for (let done = 0; done < epochs; ) {
    options.signal?.throwIfAborted();
    const end = Math.min(epochs, done + DEFAULT_PROJECTION.epochsPerChunk);
    for (; done < end; done++) umap.step();
    options.onProgress?.(done, epochs);
    await nextTurn();
  }
  return normalisePoints(umap.getEmbedding());
}
