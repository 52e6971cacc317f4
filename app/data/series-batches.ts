/**
 * Training batches of image series (SatMAE temporal, Cong et al. 2022): each sample is T dates of
 * one place. A place is drawn, then T of its dates (distinct, kept in date order, as the
 * reference draws three images of a location), each read and normalised by the channel plan;
 * frames of another size than the first are resampled to it, and the frames are stacked as
 * channels [T·C, H, W] so one random resized crop and flip moves them alike (the reference
 * concatenates them before its transforms for the same reason). The batch carries each frame's
 * timestamp: years since the run's first year, month − 1, hour.
 *
 * Reads go through the in-memory LRU of decoded images, not the training cache's shards: a
 * temporal run reads its files (the decoded cache keys single images). Huge images are refused.
 */
import type { Rng } from '../mae/rng';
import { augment, DEFAULT_AUGMENT, resizeBox, type AugmentOptions, type PlanarImage } from './augment';
import type { Batch, BatchSource } from './batch';
import { DecodedCache, decodePlanar, sampleKey, type ChannelTransform, type ImageEntry } from './batches';

/** One place's dated images, oldest first. */
export interface PlaceSeries {
  place: string;
  frames: { entry: ImageEntry; timestamp: [number, number, number] }[];
}

/** Options of `seriesBatchSource`. */
export interface SeriesBatchOptions {
  /** Places with at least `frames` dates each. */
  places: PlaceSeries[];
  /** Dates per sample (T). */
  frames: number;
  imgSize: number;
  /** The channel plan's normalisation (every temporal run has one). */
  transform: ChannelTransform;
  augment?: AugmentOptions;
  /** Bytes of decoded images kept in memory (default 512 MiB). */
  cacheBytes?: number;
}

/** `count` distinct indices of 0..size−1 drawn from `rng`, ascending (partial Fisher–Yates). */
export function drawDates(size: number, count: number, rng: Rng): number[] {
  const order = Array.from({ length: size }, (_, index) => index);
  for (let index = 0; index < count; index++) {
    const pick = index + rng.int(size - index);
    [order[index], order[pick]] = [order[pick]!, order[index]!];
  }
  return order.slice(0, count).sort((a, b) => a - b);
}

/** Frames stacked as channels, each resampled to the first frame's size when it differs. */
export function stackFrames(frames: readonly PlanarImage[]): PlanarImage {
  const { height, width } = frames[0]!;
  const channels = frames.reduce((sum, frame) => sum + frame.channels, 0);
  const data = new Float32Array(channels * height * width);
  let offset = 0;
  for (const frame of frames) {
    const size = frame.channels * height * width;
    const same = frame.height === height && frame.width === width;
    const box = { top: 0, left: 0, height: frame.height, width: frame.width };
    data.set(same ? frame.data : resizeBox(frame, box, height, width, false), offset);
    offset += size;
  }
  return { data, channels, height, width };
}

/** A `BatchSource` of T-date samples; throws naming the place or file that cannot be used. */
export function seriesBatchSource(options: SeriesBatchOptions): BatchSource {
  const { places, frames, imgSize, transform } = options;
  if (places.length === 0) throw new Error(`no place has ${frames} dates or more to train on`);
  for (const place of places) {
    if (place.frames.length < frames)
      throw new Error(
        `place ${place.place} has ${place.frames.length} date${place.frames.length === 1 ? '' : 's'}; ` +
          `each sample needs ${frames}`,
      );
    const huge = place.frames.find((frame) => frame.entry.huge);
    if (huge) throw new Error(`${huge.entry.path}: huge images cannot be read as dates of a series yet`);
  }
  const channels = transform.bands.length;
  const cache = new DecodedCache(options.cacheBytes ?? 512 * 2 ** 20);
  const load = async (entry: ImageEntry): Promise<PlanarImage> => {
    const key = `${entry.path}#${sampleKey(entry)}`;
    const cached = cache.get(key);
    if (cached) return cached;
    const decoded = await decodePlanar(entry, transform);
    cache.set(key, decoded);
    return decoded;
  };
  return {
    async next(rng: Rng, batchSize: number): Promise<Batch> {
      // All draws of places and dates happen before any await (see batches.ts).
      const chosen = Array.from({ length: batchSize }, () => {
        const place = places[rng.int(places.length)]!;
        return drawDates(place.frames.length, frames, rng).map((index) => place.frames[index]!);
      });
      const decoded = await Promise.all(chosen.map((sample) => Promise.all(sample.map((frame) => load(frame.entry)))));
      const plane = imgSize * imgSize;
      const perSample = frames * channels * plane;
      const images = new Float32Array(batchSize * perSample);
      const timestamps = new Float32Array(batchSize * frames * 3);
      decoded.forEach((sample, b) => {
        augment(stackFrames(sample), imgSize, rng, options.augment ?? DEFAULT_AUGMENT, images.subarray(b * perSample));
        chosen[b]!.forEach((frame, t) => timestamps.set(frame.timestamp, (b * frames + t) * 3));
      });
      return { images, batchSize, channels: frames * channels, height: imgSize, width: imgSize, timestamps };
    },
  };
}
