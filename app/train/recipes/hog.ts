/**
 * Histograms of oriented gradients per patch, the feature target of FG-MAE (Wang et al. 2023,
 * "Feature Guided Masked Autoencoder for Self-supervised Learning in Remote Sensing"): for
 * multispectral and SAR images the decoder regresses each masked patch's HOG instead of (or
 * besides) its pixels, which speckle and noise make a poor target.
 *
 * Each channel on its own, as `skimage.feature.hog(channel, orientations=9,
 * pixels_per_cell=(s, s), cells_per_block=(1, 1), block_norm='L2', feature_vector=False)`
 * computes it (the tests hold it to numbers made by that function): gradients by central
 * differences inside the image and 0 on its border rows and columns; unsigned orientation
 * atan2(g_row, g_col) in [0°, 180°) split into 9 bins of 20°; per cell, the magnitudes falling
 * in each bin summed and divided by the cell's pixel count; each cell's 9 values then divided by
 * √(Σ v² + 1e-10). FG-MAE's own code takes its HOG from MaskFeat (Sobel gradients, a Gaussian
 * window, no per-cell norm by default); we keep the classic, independently checkable form.
 * Cells are half a patch (2 × 2 cells per patch, FG-MAE's 8-pixel cells at patch 16); a patch of
 * odd side is one cell.
 */

/** Orientation bins (Dalal & Triggs, FG-MAE). */
export const HOG_BINS = 9;

/** Cells along a patch's side: two when the side is even, else one. */
export function hogCellsPerSide(patchSize: number): number {
  return patchSize % 2 === 0 ? 2 : 1;
}

/** HOG values per patch for `channels` channels: C · cells² · 9. */
export function hogWidth(channels: number, patchSize: number): number {
  return channels * hogCellsPerSide(patchSize) ** 2 * HOG_BINS;
}

/**
 * HOG of planar images [B, C, H, W] per patch: [B, L, C · cells² · 9] with L = (H/p)·(W/p) in
 * row-major patch order and, inside a patch, values ordered (channel, cell row, cell column, bin).
 */
export function hogPerPatch(
  images: Float32Array,
  shape: { batchSize: number; channels: number; height: number; width: number },
  patchSize: number,
): Float32Array {
  const { batchSize, channels, height, width } = shape;
  if (height % patchSize !== 0 || width % patchSize !== 0)
    throw new Error(`HOG: image ${height}×${width} is not divisible by the patch size ${patchSize}`);
  const cellsPerSide = hogCellsPerSide(patchSize);
  const cell = patchSize / cellsPerSide;
  const [rows, columns] = [height / patchSize, width / patchSize];
  const perPatch = hogWidth(channels, patchSize);
  const out = new Float32Array(batchSize * rows * columns * perPatch);
  const magnitude = new Float64Array(height * width);
  const bin = new Uint8Array(height * width);
  const histogram = new Float64Array(HOG_BINS);
  for (let b = 0; b < batchSize; b++) {
    for (let c = 0; c < channels; c++) {
      const offset = (b * channels + c) * height * width;
      const at = (y: number, x: number) => images[offset + y * width + x]!;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const gRow = y === 0 || y === height - 1 ? 0 : at(y + 1, x) - at(y - 1, x);
          const gColumn = x === 0 || x === width - 1 ? 0 : at(y, x + 1) - at(y, x - 1);
          magnitude[y * width + x] = Math.hypot(gRow, gColumn);
          const degrees = ((((Math.atan2(gRow, gColumn) * 180) / Math.PI) % 180) + 180) % 180; // [0, 180)
          bin[y * width + x] = Math.min(HOG_BINS - 1, Math.floor(degrees / (180 / HOG_BINS)));
        }
      }
      for (let pr = 0; pr < rows; pr++) {
        for (let pc = 0; pc < columns; pc++) {
          const patchStart = ((b * rows + pr) * columns + pc) * perPatch + c * cellsPerSide * cellsPerSide * HOG_BINS;
          for (let cr = 0; cr < cellsPerSide; cr++) {
            for (let cc = 0; cc < cellsPerSide; cc++) {
              histogram.fill(0);
              const [top, left] = [pr * patchSize + cr * cell, pc * patchSize + cc * cell];
              for (let y = top; y < top + cell; y++) {
                for (let x = left; x < left + cell; x++) histogram[bin[y * width + x]!]! += magnitude[y * width + x]!;
              }
              let squares = 0;
              for (let k = 0; k < HOG_BINS; k++) {
                histogram[k] = histogram[k]! / (cell * cell);
                squares += histogram[k]! ** 2;
              }
              const norm = Math.sqrt(squares + 1e-10);
              const start = patchStart + (cr * cellsPerSide + cc) * HOG_BINS;
              for (let k = 0; k < HOG_BINS; k++) out[start + k] = histogram[k]! / norm;
            }
          }
        }
      }
    }
  }
  return out;
}
