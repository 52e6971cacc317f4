import { describe, expect, it } from 'vitest';
import { isotropicGrid, isotropicSize } from './volume-resample';
import type { VoxelGrid } from './volume-planes';

/** A 2 × 2 × 3 volume (i, j, k) of 1 × 1 × 3 mm whose value is 10·k + j + i (linear along every axis). */
function linearGrid(): VoxelGrid {
  const [x, y, z] = [2, 2, 3];
  return {
    size: [x, y, z, 1],
    spacing: [1, 1, 3],
    sampleType: 'float32',
    bands: 1,
    read: (index) => {
      const i = index % x;
      const j = Math.floor(index / x) % y;
      const k = Math.floor(index / (x * y)) % z;
      return 10 * k + j + i;
    },
  };
}

describe('isotropic resampling', () => {
  it('sizes a thick-slice volume at its finest spacing (slices, rows, columns)', () => {
    expect(isotropicSize([40, 512, 512], [3, 0.7, 0.7])).toEqual([171, 512, 512]);
    expect(isotropicSize([8, 16, 16], [1, 1, 1])).toEqual([8, 16, 16]);
  });

  it('interpolates between slice centres and repeats the edge slices beyond them', () => {
    const grid = isotropicGrid(linearGrid());
    expect(grid.size).toEqual([2, 2, 9, 1]);
    expect(grid.spacing).toEqual([1, 1, 1]);
    // Output slice k sits at (k + 0.5) / 3 − 0.5 input slices, clamped to [0, 2] (edge slices repeated).
    const at = (i: number, j: number, k: number) => grid.read(i + 2 * (j + 2 * k), 0);
    const expected = [0, 0, 10 / 3, 20 / 3, 10, 40 / 3, 50 / 3, 20, 20];
    expected.forEach((value, k) => expect(at(0, 0, k)).toBeCloseTo(value, 5));
    expect(at(1, 1, 3)).toBeCloseTo(20 / 3 + 2, 5); // + j + i, untouched in plane
  });

  it('returns an isotropic grid as it is', () => {
    const grid = { ...linearGrid(), spacing: [1, 1, 1] as [number, number, number] };
    expect(isotropicGrid(grid)).toBe(grid);
  });
});
