/**
 * The map of a set larger than the fit limit: UMAP fitted on a seeded subsample, the rest placed
 * by their nearest fitted rows — still the same map for the same seed, and still a map where
 * every image lies among its own cluster, fitted or placed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { preferNativeBackend } from './compute';
import { fitSample, layoutRows } from './map-layout';
import type { Matrix } from './npy';
import { seededRandom } from './projection';

/** `clusters` groups of `each` rows (interleaved: row r is in cluster r mod clusters) in `columns` dimensions. */
function clustered(clusters: number, each: number, columns: number, seed: number): Matrix {
  const random = seededRandom(seed);
  const centres = Array.from({ length: clusters }, () => Array.from({ length: columns }, () => random() * 2 - 1));
  const rows = clusters * each;
  const values = new Float32Array(rows * columns);
  for (let r = 0; r < rows; r++)
    for (let d = 0; d < columns; d++) values[r * columns + d] = centres[r % clusters]![d]! + (random() - 0.5) * 0.3;
  return { rows, columns, values };
}

const SMALL = { fitLimit: 60, dimensions: 8, placeBlock: 32 };

beforeAll(() => preferNativeBackend());

describe('the layout of a large set', () => {
  const matrix = clustered(4, 45, 24, 3);

  it('fits a seeded subsample, the same one for the same seed', () => {
    expect(fitSample(180, 60, 5)).toEqual(fitSample(180, 60, 5));
    expect(fitSample(180, 60, 5)).not.toEqual(fitSample(180, 60, 6));
    expect(new Set(fitSample(180, 60, 5)).size).toBe(60);
    expect(fitSample(50, 60, 5)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('says how many rows UMAP fitted and gives the same map for the same seed', async () => {
    const progress: [number, number][] = [];
    const first = await layoutRows(matrix, {
      seed: 2,
      settings: SMALL,
      onProgress: (done, total) => progress.push([done, total]),
    });
    const again = await layoutRows(matrix, { seed: 2, settings: SMALL });
    expect(first.fitted).toBe(60);
    expect(first.points).toHaveLength(matrix.rows * 2);
    expect(Array.from(again.points)).toEqual(Array.from(first.points));
    // Epochs, then the placement's four blocks of 32 of the other 120 rows: the last step is the total.
    expect(progress.at(-1)).toEqual([progress.at(-1)![1], progress.at(-1)![1]]);
    expect(progress.at(-1)![1]).toBe(progress[0]![1]);
    expect(Math.max(...Array.from(first.points, Math.abs))).toBeCloseTo(1, 5);
  }, 30_000);

  it('puts every placed row among its own cluster', async () => {
    const { points } = await layoutRows(matrix, { seed: 1, settings: SMALL });
    const fitted = new Set(fitSample(matrix.rows, SMALL.fitLimit, 1));
    let own = 0;
    let placed = 0;
    for (let i = 0; i < matrix.rows; i++) {
      if (fitted.has(i)) continue;
      placed += 1;
      let nearest = -1;
      let best = Number.POSITIVE_INFINITY;
      for (const j of fitted) {
        const d = (points[i * 2]! - points[j * 2]!) ** 2 + (points[i * 2 + 1]! - points[j * 2 + 1]!) ** 2;
        if (d < best) [best, nearest] = [d, j];
      }
      if (nearest % 4 === i % 4) own += 1;
    }
    expect(placed).toBe(120);
    expect(own).toBe(placed);
  }, 30_000);

  it('stops when asked', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(layoutRows(matrix, { seed: 1, settings: SMALL, signal: controller.signal })).rejects.toThrow();
  });
});
