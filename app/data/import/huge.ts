/**
 * Images too large to decode whole: statistics from a grid of blocks (tiles or strips, OME-Zarr
 * chunks) spread over the image, and a thumbnail from the smallest overview page (pyramid level)
 * when there is one, else a mosaic of those same blocks. Only the blocks read are decoded.
 */
import { DecodeError } from '../formats/decode';
import { rasterDisplay, summarizeRaster, type Raster, type RasterDisplay, allocateValues } from '../formats/raster';
import type { SampleFile, SampleInfo } from '../formats/sample-files';
import type { PixelSummary } from './stats';
import { readTiffSample, type Region, type TiffLayout } from '../formats/tiff';

/** Blocks read across and down for statistics (at most 64 in all). */
export const SAMPLE_GRID = 8;

/** Side of the square read from each block, and of each cell of the mosaic thumbnail. */
const WINDOW = 256;
const CELL = 32;

/** Overviews with more pixels than this are not read whole for a thumbnail. */
const MAX_OVERVIEW_PIXELS = 4 * 1024 * 1024;

/** What the importer stores for a huge sample. */
export interface HugeSampleSummary {
  summary: PixelSummary;
  display: RasterDisplay;
}

/** Windows aligned to block boundaries, spread evenly over the image. */
export function sampleWindows(
  layout: { width: number; height: number },
  blockWidth: number,
  blockHeight: number,
): Region[] {
  const across = Math.ceil(layout.width / blockWidth);
  const down = Math.ceil(layout.height / blockHeight);
  const columns = Math.min(SAMPLE_GRID, across);
  const rows = Math.min(SAMPLE_GRID, down);
  const windows: Region[] = [];
  for (let row = 0; row < rows; row++) {
    const blockY = Math.floor(((row + 0.5) * down) / rows);
    for (let column = 0; column < columns; column++) {
      const blockX = Math.floor(((column + 0.5) * across) / columns);
      const x = blockX * blockWidth;
      const y = blockY * blockHeight;
      windows.push({
        x,
        y,
        width: Math.min(WINDOW, blockWidth, layout.width - x),
        height: Math.min(WINDOW, blockHeight, layout.height - y),
      });
    }
  }
  return windows;
}

/** Bands and type of the values read. */
type RasterShape = Pick<Raster, 'bands' | 'sampleType'>;

/**
 * Samples a huge sample of a file read by windows aligned to its blocks (OME-Zarr chunks): stats
 * from the grid of windows, the thumbnail from a smaller level of the file, else a mosaic.
 */
export async function summarizeHugeWindows(
  file: SampleFile,
  index: number,
  info: SampleInfo,
): Promise<HugeSampleSummary> {
  const blocks = file.blocks ?? { width: WINDOW, height: WINDOW };
  const windows = sampleWindows(info, blocks.width, blocks.height);
  const pieces: Raster[] = [];
  for (const window of windows) pieces.push(await file.read(index, window));
  const summary = summarizeRaster(joinValues(pieces, info), info.nodata);
  const overview = (await file.readOverview?.(index, MAX_OVERVIEW_PIXELS)) ?? mosaic(pieces, info, windows);
  // A sample with a display window of its own (a slide's 0–255 colours) is shown through it, not stretched.
  return { summary, display: rasterDisplay(overview, summary, info.window, info.nodata) };
}

/** Samples a huge TIFF sample: stats from the grid of blocks, a thumbnail from an overview or a mosaic. */
export async function summarizeHugeSample(layout: TiffLayout, index: number): Promise<HugeSampleSummary> {
  const first = layout.images[layout.samples[index]!.pages[0]!]!;
  const windows = sampleWindows(layout, first.getTileWidth(), first.getTileHeight());
  const pieces: Raster[] = [];
  for (const window of windows) pieces.push(await readTiffSample(layout, index, window));
  const joined = joinValues(pieces, layout);
  const summary = summarizeRaster(joined, layout.nodata);
  const overview = smallestOverview(layout, index);
  if (overview !== null) {
    const raster = await readTiffSample(layout, index, undefined, overview);
    return { summary, display: rasterDisplay(raster, summary, undefined, layout.nodata) };
  }
  return { summary, display: rasterDisplay(mosaic(pieces, layout, windows), summary, undefined, layout.nodata) };
}

function smallestOverview(layout: TiffLayout, index: number): number | null {
  const overviews = layout.samples[index]!.overviews.filter((page) => {
    const image = layout.images[page]!;
    return image.getWidth() * image.getHeight() <= MAX_OVERVIEW_PIXELS && image.getSamplesPerPixel() === layout.bands;
  });
  if (overviews.length === 0) return null;
  return overviews.reduce((best, page) =>
    layout.images[page]!.getWidth() < layout.images[best]!.getWidth() ? page : best,
  );
}

/** Every value read, as one raster one pixel high (statistics do not care about shape). */
function joinValues(pieces: readonly Raster[], layout: RasterShape): Raster {
  const total = pieces.reduce((sum, piece) => sum + piece.values.length, 0);
  const values = allocateValues(layout.sampleType, total);
  let offset = 0;
  for (const piece of pieces) {
    values.set(piece.values as never, offset);
    offset += piece.values.length;
  }
  return { width: total / layout.bands, height: 1, bands: layout.bands, sampleType: layout.sampleType, values };
}

/** A grid of CELL × CELL nearest-neighbour reductions of the windows, in their grid order. */
function mosaic(pieces: readonly Raster[], layout: RasterShape, windows: readonly Region[]): Raster {
  const columns = new Set(windows.map((window) => window.x)).size;
  const rows = pieces.length / columns;
  if (!Number.isInteger(rows)) throw new DecodeError('internal: sample windows do not form a grid');
  const width = columns * CELL;
  const bands = layout.bands;
  const values = allocateValues(layout.sampleType, width * rows * CELL * bands);
  pieces.forEach((piece, position) => {
    const left = (position % columns) * CELL;
    const top = Math.floor(position / columns) * CELL;
    for (let y = 0; y < CELL; y++) {
      const sourceY = Math.floor((y * piece.height) / CELL);
      for (let x = 0; x < CELL; x++) {
        const source = (sourceY * piece.width + Math.floor((x * piece.width) / CELL)) * bands;
        const target = ((top + y) * width + left + x) * bands;
        for (let band = 0; band < bands; band++) values[target + band] = piece.values[source + band]!;
      }
    }
  });
  return { width, height: rows * CELL, bands, sampleType: layout.sampleType, values };
}
