import { describe, expect, it } from 'vitest';
import { Rng } from '../rng';
import { validateMae3dConfig } from './config3d';
import { randomMasking3d } from './mae3d';
import { TINY_MAE3D } from './mae3d.fixtures';
import { maskPlanes3d, volumePlanes3d } from './planes3d';

describe('three orthogonal planes', () => {
  it('cuts a volume across slices, rows and columns at a voxel', () => {
    const size = [3, 4, 5] as const;
    const values = Float32Array.from({ length: 2 * 60 }, (_, k) => k); // [C=2, D, H, W], value = its index
    const [slice, row, column] = volumePlanes3d(values, size, [1, 2, 3], 1);
    expect([slice.rows, slice.columns, row.rows, row.columns, column.rows, column.columns]).toEqual([4, 5, 3, 5, 3, 4]);
    const at = (z: number, y: number, x: number) => 60 + (z * 4 + y) * 5 + x;
    expect(slice.values[2 * 5 + 4]).toBe(at(1, 2, 4)); // row y=2, column x=4 of slice 1
    expect(row.values[0 * 5 + 1]).toBe(at(0, 2, 1)); // slice 0 on top, column 1, row 2
    expect(column.values[2 * 4 + 3]).toBe(at(2, 3, 3)); // slice 2, row 3, column 3
    expect(() => volumePlanes3d(values, size, [3, 0, 0])).toThrow(/outside the volume 3×4×5/);
  });

  it('shows which patches are masked on each plane, and the planes agree where they cross', () => {
    const config = validateMae3dConfig({ ...TINY_MAE3D, volumeSize: [8, 12, 16], patchSize: [4, 4, 4] }); // 2×3×4
    const masks = randomMasking3d(config, 1, 0.75, Rng.fromSeed(3, 1));
    const at = [5, 6, 9] as const; // patch (1, 1, 2)
    const [slice, row, column] = maskPlanes3d(config, masks.mask, at);
    expect([slice.rows, slice.columns, row.rows, row.columns, column.rows, column.columns]).toEqual([3, 4, 2, 4, 2, 3]);
    const token = (z: number, y: number, x: number) => masks.mask[(z * 3 + y) * 4 + x];
    for (let y = 0; y < 3; y++) for (let x = 0; x < 4; x++) expect(slice.values[y * 4 + x]).toBe(token(1, y, x));
    for (let z = 0; z < 2; z++) for (let x = 0; x < 4; x++) expect(row.values[z * 4 + x]).toBe(token(z, 1, x));
    for (let z = 0; z < 2; z++) for (let y = 0; y < 3; y++) expect(column.values[z * 3 + y]).toBe(token(z, y, 2));
    const total = slice.values.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(0); // 75 % masked: 12 patches of a slice plane are never all visible
    expect(() => maskPlanes3d(config, masks.mask.subarray(0, 10), at)).toThrow(
      /mask holds 10 patches; the 2×3×4 grid has 24/,
    );
  });
});
