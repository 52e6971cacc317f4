/**
 * The map computed in its worker thread (the `map-worker.js` the unit tests' global setup builds
 * beside the CLI) gives the very numbers of the in-thread projection, reports progress, and a
 * worker that cannot start says so instead of leaving the request hanging.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runProjection } from './map-projection';
import type { Matrix } from './npy';
import { seededRandom } from './projection';

const WORKER = path.resolve(import.meta.dirname, '../../../dist/cli/map-worker.js');

function randomMatrix(rows: number, columns: number, seed: number): Matrix {
  const random = seededRandom(seed);
  return {
    rows,
    columns,
    values: Float32Array.from({ length: rows * columns }, (_, i) => random() + (Math.floor(i / columns) % 2)),
  };
}

describe('the map worker thread', () => {
  it('projects exactly as this thread does, with progress up to the last epoch', async () => {
    const matrix = randomMatrix(40, 12, 9);
    const progress: [number, number][] = [];
    const inWorker = await runProjection(matrix, 4, WORKER, undefined, (done, total) => progress.push([done, total]));
    const here = await runProjection(matrix, 4, null);
    expect(Array.from(inWorker.points)).toEqual(Array.from(here.points));
    expect(inWorker.fitted).toBe(40);
    expect(progress[0]![0]).toBe(0);
    expect(progress.at(-1)![0]).toBe(progress.at(-1)![1]);
  }, 30_000);

  it('fits a subsample of a set over the limit there too, placing the rest as this thread does', async () => {
    const matrix = randomMatrix(90, 16, 3);
    const settings = { fitLimit: 40, dimensions: 6 };
    const inWorker = await runProjection(matrix, 1, WORKER, undefined, undefined, settings);
    const here = await runProjection(matrix, 1, null, undefined, undefined, settings);
    expect(inWorker.fitted).toBe(40);
    // The worker may multiply on another TF.js backend: equal up to float rounding.
    inWorker.points.forEach((value, i) => expect(value).toBeCloseTo(here.points[i]!, 4));
  }, 30_000);

  it('fails with a clear error when the worker cannot run', async () => {
    await expect(
      runProjection(randomMatrix(10, 4, 1), 0, path.join(import.meta.dirname, 'no-such-worker.js')),
    ).rejects.toThrow(/embedding map could not be computed/);
  });
});
