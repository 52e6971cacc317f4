/**
 * A sample's read brought to the channel plan's input bands: checked against the bands the dataset
 * says it has, then converted as the plan says for its channel count (`channel-conversion.ts`:
 * grey repeated, RGB to luminance, alpha dropped); a 2.5-D read, a stack of 2n + 1 volume planes,
 * is converted plane by plane and stacked again. Batches (`decodePlanar`) and the training cache
 * (`cache/prepared.ts`) convert every read this way.
 */
import type { ChannelTransform, ImageEntry } from './batches';
import { convertRaster, conversionOf } from './channel-conversion';
import type { Raster } from './formats/raster';

/** Planes a read of the entry stacks as bands: 2n + 1 for a 2.5-D volume plane, else 1. */
export function planesOf(entry: ImageEntry): number {
  return entry.plane ? 2 * entry.plane.neighbours + 1 : 1;
}

/** Throws naming the file when a read has other bands than the dataset says of it. */
export function checkBands(entry: ImageEntry, read: Raster): void {
  const expected = entry.channels * planesOf(entry);
  if (read.bands !== expected)
    throw new Error(`${entry.path}: decoded ${read.bands} channels, the dataset says ${expected}`);
}

/**
 * A raster converted as the transform's channel plan says (unchanged without conversions). A
 * raster of `planes` stacked planes (2.5-D) is converted plane by plane and stacked again.
 */
export function convertEntry(
  path: string,
  raster: Raster,
  transform: ChannelTransform | undefined,
  planes = 1,
): Raster {
  if (!transform?.conversions || transform.inputChannels === undefined) return raster;
  const { conversions, inputChannels } = transform;
  try {
    if (planes === 1)
      return convertRaster(raster, conversionOf(conversions, raster.bands, inputChannels), inputChannels);
    return stackPlanes(
      splitPlanes(raster, planes).map((plane) =>
        convertRaster(plane, conversionOf(conversions, plane.bands, inputChannels), inputChannels),
      ),
    );
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
}

/** The `planes` rasters stacked plane-major as the bands of one. */
function splitPlanes(raster: Raster, planes: number): Raster[] {
  const bands = raster.bands / planes;
  const pixels = raster.width * raster.height;
  return Array.from({ length: planes }, (_, slot) => {
    const values = new (raster.values.constructor as new (length: number) => Raster['values'])(pixels * bands);
    for (let pixel = 0; pixel < pixels; pixel++) {
      for (let band = 0; band < bands; band++)
        values[pixel * bands + band] = raster.values[pixel * raster.bands + slot * bands + band]!;
    }
    return { ...raster, bands, values };
  });
}

/** Rasters of one size stacked plane-major as the bands of one. */
function stackPlanes(planes: Raster[]): Raster {
  const first = planes[0]!;
  const bands = first.bands * planes.length;
  const pixels = first.width * first.height;
  const values = new (first.values.constructor as new (length: number) => Raster['values'])(pixels * bands);
  planes.forEach((plane, slot) => {
    for (let pixel = 0; pixel < pixels; pixel++) {
      for (let band = 0; band < first.bands; band++)
        values[pixel * bands + slot * first.bands + band] = plane.values[pixel * first.bands + band]!;
    }
  });
  return { ...first, bands, values };
}
