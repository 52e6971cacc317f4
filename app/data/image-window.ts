/**
 * Windows of an image's real values for the viewer: a region of one sample (any frame of its
 * file), every `step`-th pixel, in the sample's own units. Huge TIFFs are read by the tiles that
 * cover the region and never decoded whole (slides from the pyramid level that fits the step, so any
 * zoom reads); other files are decoded once and kept for the next
 * windows of the same sample (the viewer pans and zooms over one image at a time).
 */
import { StudioError, type ImageWindow, type ImageWindowQuery } from '../contract';
import type { Workspace } from '../workspace';
import { readEntry, type ImageEntry } from './batches';
import { stat } from 'node:fs/promises';
import type { Raster } from './formats/raster';
import { openSlideFile } from './formats/slide-file';
import type { Region } from './formats/sample-files';

/** Limits that keep one window call small enough for the UI's transport and memory. */
export const WINDOW_LIMITS = {
  /** Pixels in the returned grid (2048²: a full-screen canvas at most). */
  outputPixels: 2048 * 2048,
  /** Native pixels read from a huge image for one window (4096², about 32 MiB at 16 bits). */
  hugeReadPixels: 4096 * 4096,
  /** Decoded samples kept for the next window. */
  cachedSamples: 2,
} as const;

/** Every `step`-th pixel of a region of a raster, as a raster of the same sample type. */
export function sampleRegion(raster: Raster, region: Region, step: number): Raster {
  const { bands } = raster;
  const width = Math.ceil(region.width / step);
  const height = Math.ceil(region.height / step);
  const values = new (raster.values.constructor as new (length: number) => Raster['values'])(width * height * bands);
  for (let row = 0; row < height; row++) {
    const sourceRow = (region.y + row * step) * raster.width;
    for (let column = 0; column < width; column++) {
      const source = (sourceRow + region.x + column * step) * bands;
      const target = (row * width + column) * bands;
      for (let band = 0; band < bands; band++) values[target + band] = raster.values[source + band]!;
    }
  }
  return { width, height, bands, sampleType: raster.sampleType, values };
}

/** A region of a slide at one value per `step` level-0 pixels, from its pyramid. */
async function readSlideRegion(file: string, region: Region, step: number): Promise<Raster> {
  const slide = await openSlideFile({ bytes: null, path: file, size: (await stat(file)).size });
  if (!slide) throw new StudioError('INVALID_ARGUMENT', `${file} is no longer a whole-slide image; import it again`);
  return slide.readScaled(region, Math.ceil(region.width / step), Math.ceil(region.height / step));
}

/** Reads windows of images; keeps the last decoded samples. */
export class ImageWindows {
  readonly #cache = new Map<string, Promise<Raster>>();

  async read(
    workspace: Workspace,
    imageId: number,
    query: Required<Pick<ImageWindowQuery, 'x' | 'y' | 'step'>> & ImageWindowQuery,
  ): Promise<ImageWindow> {
    const image = workspace.images.get(imageId);
    if (image.error !== null)
      throw new StudioError(
        'INVALID_ARGUMENT',
        `image ${imageId} could not be imported (${image.error}): there are no pixels to show`,
        { imageId },
      );
    const samples = workspace.images.samplesOf(image.projectId, image.path);
    const frame = query.frame ?? image.frame ?? 0;
    const sample = samples.find((entry) => entry.frame === frame);
    const frames = Math.max(samples.length, image.meta?.frames ?? 1);
    if (frame >= frames)
      throw new StudioError(
        'INVALID_ARGUMENT',
        `frame ${frame} does not exist: ${image.path} has ${frames} ${frames === 1 ? 'frame' : 'frames'}`,
        { imageId, frame },
      );
    const meta = sample?.meta ?? image.meta ?? null;
    const imageWidth = image.width ?? 0;
    const imageHeight = image.height ?? 0;
    if (query.x >= imageWidth || query.y >= imageHeight) {
      throw new StudioError(
        'INVALID_ARGUMENT',
        `window origin ${query.x},${query.y} is outside the ${imageWidth}×${imageHeight} image`,
        { imageId },
      );
    }
    const region: Region = {
      x: query.x,
      y: query.y,
      width: Math.min(query.width ?? imageWidth, imageWidth - query.x),
      height: Math.min(query.height ?? imageHeight, imageHeight - query.y),
    };
    const { step } = query;
    const output = Math.ceil(region.width / step) * Math.ceil(region.height / step);
    if (output > WINDOW_LIMITS.outputPixels) {
      throw new StudioError(
        'INVALID_ARGUMENT',
        `a window of ${region.width}×${region.height} at step ${step} is ${output} pixels; ` +
          `at most ${WINDOW_LIMITS.outputPixels} per call: use a larger step or a smaller region`,
        { imageId },
      );
    }
    const entry: ImageEntry = {
      path: image.path,
      channels: image.channels ?? 1,
      bitDepth: image.bitDepth ?? 8,
      frame,
      width: imageWidth,
      height: imageHeight,
      huge: meta?.huge === true,
      nodata: meta?.nodata ?? null,
    };
    let raster: Raster;
    if (entry.huge && meta?.slide) {
      // A slide's pyramid serves any zoom: the window comes from the level nearest the step, averaged.
      raster = await readSlideRegion(image.path, region, step);
    } else if (entry.huge) {
      if (region.width * region.height > WINDOW_LIMITS.hugeReadPixels) {
        throw new StudioError(
          'INVALID_ARGUMENT',
          `${image.path} is too large to read whole: a window reads at most ${WINDOW_LIMITS.hugeReadPixels} ` +
            `native pixels, this one ${region.width * region.height}; zoom in`,
          { imageId },
        );
      }
      raster = sampleRegion(
        await readEntry(entry, region),
        { x: 0, y: 0, width: region.width, height: region.height },
        step,
      );
    } else {
      raster = sampleRegion(await this.#sample(entry, image.sha256), region, step);
    }
    const values = raster.values;
    return {
      imageId,
      frame,
      frames,
      frameImageId: sample?.id ?? null,
      imageWidth,
      imageHeight,
      ...region,
      regionWidth: region.width,
      regionHeight: region.height,
      step,
      width: raster.width,
      height: raster.height,
      bands: raster.bands,
      sampleType: raster.sampleType,
      values: Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64'),
      unit: meta?.modality === 'CT' ? 'HU' : null,
      modality: meta?.modality ?? null,
      bandNames: meta?.channelNames ?? [],
      windows: meta?.windows ?? [],
      nodata: meta?.nodata ?? null,
    };
  }

  /** The whole decoded sample, from the cache when it was read for the last windows. */
  #sample(entry: ImageEntry, sha256: string | null): Promise<Raster> {
    const key = `${entry.path}\u0000${entry.frame}\u0000${sha256}`;
    let raster = this.#cache.get(key);
    if (raster) this.#cache.delete(key);
    else raster = readEntry(entry);
    this.#cache.set(key, raster);
    raster.catch(() => this.#cache.delete(key));
    while (this.#cache.size > WINDOW_LIMITS.cachedSamples) this.#cache.delete(this.#cache.keys().next().value!);
    return raster;
  }
}
