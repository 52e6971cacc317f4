/**
 * Position embeddings: the fixed 2-D sin-cos table of the MAE reference (`util/pos_embed.py`)
 * and resampling of a learned table when the image size changes.
 */

/**
 * 1-D sin-cos embedding of `positions` in `dim` channels: [sin(pos·ω_k) ‥, cos(pos·ω_k) ‥],
 * ω_k = 1 / 10000^(k / (dim/2)). Computed in float64, returned as float32 like the reference.
 */
export function sincos1d(dim: number, position: number, out: Float32Array, offset: number): void {
  const half = dim / 2;
  for (let k = 0; k < half; k++) {
    const omega = 1 / 10000 ** (k / half);
    out[offset + k] = Math.sin(position * omega);
    out[offset + half + k] = Math.cos(position * omega);
  }
}

/**
 * The fixed 1-D sin-cos table of positions 0..count−1 in `dim` channels: [count, dim] flattened
 * (SatMAE's group encoding).
 */
export function get1dSincosEmbed(dim: number, count: number): Float32Array {
  if (dim % 2 !== 0) throw new Error(`sin-cos embedding needs an even width, got ${dim}`);
  const table = new Float32Array(count * dim);
  for (let position = 0; position < count; position++) sincos1d(dim, position, table, position * dim);
  return table;
}

/**
 * The fixed 2-D sin-cos table for a `gridSide`×`gridSide` patch grid, row-major over patches,
 * with a zero row first for the cls token when `clsToken`. Channel layout as the reference:
 * the first half encodes the column (its `grid[0]` comes from `meshgrid(w, h)`), the second
 * half the row. Returns [(clsToken ? 1 : 0) + gridSide², embedDim] flattened.
 */
export function get2dSincosPosEmbed(embedDim: number, gridSide: number, clsToken: boolean): Float32Array {
  if (embedDim % 4 !== 0) throw new Error(`sin-cos embedding needs embedDim divisible by 4, got ${embedDim}`);
  const first = clsToken ? 1 : 0;
  const table = new Float32Array((first + gridSide * gridSide) * embedDim); // cls row stays zero
  for (let row = 0; row < gridSide; row++) {
    for (let column = 0; column < gridSide; column++) {
      const offset = (first + row * gridSide + column) * embedDim;
      sincos1d(embedDim / 2, column, table, offset);
      sincos1d(embedDim / 2, row, table, offset + embedDim / 2);
    }
  }
  return table;
}

/** Cubic convolution weight (Keys, a = −0.75 as PyTorch's bicubic). */
function cubicWeight(distance: number): number {
  const a = -0.75;
  const x = Math.abs(distance);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

/** Taps and weights mapping `outSize` samples onto `inSize` (align_corners = false, edge clamp). */
function resampleTaps(
  inSize: number,
  outSize: number,
  mode: 'bilinear' | 'bicubic',
): { index: number[]; weight: number[] }[] {
  const scale = inSize / outSize;
  const taps: { index: number[]; weight: number[] }[] = [];
  for (let o = 0; o < outSize; o++) {
    const centre = (o + 0.5) * scale - 0.5;
    const source = mode === 'bilinear' ? Math.max(0, centre) : centre; // PyTorch clamps only linear
    const base = Math.floor(source);
    const fraction = source - base;
    const offsets = mode === 'bicubic' ? [-1, 0, 1, 2] : [0, 1];
    const index = offsets.map((d) => Math.min(inSize - 1, Math.max(0, base + d)));
    const weight = mode === 'bicubic' ? offsets.map((d) => cubicWeight(d - fraction)) : [1 - fraction, fraction];
    taps.push({ index, weight });
  }
  return taps;
}

/**
 * Resamples a learned position table [extra + oldSide², D] (extra = cls and other prefix
 * tokens, copied unchanged) to [extra + newSide², D], as the reference `interpolate_pos_embed`
 * does for fine-tuning at a new resolution (bicubic, align_corners = false).
 * For the fixed sin-cos table, regenerate with `get2dSincosPosEmbed` instead: it is exact.
 */
export function interpolatePosEmbed(
  table: Float32Array,
  embedDim: number,
  extraTokens: number,
  newSide: number,
  mode: 'bilinear' | 'bicubic' = 'bicubic',
): Float32Array {
  const oldCount = table.length / embedDim - extraTokens;
  const oldSide = Math.round(Math.sqrt(oldCount));
  if (!Number.isInteger(oldCount) || oldSide * oldSide !== oldCount) {
    throw new Error(
      `position table must hold ${extraTokens} extra rows and a square grid, got ${table.length / embedDim} rows`,
    );
  }
  if (!Number.isInteger(newSide) || newSide < 1) throw new Error(`newSide must be a positive integer, got ${newSide}`);
  const out = new Float32Array((extraTokens + newSide * newSide) * embedDim);
  out.set(table.subarray(0, extraTokens * embedDim));
  if (oldSide === newSide) {
    out.set(table.subarray(extraTokens * embedDim), extraTokens * embedDim);
    return out;
  }
  const taps = resampleTaps(oldSide, newSide, mode);
  const rowPass = new Float64Array(newSide * oldSide * embedDim); // [newRow, oldColumn, D]
  for (let r = 0; r < newSide; r++) {
    const tap = taps[r]!;
    for (let c = 0; c < oldSide; c++) {
      for (let t = 0; t < tap.index.length; t++) {
        const source = (extraTokens + tap.index[t]! * oldSide + c) * embedDim;
        const target = (r * oldSide + c) * embedDim;
        const w = tap.weight[t]!;
        for (let d = 0; d < embedDim; d++) rowPass[target + d]! += w * table[source + d]!;
      }
    }
  }
  for (let r = 0; r < newSide; r++) {
    for (let c = 0; c < newSide; c++) {
      const tap = taps[c]!;
      const target = (extraTokens + r * newSide + c) * embedDim;
      for (let t = 0; t < tap.index.length; t++) {
        const source = (r * oldSide + tap.index[t]!) * embedDim;
        const w = tap.weight[t]!;
        for (let d = 0; d < embedDim; d++) out[target + d]! += w * rowPass[source + d]!;
      }
    }
  }
  return out;
}
