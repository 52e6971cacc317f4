/**
 * TIFF files through geotiff.js: the routing rule between sharp and geotiff.js, reading one
 * sample or one window of it, and the sample's metadata and name for the images table.
 *
 * Routing (decided in {@link needsGeotiff} only): sharp keeps the plain TIFFs it reads exactly —
 * one full-resolution page, grey or RGB interleaved 8- or 16-bit unsigned integers, no nodata,
 * no band names, no OME-XML, at most {@link HUGE_PIXELS}. Everything else goes through geotiff.js.
 *
 * The page structure (samples, overviews, OME planes) is read from the headers by
 * `tiff-layout.ts`, whose exports this module passes on for its importers.
 */
import type { ImageMeta } from '../../contract';
import { DecodeError } from './decode';
import { allocateValues, type Raster, type RasterValues } from './raster';
import { conversionNote, describeTiffFailure, type TiffLayout, type TiffSample } from './tiff-layout';

export {
  conversionNote,
  describeTiffFailure,
  HUGE_PIXELS,
  MAX_BANDS,
  MAX_BLOCK_BYTES,
  MAX_PAGES,
  readTiffLayout,
  type TiffLayout,
  type TiffSample,
} from './tiff-layout';

/** The routing rule: false when sharp reads this TIFF exactly (see the file's comment). */
export function needsGeotiff(layout: TiffLayout): boolean {
  const plain =
    layout.samples.length === 1 &&
    layout.samples[0]!.pages.length === 1 &&
    // Grey or RGB only: libvips reads other band counts through colour conversions.
    (layout.bands === 1 || layout.bands === 3) &&
    layout.channelNames === null &&
    layout.planar === 1 &&
    layout.storedFormat === 1 &&
    (layout.storedBits === 8 || layout.storedBits === 16) &&
    layout.nodata === null &&
    !layout.ome &&
    !layout.huge;
  return !plain;
}

/** A window of a sample in pixels: left, top, width, height. */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Reads one sample (all its bands, interleaved), or only the tiles/strips covering `region`.
 * Throws {@link DecodeError} naming what was wrong with the data.
 */
export async function readTiffSample(
  layout: TiffLayout,
  index: number,
  region?: Region,
  pageOverride?: number,
): Promise<Raster> {
  const sample = layout.samples[index];
  if (!sample) throw new DecodeError(`no sample ${index} in this TIFF (it has ${layout.samples.length})`);
  const pages = pageOverride === undefined ? sample.pages : [pageOverride];
  const probe = layout.images[pages[0]!]!;
  const window = region ?? { x: 0, y: 0, width: probe.getWidth(), height: probe.getHeight() };
  if (
    window.x < 0 ||
    window.y < 0 ||
    window.width < 1 ||
    window.height < 1 ||
    window.x + window.width > probe.getWidth() ||
    window.y + window.height > probe.getHeight()
  ) {
    throw new DecodeError(
      `region ${window.x},${window.y} ${window.width}×${window.height} ` +
        `is outside the ${probe.getWidth()}×${probe.getHeight()} image`,
    );
  }
  const bounds = [window.x, window.y, window.x + window.width, window.y + window.height];
  const count = window.width * window.height;
  const bands = pages.length === 1 ? probe.getSamplesPerPixel() : pages.length;
  const values = allocateValues(layout.sampleType, count * bands);
  try {
    if (pages.length === 1) {
      const rasters = (await probe.readRasters({ window: bounds })) as unknown as ArrayLike<number>[];
      rasters.forEach((plane, band) => copyBand(plane, values, band, bands, count));
    } else {
      for (let band = 0; band < pages.length; band++) {
        const rasters = (await layout.images[pages[band]!]!.readRasters({
          window: bounds,
          samples: [0],
        })) as unknown as ArrayLike<number>[];
        copyBand(rasters[0]!, values, band, bands, count);
      }
    }
  } catch (error) {
    throw new DecodeError(`truncated or corrupt TIFF data (${describeTiffFailure(error as Error)})`);
  }
  return { width: window.width, height: window.height, bands, sampleType: layout.sampleType, values };
}

function copyBand(plane: ArrayLike<number>, values: RasterValues, band: number, bands: number, count: number): void {
  if (plane.length < count) throw new Error(`a band holds ${plane.length} values where ${count} were expected`);
  for (let pixel = 0; pixel < count; pixel++) values[pixel * bands + band] = plane[pixel]!;
}

/** Technical metadata of one TIFF sample, for the images table. */
export function tiffMeta(layout: TiffLayout, index: number): ImageMeta {
  const sample = layout.samples[index]!;
  const meta: ImageMeta = { sampleType: layout.sampleType, frames: layout.samples.length };
  const note = conversionNote(layout.storedBits, layout.storedFormat);
  if (note) meta.converted = note;
  if (layout.channelNames) meta.channelNames = layout.channelNames;
  if (layout.nodata !== null) meta.nodata = layout.nodata;
  if (layout.dateTime) meta.dateTime = layout.dateTime;
  if (sample.z !== undefined) meta.z = sample.z;
  if (sample.t !== undefined) meta.t = sample.t;
  if (layout.samples.length > 1) {
    meta.sample = tiffSampleName(layout, sample);
    if (!layout.ome) meta.page = sample.pages[0]! + 1;
  }
  if (layout.tile) meta.tile = layout.tile;
  if (layout.huge) meta.huge = true;
  if (sample.overviews.length > 0) meta.overviews = sample.overviews.length;
  return meta;
}

/**
 * A sample's name within its file: `page 3 of 4` (TIFF pages as Fiji and tifffile count them,
 * overviews included), or `z 2/5 · t 1/3 · c 1–2` for an OME (z, t) plane with its channels.
 */
export function tiffSampleName(layout: TiffLayout, sample: TiffSample): string {
  if (sample.z === undefined || sample.t === undefined)
    return `page ${sample.pages[0]! + 1} of ${layout.images.length}`;
  const sizeZ = Math.max(...layout.samples.map((each) => (each.z ?? 0) + 1));
  const sizeT = Math.max(...layout.samples.map((each) => (each.t ?? 0) + 1));
  const channels = layout.bands === 1 ? 'c 1/1' : `c 1–${layout.bands}`;
  return `z ${sample.z + 1}/${sizeZ} · t ${sample.t + 1}/${sizeT} · ${channels}`;
}
