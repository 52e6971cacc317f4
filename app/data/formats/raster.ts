/**
 * Rasters of any sample type (the formats sharp cannot keep exactly: signed DICOM, float and
 * many-band GeoTIFF, OME-TIFF planes): interleaved values in the file's own units, per-band
 * statistics that skip nodata and NaN, and the 8-bit view a thumbnail is made from.
 */
import type { ChannelStats, DisplayWindow, ImageMeta } from '../../contract';
import { DISPLAY_CLIP, type PixelSummary } from '../import/stats';

/** Type of each value of a raster. */
export type SampleType = NonNullable<ImageMeta['sampleType']>;

/** Typed array of each sample type. */
export type RasterValues = Uint8Array | Uint16Array | Int16Array | Float32Array;

/** One sample: interleaved values (`[y][x][band]`) in the file's own units. */
export interface Raster {
  width: number;
  height: number;
  bands: number;
  sampleType: SampleType;
  values: RasterValues;
}

/** Bits per value of a sample type: the `bit_depth` stored for it. */
export function bitsOf(sampleType: SampleType): 8 | 16 | 32 {
  return sampleType === 'uint8' ? 8 : sampleType === 'float32' ? 32 : 16;
}

/** A typed array of `length` values of a sample type. */
export function allocateValues(sampleType: SampleType, length: number): RasterValues {
  if (sampleType === 'uint8') return new Uint8Array(length);
  if (sampleType === 'uint16') return new Uint16Array(length);
  if (sampleType === 'int16') return new Int16Array(length);
  return new Float32Array(length);
}

// Percentiles come from a histogram between each band's min and max: exact for 8-bit, within
// 1/4096 of the range otherwise, which is plenty for a display stretch.
const PERCENTILE_BINS = 4096;

/**
 * Mean, standard deviation (population), min and max of each band, skipping NaN and `nodata`,
 * plus the 0.5 / 99.5 percentiles used to display it. A band with no valid value gets zeros.
 */
export function summarizeRaster(raster: Raster, nodata: number | null = null): PixelSummary {
  const { values, bands } = raster;
  const summary: PixelSummary = { stats: [], low: [], high: [] };
  for (let band = 0; band < bands; band++) {
    let count = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let index = band; index < values.length; index += bands) {
      const value = values[index]!;
      if (Number.isNaN(value) || value === nodata) continue;
      count++;
      sum += value;
      if (value < min) min = value;
      if (value > max) max = value;
    }
    if (count === 0) {
      summary.stats.push({ mean: 0, std: 0, min: 0, max: 0 });
      summary.low.push(0);
      summary.high.push(0);
      continue;
    }
    const mean = sum / count;
    const histogram = new Float64Array(PERCENTILE_BINS);
    const scale = max > min ? (PERCENTILE_BINS - 1) / (max - min) : 0;
    let squares = 0;
    for (let index = band; index < values.length; index += bands) {
      const value = values[index]!;
      if (Number.isNaN(value) || value === nodata) continue;
      squares += (value - mean) * (value - mean);
      histogram[Math.floor((value - min) * scale)]!++;
    }
    const stats: ChannelStats = { mean, std: Math.sqrt(squares / count), min, max };
    summary.stats.push(stats);
    summary.low.push(percentile(histogram, count, DISPLAY_CLIP, min, scale));
    summary.high.push(percentile(histogram, count, 1 - DISPLAY_CLIP, min, scale));
  }
  return summary;
}

function percentile(histogram: Float64Array, count: number, fraction: number, min: number, scale: number): number {
  const target = Math.max(1, Math.ceil(fraction * count));
  let cumulative = 0;
  for (let bin = 0; bin < histogram.length; bin++) {
    cumulative += histogram[bin]!;
    if (cumulative >= target) return scale === 0 ? min : min + bin / scale;
  }
  return min + (histogram.length - 1) / (scale || 1);
}

/** 8-bit pixels of the first (grey) or first three bands, ready for a thumbnail. */
export interface RasterDisplay {
  pixels: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

/**
 * Maps the shown bands linearly to 0..255: through the display window when one is given (DICOM
 * VOI), else between each band's 0.5 and 99.5 percentiles. NaN and nodata show as black.
 */
export function rasterDisplay(
  raster: Raster,
  summary: PixelSummary,
  window?: DisplayWindow,
  nodata: number | null = null,
): RasterDisplay {
  const channels = raster.bands >= 3 ? 3 : 1;
  const count = raster.width * raster.height;
  const out = new Uint8Array(count * channels);
  for (let channel = 0; channel < channels; channel++) {
    const low = window ? window.center - window.width / 2 : summary.low[channel]!;
    const high = window ? window.center + window.width / 2 : summary.high[channel]!;
    const scale = 255 / Math.max(high - low, Number.EPSILON);
    for (let pixel = 0; pixel < count; pixel++) {
      const value = raster.values[pixel * raster.bands + channel]!;
      const level = Number.isNaN(value) || value === nodata ? 0 : (value - low) * scale + 0.5;
      out[pixel * channels + channel] = level <= 0 ? 0 : level >= 255 ? 255 : level;
    }
  }
  return { pixels: out, width: raster.width, height: raster.height, channels };
}

/** Interleaves separate band planes (`[band][y][x]`) into one raster (`[y][x][band]`). */
export function interleave(
  planes: readonly RasterValues[],
  width: number,
  height: number,
  sampleType: SampleType,
): Raster {
  const bands = planes.length;
  const count = width * height;
  const values = allocateValues(sampleType, count * bands);
  for (let band = 0; band < bands; band++) {
    const plane = planes[band]!;
    for (let pixel = 0; pixel < count; pixel++) values[pixel * bands + band] = plane[pixel]!;
  }
  return { width, height, bands, sampleType, values };
}
