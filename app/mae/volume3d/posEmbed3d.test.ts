import { describe, expect, it } from 'vitest';
import { get1dSincosEmbed, get2dSincosPosEmbed } from '../posEmbed';
import { axisWidth3d, get3dSincosPosEmbed } from './posEmbed3d';

describe('get3dSincosPosEmbed', () => {
  it('encodes column, row and slice in three parts of the 1-D code, cls row zero', () => {
    const dim = 24; // 8 channels per axis, no tail
    const grid = [3, 2, 4] as const;
    const table = get3dSincosPosEmbed(dim, grid, true);
    expect(table.length).toBe((1 + 24) * dim);
    expect(Array.from(table.subarray(0, dim)).every((v) => v === 0)).toBe(true);
    const codes = get1dSincosEmbed(8, 4); // positions 0..3
    for (let z = 0; z < 3; z++)
      for (let y = 0; y < 2; y++)
        for (let x = 0; x < 4; x++) {
          const row = table.subarray((1 + (z * 2 + y) * 4 + x) * dim, (2 + (z * 2 + y) * 4 + x) * dim);
          expect(Array.from(row.subarray(0, 8))).toEqual(Array.from(codes.subarray(x * 8, x * 8 + 8)));
          expect(Array.from(row.subarray(8, 16))).toEqual(Array.from(codes.subarray(y * 8, y * 8 + 8)));
          expect(Array.from(row.subarray(16, 24))).toEqual(Array.from(codes.subarray(z * 8, z * 8 + 8)));
        }
  });

  it('gives every token of a grid a distinct code, and zero tail channels when D is not a multiple of 6', () => {
    const dim = 128; // 42 per axis, 2 zero channels
    expect(axisWidth3d(dim)).toBe(42);
    const grid = [4, 4, 4] as const;
    const table = get3dSincosPosEmbed(dim, grid, false);
    const rows = Array.from({ length: 64 }, (_, l) => Array.from(table.subarray(l * dim, (l + 1) * dim)));
    expect(new Set(rows.map((row) => row.join(','))).size).toBe(64);
    for (const row of rows) expect(row.slice(126)).toEqual([0, 0]);
  });

  it('agrees with the 2-D table on one slice in its column and row parts', () => {
    // The 2-D table of width 2a holds (column, row) in halves of a; the 3-D one of width 3a holds them first.
    const part = 16;
    const flat = get2dSincosPosEmbed(2 * part, 3, false);
    const cube = get3dSincosPosEmbed(3 * part, [1, 3, 3], false);
    for (let l = 0; l < 9; l++) {
      expect(Array.from(cube.subarray(l * 3 * part, l * 3 * part + 2 * part))).toEqual(
        Array.from(flat.subarray(l * 2 * part, (l + 1) * 2 * part)),
      );
    }
  });

  it('refuses a width too small for three axes', () => {
    expect(() => get3dSincosPosEmbed(4, [2, 2, 2], true)).toThrow(/embedDim ≥ 6/);
  });
});
