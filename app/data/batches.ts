/**
 * Training batches from image files: decode at native bit depth (the importer's `decodeImage`,
 * so channels match the import statistics), keep decoded
 * images in an in-memory LRU cache within a byte budget, then per sample a random resized
 * crop + horizontal flip (app/train/augment.ts) and per-channel normalisation.
 *
 * Pixel scaling: a stored value v becomes v / (2^bitDepth − 1) in [0, 1], then
 * (x − mean[c]) / std[c]; `mean` and `std` are given in that [0, 1] scale (the import
 * statistics). Samples are drawn uniformly with replacement from the explicit `rng`, so a
 * run is reproducible and resumable without saving any sampler state.
 */
import { readFile } from 'node:fs/promises';
import type { Rng } from '../mae/rng';
import { augment, DEFAULT_AUGMENT, type AugmentOptions, type PlanarImage } from '../train/augment';
import type { Batch, BatchSource } from '../train/trainer';
import { decodeImage } from './decode';
import { formatOfFileName } from './formats';

/** One training image as the store knows it. */
export interface ImageEntry {
  path: string;
  channels: number;
  bitDepth: 8 | 16;
}

/** Options of `fileBatchSource`. */
export interface FileBatchOptions {
  images: ImageEntry[];
  /** Output side (the model's imgSize). */
  imgSize: number;
  /** Per-channel mean in [0, 1] units. */
  mean: number[];
  /** Per-channel standard deviation in [0, 1] units. */
  std: number[];
  /** Bytes of decoded float images kept in memory (default 512 MiB). */
  cacheBytes?: number;
  augment?: AugmentOptions;
}

/** Decodes one file to planar float [C, H, W] scaled to [0, 1]. Throws naming the file. */
export async function decodePlanar(entry: ImageEntry): Promise<PlanarImage> {
  let decoded;
  try {
    decoded = await decodeImage(new Uint8Array(await readFile(entry.path)), formatOfFileName(entry.path) ?? '');
  } catch (error) {
    throw new Error(`${entry.path}: ${(error as Error).message}`);
  }
  const { width, height, channels, bitDepth, pixels } = decoded;
  if (channels !== entry.channels || bitDepth !== entry.bitDepth) {
    throw new Error(`${entry.path}: decoded ${channels} channels at ${bitDepth} bits, the dataset says ${entry.channels} at ${entry.bitDepth}`);
  }
  const scale = 1 / (2 ** bitDepth - 1);
  const planar = new Float32Array(channels * height * width);
  for (let index = 0; index < height * width; index++) {
    for (let c = 0; c < channels; c++) planar[c * height * width + index] = pixels[index * channels + c]! * scale; // HWC → CHW
  }
  return { data: planar, channels, height, width };
}

/** A byte-budgeted LRU of decoded images (Map iteration order is recency). */
class DecodedCache {
  private readonly entries = new Map<string, PlanarImage>();
  private bytes = 0;

  constructor(private readonly budget: number) {}

  get(path: string): PlanarImage | undefined {
    const image = this.entries.get(path);
    if (image) { this.entries.delete(path); this.entries.set(path, image); }
    return image;
  }

  set(path: string, image: PlanarImage): void {
    if (image.data.byteLength > this.budget) return; // would evict everything for one image
    this.entries.set(path, image);
    this.bytes += image.data.byteLength;
    for (const [oldest, old] of this.entries) {
      if (this.bytes <= this.budget) break;
      this.entries.delete(oldest);
      this.bytes -= old.data.byteLength;
    }
  }
}

/** A `BatchSource` over image files; throws naming the file when one cannot be decoded. */
export function fileBatchSource(options: FileBatchOptions): BatchSource {
  const { images, imgSize, mean, std } = options;
  if (images.length === 0) throw new Error('fileBatchSource needs at least one image');
  const channels = images[0]!.channels;
  if (images.some((image) => image.channels !== channels)) throw new Error(`all images must have ${channels} channels`);
  if (mean.length !== channels || std.length !== channels) {
    throw new Error(`mean and std need ${channels} values, got ${mean.length} and ${std.length}`);
  }
  if (std.some((s) => !(s > 0))) throw new Error(`std must be positive, got ${JSON.stringify(std)}`);
  const cache = new DecodedCache(options.cacheBytes ?? 512 * 2 ** 20);
  const load = async (entry: ImageEntry): Promise<PlanarImage> => {
    const cached = cache.get(entry.path);
    if (cached) return cached;
    const decoded = await decodePlanar(entry);
    cache.set(entry.path, decoded);
    return decoded;
  };
  return {
    async next(rng: Rng, batchSize: number): Promise<Batch> {
      const chosen = Array.from({ length: batchSize }, () => images[rng.int(images.length)]!); // all draws before any await
      const decoded = await Promise.all(chosen.map(load));
      const plane = imgSize * imgSize;
      const batch = new Float32Array(batchSize * channels * plane);
      decoded.forEach((image, b) => {
        const sample = batch.subarray(b * channels * plane, (b + 1) * channels * plane);
        augment(image, imgSize, rng, options.augment ?? DEFAULT_AUGMENT, sample);
        for (let c = 0; c < channels; c++) {
          const inverse = 1 / std[c]!;
          for (let k = c * plane; k < (c + 1) * plane; k++) sample[k] = (sample[k]! - mean[c]!) * inverse;
        }
      });
      return { images: batch, batchSize, channels, height: imgSize, width: imgSize };
    },
  };
}
