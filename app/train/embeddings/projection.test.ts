/**
 * The map's projection: deterministic for a seed (the same map every time a user opens it), and a
 * real UMAP — images of one cluster land together, apart from the other clusters.
 */
import { describe, expect, it } from 'vitest';
import type { Matrix } from './npy';
import { normalisePoints, projectRows, seededRandom } from './projection';

/** `clusters` groups of `each` rows around random centres in `columns` dimensions (seeded). */
function clustered(clusters: number, each: number, columns: number, seed: number): Matrix {
  const random = seededRandom(seed);
  const centres = Array.from({ length: clusters }, () => Array.from({ length: columns }, () => random() * 2 - 1));
  const values = new Float32Array(clusters * each * columns);
  for (let c = 0; c < clusters; c++) {
    for (let i = 0; i < each; i++) {
      for (let d = 0; d < columns; d++) values[(c * each + i) * columns + d] = centres[c]![d]! + (random() - 0.5) * 0.2;
    }
  }
  return { rows: clusters * each, columns, values };
}

describe('the embedding map projection', () => {
  const matrix = clustered(3, 20, 16, 7);

  it('gives the same coordinates for the same seed, and another map for another seed', async () => {
    const first = await projectRows(matrix, { seed: 42 });
    const again = await projectRows(matrix, { seed: 42 });
    const other = await projectRows(matrix, { seed: 43 });
    expect(first).toHaveLength(matrix.rows * 2);
    expect(Array.from(again)).toEqual(Array.from(first));
    expect(Array.from(other)).not.toEqual(Array.from(first));
  }, 30_000);

  it('keeps each cluster together, inside [-1, 1]', async () => {
    const points = await projectRows(matrix, { seed: 1 });
    expect(Math.max(...Array.from(points, Math.abs))).toBeCloseTo(1, 5);
    const at = (i: number) => [points[i * 2]!, points[i * 2 + 1]!] as const;
    const cluster = (i: number) => Math.floor(i / 20);
    // Every point's nearest other point on the map belongs to its own cluster.
    let own = 0;
    for (let i = 0; i < matrix.rows; i++) {
      let best = -1;
      let bestDistance = Infinity;
      for (let j = 0; j < matrix.rows; j++) {
        if (j === i) continue;
        const distance = Math.hypot(at(i)[0] - at(j)[0], at(i)[1] - at(j)[1]);
        if (distance < bestDistance) [best, bestDistance] = [j, distance];
      }
      if (cluster(best) === cluster(i)) own++;
    }
    expect(own).toBe(matrix.rows);
  }, 30_000);

  it('lays out fewer than four images on a line, and stops when asked', async () => {
    expect(Array.from(await projectRows({ rows: 3, columns: 2, values: new Float32Array(6) }, { seed: 0 }))).toEqual([
      -1, 0, 0, 0, 1, 0,
    ]);
    expect(Array.from(normalisePoints([]))).toEqual([]);
    const controller = new AbortController();
    controller.abort();
    await expect(projectRows(matrix, { seed: 0, signal: controller.signal })).rejects.toThrow();
  });
});
