/**
 * A training sample as the loader keeps it: read once, converted by the channel plan, its bands
 * picked and clipped, missing pixels set to the channel's center, and scaled down so its shorter
 * side is at most {@link storedSide} — still in the file's own units, planar [C, H, W]. Integer
 * samples stay uint8 / uint16 (rounded after the resize, as an image library's resize does); a
 * plan that makes floats (luminance, float rasters, nodata) keeps float32. The training cache
 * stores exactly these values, and a run without the cache computes the same ones, so both
 * train on identical pixels. Normalisation ((v − center) / spread) happens after the crop.
 */
import { DEFAULT_AUGMENT, resizeBox } from '../augment';
import { readEntry, type ChannelTransform, type ImageEntry } from '../batches';
import { checkBands, convertEntry, planesOf } from '../entry-conversion';
import type { Region } from '../formats/sample-files';

/** How a prepared sample's values are stored. */
export type PreparedType = 'uint8' | 'uint16' | 'float32';

/** A prepared sample: planar [channels, height, width] values in the file's units. */
export interface PreparedSample {
  channels: number;
  height: number;
  width: number;
  sampleType: PreparedType;
  values: Uint8Array | Uint16Array | Float32Array;
}

/** Bytes per value of each stored type. */
export const PREPARED_BYTES: Record<PreparedType, number> = { uint8: 1, uint16: 2, float32: 4 };

/**
 * The shorter side samples are stored at for a model side: the random resized crop's smallest
 * crop (scale 0.2 of the area, √0.2 ≈ 0.45 of the side) then still has `imgSize` source pixels,
 * so no crop is upsampled from fewer pixels than the model sees. 224 → 501.
 */
export function storedSide(imgSize: number, minScale: number = DEFAULT_AUGMENT.scale[0]): number {
  return Math.ceil(imgSize / Math.sqrt(minScale));
}

/** The size a height×width image is stored at: scaled down to a shorter side of `side`, never up. */
export function preparedSize(height: number, width: number, side: number): { height: number; width: number } {
  const scale = Math.min(1, side / Math.min(height, width));
  return { height: Math.max(1, Math.round(height * scale)), width: Math.max(1, Math.round(width * scale)) };
}

/** Per model channel: the offset and factor that normalise a prepared value, x = (v − center) · inverse. */
export interface Normalisation {
  center: number[];
  inverse: number[];
}

/**
 * The normalisation of a run: the plan's (v − center) / spread, or for runs planned before the
 * channel plan v / (2^bitDepth − 1), then (x − mean) / std, written as one affine map.
 */
export function normalisationOf(
  transform: ChannelTransform | undefined,
  bitDepth: number,
  mean: readonly number[],
  std: readonly number[],
): Normalisation {
  if (transform) return { center: [...transform.center], inverse: transform.spread.map((spread) => 1 / spread) };
  const max = 2 ** bitDepth - 1;
  return { center: mean.map((m) => m * max), inverse: std.map((s) => 1 / (s * max)) };
}

/**
 * Reads one sample (or a window of a huge one) and prepares it for training. Throws naming the
 * file when it cannot be decoded or no longer matches what the dataset says of it.
 */
export async function prepareSample(
  entry: ImageEntry,
  side: number,
  transform?: ChannelTransform,
  region?: Region,
): Promise<PreparedSample> {
  const read = await readEntry(entry, region);
  checkBands(entry, read);
  const raster = convertEntry(entry.path, read, transform, planesOf(entry));
  if (!transform && raster.sampleType !== (entry.bitDepth === 16 ? 'uint16' : 'uint8')) {
    throw new Error(
      `${entry.path}: decoded ${raster.sampleType} values ` +
        `at ${entry.bitDepth} bits; plan the run again to normalise them`,
    );
  }
  const { width, height, bands, values } = raster;
  const channels = transform ? transform.bands.length : bands;
  const nodata = entry.nodata ?? null;
  const pixels = height * width;
  const planar = new Float32Array(channels * pixels);
  for (let c = 0; c < channels; c++) {
    const band = transform ? transform.bands[c]! : c;
    if (band >= bands)
      throw new Error(`${entry.path}: the channel plan reads band ${band + 1}, the image has ${bands}`);
    const clip = transform?.clip[c] ?? null;
    const low = clip ? clip[0] : -Infinity;
    const high = clip ? clip[1] : Infinity;
    const center = transform ? transform.center[c]! : 0;
    for (let index = 0; index < pixels; index++) {
      let value = values[index * bands + band]!;
      // Missing pixels (NaN, nodata) become the channel's center: zero after normalisation.
      if (Number.isNaN(value) || value === nodata) value = center;
      planar[c * pixels + index] = value < low ? low : value > high ? high : value; // HWC → CHW
    }
  }
  const size = preparedSize(height, width, side);
  const resized =
    size.height === height && size.width === width
      ? planar
      : resizeBox(
          { data: planar, channels, height, width },
          { top: 0, left: 0, height, width },
          size.height,
          size.width,
          false,
        );
  const integer = nodata === null && (raster.sampleType === 'uint8' || raster.sampleType === 'uint16');
  if (!integer) return { channels, ...size, sampleType: 'float32', values: resized };
  const sampleType = raster.sampleType as 'uint8' | 'uint16';
  const stored = sampleType === 'uint8' ? new Uint8Array(resized.length) : new Uint16Array(resized.length);
  // bilinear values stay within the source range
  for (let index = 0; index < resized.length; index++) stored[index] = Math.round(resized[index]!);
  return { channels, ...size, sampleType, values: stored };
}
