/**
 * The fixed 3-D sin-cos position table of the 3-D MAE. Each token's D channels are split in
 * three equal even parts of a = 2·⌊D/6⌋ channels, each the 1-D sin-cos code of one coordinate,
 * in the 2-D reference's order extended by the slice:
 *   channels [0, a)    the column x  (the 2-D table's first half),
 *   channels [a, 2a)   the row y     (the 2-D table's second half),
 *   channels [2a, 3a)  the slice z,
 *   channels [3a, D)   zero (0, 2 or 4 channels when D is not a multiple of 6).
 * Inside each part: [sin(pos·ω_k) ‥, cos(pos·ω_k) ‥], ω_k = 1 / 10000^(k / (a/2)), as the
 * reference's 1-D code. Rows follow the patch order of `patchify3d`, with a zero cls row first.
 */
import type { Size3d } from './config3d';

/** Channels per axis: the largest even width with three of them fitting in `embedDim`. */
export function axisWidth3d(embedDim: number): number {
  return 2 * Math.floor(embedDim / 6);
}

function sincos1d(dim: number, position: number, out: Float32Array, offset: number): void {
  const half = dim / 2;
  for (let k = 0; k < half; k++) {
    const omega = 1 / 10000 ** (k / half);
    out[offset + k] = Math.sin(position * omega);
    out[offset + half + k] = Math.cos(position * omega);
  }
}

/**
 * The table for a (D', H', W') grid: [(clsToken ? 1 : 0) + D'·H'·W', embedDim] flattened,
 * computed in float64 and stored as float32 like the 2-D one.
 */
export function get3dSincosPosEmbed(embedDim: number, grid: Size3d, clsToken: boolean): Float32Array {
  const part = axisWidth3d(embedDim);
  if (part < 2) throw new Error(`3-D sin-cos embedding needs embedDim ≥ 6, got ${embedDim}`);
  const [slices, rows, columns] = grid;
  const first = clsToken ? 1 : 0;
  const table = new Float32Array((first + slices * rows * columns) * embedDim); // cls row and the tail stay zero
  for (let z = 0; z < slices; z++) {
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < columns; x++) {
        const offset = (first + (z * rows + y) * columns + x) * embedDim;
        sincos1d(part, x, table, offset);
        sincos1d(part, y, table, offset + part);
        sincos1d(part, z, table, offset + 2 * part);
      }
    }
  }
  return table;
}
