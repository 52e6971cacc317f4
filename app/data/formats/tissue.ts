/**
 * Where a slide holds tissue: background rejection from a small level, so that training crops
 * fall on tissue rather than on glass.
 *
 * The rule ({@link TISSUE_RULE}): on an RGB level, a pixel is tissue when its HSV saturation
 * ((max − min) / max) is above Otsu's threshold over the level's saturation histogram, and that
 * threshold is at least {@link DEFAULT_TISSUE}.minSaturation (stained tissue is coloured, glass
 * and its shadows are grey; a slide with no colour has no tissue rather than half). On a grey
 * level the test is darker than Otsu's threshold over the grey histogram. The mask is kept as
 * one bit per cell of a grid of at most {@link DEFAULT_TISSUE}.cells on the long side, laid over
 * level 0; a cell is tissue when at least half of its pixels are.
 */
import type { TissueMask } from '../../contract';
import type { Raster } from './raster';
import type { Region } from './tiff';

/** Settings of the tissue mask. */
export const DEFAULT_TISSUE = {
  /** Cells on the grid's long side (128: a 25 mm slide in 0.2 mm cells). */
  cells: 128,
  /** Saturation threshold floor (0–1): below it nothing counts as stained. */
  minSaturation: 0.05,
  /** Pixels of the level the mask is made from, at most (2048²). */
  maxPixels: 2048 * 2048,
} as const;

/** The rule, in words, stored with every mask. */
export const TISSUE_RULE =
  `Otsu threshold on HSV saturation (at least ${DEFAULT_TISSUE.minSaturation}) ` +
  'of the smallest level; grey slides: darker than Otsu on grey';

/** Otsu's threshold over a 256-bin histogram: the bin that maximises between-class variance. */
export function otsuThreshold(histogram: ArrayLike<number>): number {
  let total = 0;
  let sum = 0;
  for (let bin = 0; bin < 256; bin++) {
    total += histogram[bin]!;
    sum += bin * histogram[bin]!;
  }
  let best = 0;
  let bestVariance = -1;
  let weightBelow = 0;
  let sumBelow = 0;
  for (let bin = 0; bin < 256; bin++) {
    weightBelow += histogram[bin]!;
    if (weightBelow === 0) continue;
    const weightAbove = total - weightBelow;
    if (weightAbove === 0) break;
    sumBelow += bin * histogram[bin]!;
    const meanBelow = sumBelow / weightBelow;
    const meanAbove = (sum - sumBelow) / weightAbove;
    const variance = weightBelow * weightAbove * (meanBelow - meanAbove) ** 2;
    if (variance > bestVariance) {
      bestVariance = variance;
      best = bin;
    }
  }
  return best;
}

/** Per pixel of an 8-bit grey or RGB raster: 1 where tissue, 0 where background. */
export function tissuePixels(raster: Raster): Uint8Array {
  const { bands, values } = raster;
  const count = raster.width * raster.height;
  const score = new Uint8Array(count);
  for (let pixel = 0; pixel < count; pixel++) {
    const at = pixel * bands;
    if (bands >= 3) {
      const r = values[at]!;
      const g = values[at + 1]!;
      const b = values[at + 2]!;
      const max = Math.max(r, g, b);
      score[pixel] = max === 0 ? 0 : Math.round(((max - Math.min(r, g, b)) / max) * 255);
    } else {
      score[pixel] = 255 - values[at]!; // darker is more likely tissue
    }
  }
  const histogram = new Float64Array(256);
  for (const value of score) histogram[value]!++;
  const floor = bands >= 3 ? Math.round(DEFAULT_TISSUE.minSaturation * 255) : 0;
  const threshold = Math.max(otsuThreshold(histogram), floor);
  const mask = new Uint8Array(count);
  for (let pixel = 0; pixel < count; pixel++) mask[pixel] = score[pixel]! > threshold ? 1 : 0;
  return mask;
}

/** The cell mask of a slide whose level-0 size is `width × height`, from a raster of a small level. */
export function tissueMask(raster: Raster, width: number, height: number): TissueMask {
  const pixels = tissuePixels(raster);
  const long = Math.max(width, height);
  const columns = Math.max(1, Math.round((DEFAULT_TISSUE.cells * width) / long));
  const rows = Math.max(1, Math.round((DEFAULT_TISSUE.cells * height) / long));
  const tissue = new Float64Array(columns * rows);
  const seen = new Float64Array(columns * rows);
  for (let y = 0; y < raster.height; y++) {
    const row = Math.min(rows - 1, Math.floor(((y + 0.5) * rows) / raster.height));
    for (let x = 0; x < raster.width; x++) {
      const cell = row * columns + Math.min(columns - 1, Math.floor(((x + 0.5) * columns) / raster.width));
      seen[cell]!++;
      tissue[cell]! += pixels[y * raster.width + x]!;
    }
  }
  const bits = new Uint8Array(Math.ceil((columns * rows) / 8));
  let set = 0;
  for (let cell = 0; cell < columns * rows; cell++) {
    if (seen[cell]! > 0 && tissue[cell]! / seen[cell]! >= 0.5) {
      bits[cell >> 3]! |= 1 << (cell & 7);
      set++;
    }
  }
  return {
    columns,
    rows,
    cells: Buffer.from(bits).toString('base64'),
    share: Math.round((set / (columns * rows)) * 1000) / 1000,
    rule: TISSUE_RULE,
  };
}

/** A mask's cells as one byte (0 or 1) per cell, row by row. */
export function maskCells(mask: TissueMask): Uint8Array {
  const bits = Buffer.from(mask.cells, 'base64');
  const cells = new Uint8Array(mask.columns * mask.rows);
  for (let cell = 0; cell < cells.length; cell++) cells[cell] = (bits[cell >> 3]! >> (cell & 7)) & 1;
  return cells;
}

/** The share of a level-0 region that the mask calls tissue, weighting cells by overlap. */
export function tissueShare(
  cells: Uint8Array,
  mask: Pick<TissueMask, 'columns' | 'rows'>,
  width: number,
  height: number,
  region: Region,
): number {
  const cellWidth = width / mask.columns;
  const cellHeight = height / mask.rows;
  const firstColumn = Math.floor(region.x / cellWidth);
  const lastColumn = Math.min(mask.columns - 1, Math.floor((region.x + region.width - 1e-9) / cellWidth));
  const firstRow = Math.floor(region.y / cellHeight);
  const lastRow = Math.min(mask.rows - 1, Math.floor((region.y + region.height - 1e-9) / cellHeight));
  let covered = 0;
  for (let row = firstRow; row <= lastRow; row++) {
    const overlapY = Math.min(region.y + region.height, (row + 1) * cellHeight) - Math.max(region.y, row * cellHeight);
    for (let column = firstColumn; column <= lastColumn; column++) {
      if (!cells[row * mask.columns + column]) continue;
      const overlapX =
        Math.min(region.x + region.width, (column + 1) * cellWidth) - Math.max(region.x, column * cellWidth);
      covered += Math.max(0, overlapX) * Math.max(0, overlapY);
    }
  }
  return covered / (region.width * region.height);
}
