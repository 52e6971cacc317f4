/**
 * The channel plan's conversions applied to pixels and to stored per-image statistics: grey
 * repeated to N bands, RGB(A) to grey by Rec. 601 luminance, alpha dropped. Batches, dataset
 * statistics and plan thumbnails all read images through `convertRaster`, so training, the
 * numbers Curate shows and the thumbnails see the same bands.
 */
import { conversionChoices, LUMINANCE_WEIGHTS, type ChannelConversion } from '../contract';
import { allocateValues, type Raster } from './formats/raster';

/** Per-band statistics as import stores them for each image. */
export interface BandSummary {
  mean: number;
  std: number;
  min: number;
  max: number;
}

/** The conversion `conversions` gives `channels`-band images (the default when it has none). */
export function conversionOf(
  conversions: Readonly<Record<string, ChannelConversion>>,
  channels: number,
  target: number,
): ChannelConversion {
  return conversions[String(channels)] ?? conversionChoices(channels, target)[0]!;
}

/** Throws naming the images when `conversion` cannot bring `source` bands to `target`. */
export function checkConversion(conversion: ChannelConversion, source: number, target: number): void {
  if (conversion === 'exclude') throw new Error(`the channel plan leaves ${source}-channel images out of training`);
  const choices = conversionChoices(source, target);
  if (!choices.includes(conversion)) {
    throw new Error(
      `the channel plan cannot "${conversion}" ${source}-channel ` +
        `images into ${target} bands; it can ${choices.join(' or ')}`,
    );
  }
}

/** Source band feeding each output band, for conversions that only copy bands. */
function copiedBands(conversion: ChannelConversion, source: number, target: number): number[] | null {
  if (conversion === 'keep') return null;
  // the grey band (alpha of grey + alpha dropped)
  if (conversion === 'repeat') return Array.from({ length: target }, () => 0);
  if (conversion === 'drop-alpha') return Array.from({ length: source - 1 }, (_, band) => band);
  return null;
}

/** A raster converted to `target` bands; the same raster when the conversion is 'keep'. */
export function convertRaster(raster: Raster, conversion: ChannelConversion, target: number): Raster {
  checkConversion(conversion, raster.bands, target);
  if (conversion === 'keep') return raster;
  const count = raster.width * raster.height;
  const source = raster.bands;
  if (conversion === 'luminance') {
    // Float values: luminance of integers is fractional, and rounding would add noise to 8-bit data.
    const values = new Float32Array(count);
    const [red, green, blue] = LUMINANCE_WEIGHTS;
    for (let pixel = 0; pixel < count; pixel++) {
      const at = pixel * source;
      values[pixel] = red * raster.values[at]! + green * raster.values[at + 1]! + blue * raster.values[at + 2]!;
    }
    return { width: raster.width, height: raster.height, bands: 1, sampleType: 'float32', values };
  }
  const bands = copiedBands(conversion, source, target)!;
  const values = allocateValues(raster.sampleType, count * bands.length);
  for (let pixel = 0; pixel < count; pixel++) {
    for (let band = 0; band < bands.length; band++)
      values[pixel * bands.length + band] = raster.values[pixel * source + bands[band]!]!;
  }
  return { width: raster.width, height: raster.height, bands: bands.length, sampleType: raster.sampleType, values };
}

/**
 * Per-band statistics of an image after conversion, from its stored ones. Exact for copied
 * bands. For luminance the mean is exact (it is linear); std, min and max assume the colour
 * channels move together (std = Σ w·σ, an upper bound; min and max bound every value), which
 * is what mean/std scaling without computed dataset statistics and histogram ranges need.
 */
export function convertStats(
  stats: readonly BandSummary[],
  source: number,
  conversion: ChannelConversion,
  target: number,
): BandSummary[] {
  checkConversion(conversion, source, target);
  if (conversion === 'keep') return [...stats];
  if (conversion === 'luminance') {
    const weighted = (pick: (band: BandSummary) => number) =>
      LUMINANCE_WEIGHTS.reduce((sum, weight, band) => sum + weight * pick(stats[band] ?? stats[0]!), 0);
    return [
      {
        mean: weighted((band) => band.mean),
        std: weighted((band) => band.std),
        min: weighted((band) => band.min),
        max: weighted((band) => band.max),
      },
    ];
  }
  return copiedBands(conversion, source, target)!.map((band) => ({ ...stats[band]! }));
}
