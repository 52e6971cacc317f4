import { describe, expect, it } from 'vitest';
import { get2dSincosPosEmbed, interpolatePosEmbed } from './posEmbed';

describe('get2dSincosPosEmbed', () => {
  it('has a zero cls row and encodes column then row as the reference', () => {
    const dim = 8;
    const table = get2dSincosPosEmbed(dim, 3, true);
    expect(table.length).toBe((1 + 9) * dim);
    expect(Array.from(table.subarray(0, dim))).toEqual(new Array(dim).fill(0));
    // patch (row 1, column 2) is token 1 + 1*3 + 2 = 6; quarter width 2, ω = [1, 1/100]
    const row = Array.from(table.subarray(6 * dim, 7 * dim));
    const expected = [
      Math.sin(2),
      Math.sin(0.02),
      Math.cos(2),
      Math.cos(0.02),
      Math.sin(1),
      Math.sin(0.01),
      Math.cos(1),
      Math.cos(0.01),
    ];
    row.forEach((value, i) => expect(value).toBeCloseTo(expected[i]!, 6));
  });
});

describe('interpolatePosEmbed', () => {
  it('returns the table unchanged at the same size', () => {
    const table = get2dSincosPosEmbed(8, 4, true);
    expect(interpolatePosEmbed(table, 8, 1, 4)).toEqual(table);
  });

  it('keeps the cls row and resamples a linear ramp exactly inside (bilinear)', () => {
    const side = 4;
    const table = new Float32Array((1 + side * side) * 1);
    table[0] = 7;
    for (let r = 0; r < side; r++) for (let c = 0; c < side; c++) table[1 + r * side + c] = c; // ramp along columns
    const resized = interpolatePosEmbed(table, 1, 1, 8, 'bilinear');
    expect(resized[0]).toBe(7);
    // output column 3 of 8 maps to input (3.5)·0.5 − 0.5 = 1.25
    expect(resized[1 + 2 * 8 + 3]).toBeCloseTo(1.25, 6);
  });

  it('bicubic preserves a constant field', () => {
    const table = new Float32Array(1 + 9).fill(2);
    const resized = interpolatePosEmbed(table, 1, 1, 5, 'bicubic');
    resized.forEach((value) => expect(value).toBeCloseTo(2, 5));
  });
});
