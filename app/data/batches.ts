/**
 * Training batches from image files: read each sample in its own units (sharp for plain images,
 * `formats/sample-files.ts` for DICOM frames, OME planes, GeoTIFF and huge TIFFs), keep decoded samples in an
 * in-memory LRU within a byte budget, then per sample a random resized crop + horizontal flip
 * (app/data/augment.ts), normalised per channel.
 *
 * Normalisation: with a {@link ChannelTransform} (every plan made since the channel plan), each
 * image is first converted to the plan's input bands (its channel count's conversion: grey
 * repeated, RGB to luminance, alpha dropped; `entry-conversion.ts`), then the chosen bands in order, each clipped
 * when the plan says so, become (v − center) / spread in the file's own units — this is how mean/std, percentile clip
 * and fixed-divisor scaling are all expressed. Without one (runs planned before), v / (2^bitDepth − 1), then (x − mean)
 * / std.
 *
 * Huge images (imported by header) are never decoded whole: each draw reads a random window of
 * at most {@link HUGE_WINDOW}·imgSize on a side, from the tiles or strips that cover it.
 * Samples and windows are drawn from the explicit `rng` before any read, so a run is
 * reproducible and resumable without saving sampler state.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Rng } from '../mae/rng';
import { augment, DEFAULT_AUGMENT, type AugmentOptions, type PlanarImage } from './augment';
import type { Batch, BatchSource } from './batch';
import type { ChannelConversion } from '../contract';
import { decodeImage } from './formats/decode';
import { checkBands, convertEntry, planesOf } from './entry-conversion';
import { namedFormat, SNIFF_BYTES } from './formats/formats';
import type { Raster } from './formats/raster';
import { openOmeZarr } from './formats/ome-zarr';
import { cropRaster, openSampleFile, type Region, type SampleFile } from './formats/sample-files';
import { openSlideFile } from './formats/slide-file';
import { centralSlideWindow, drawSlideWindow, slideReadSize, type SlideEntry } from './slide-sampling';
import { readSeriesPlane } from './volumes/series-slices';
import { openVolumeFile, readVolumePlane, type SeriesSlice, type VolumePlane } from './volumes/volume-planes';

/** One training sample as the store knows it. */
export interface ImageEntry {
  path: string;
  channels: number;
  bitDepth: number;
  /** Which sample of the file (DICOM frame, OME plane); 0 when absent. */
  frame?: number;
  /** Size, needed to draw windows of huge images. */
  width?: number;
  height?: number;
  /** Imported by header: read by windows only. */
  huge?: boolean;
  /** Value marking missing pixels; it becomes the channel's center (0 after normalisation). */
  nodata?: number | null;
  /** The file's content hash at import: the training cache's key. */
  sha256?: string | null;
  /**
   * A plane of a NIfTI volume cut along any axis, with 2.5-D neighbours (`volumes/volume-planes.ts`);
   * then `channels` is the file's bands per plane and reads give (2n + 1) × as many.
   */
  plane?: VolumePlane;
  /** A whole-slide image: windows drawn on tissue at the plan's scale (`slide-sampling.ts`). */
  slide?: SlideEntry;
}

/** Per model channel: the source band, an optional clip, and (v − center) / spread. */
export interface ChannelTransform {
  /**
   * Bands every image is converted to before `bands` picks from them, and the conversion of
   * each channel count (absent in plans made before conversions: images are read as they are).
   */
  inputChannels?: number;
  conversions?: Record<string, ChannelConversion>;
  bands: number[];
  clip: ([number, number] | null)[];
  center: number[];
  spread: number[];
}

/** Options of `fileBatchSource`. */
export interface FileBatchOptions {
  images: ImageEntry[];
  /** Output side (the model's imgSize). */
  imgSize: number;
  /** Per-channel mean and std in [0, 1] units (plans without a transform). */
  mean?: number[];
  std?: number[];
  /** The channel plan's normalisation; when given, `mean` and `std` are not used. */
  transform?: ChannelTransform;
  /** Bytes of decoded float images kept in memory (default 512 MiB). */
  cacheBytes?: number;
  augment?: AugmentOptions;
}

/** Windows of huge images are at most this many times the model's input side. */
export const HUGE_WINDOW = 4;

/** Reads one sample (or a window of it) in its own units. Throws naming the file. */
export async function readEntry(entry: ImageEntry, region?: Region): Promise<Raster> {
  let file: SampleFile | null = null;
  try {
    if (entry.plane) {
      // A series' plane reads only the slices it needs; a NIfTI file's by offsets.
      const plane = entry.plane.series
        ? await readSeriesEntry(entry, entry.plane)
        : readVolumePlane(await openVolumeFile(entry.path), entry.plane);
      return region ? cropRaster(plane, region) : plane;
    }
    // A slide's windows are level-0 regions read at the plan's scale from the fittest level.
    if (entry.slide && region) {
      const slide = await openSlideFile({ bytes: null, path: entry.path, size: (await stat(entry.path)).size });
      if (!slide) throw new Error('it is no longer a whole-slide image; import it again');
      const size = slideReadSize(entry.slide, region);
      return await slide.readScaled(region, size.width, size.height);
    }
    // An OME-Zarr image is a folder of chunks, read by zarrita.
    if ((await stat(entry.path)).isDirectory()) {
      file = await openOmeZarr(entry.path);
      return await file.read(entry.frame ?? 0, region);
    }
    const source = entry.huge
      ? { bytes: null, head: await readHead(entry.path), path: entry.path, size: Number.MAX_SAFE_INTEGER }
      : { bytes: new Uint8Array(await readFile(entry.path)), path: entry.path };
    file = await openSampleFile(source, entry.path);
    if (file) return await file.read(entry.frame ?? 0, region);
    const decoded = await decodeImage(source.bytes!, namedFormat(source.bytes!, entry.path));
    const raster: Raster = {
      width: decoded.width,
      height: decoded.height,
      bands: decoded.channels,
      sampleType: decoded.bitDepth === 16 ? 'uint16' : 'uint8',
      values: decoded.pixels,
    };
    return raster;
  } catch (error) {
    throw new Error(`${entry.path}: ${(error as Error).message}`);
  } finally {
    await file?.close();
  }
}

/**
 * A plane of a series, read from the slices it needs. The frames of a file holding several slices
 * of the series (an enhanced multi-frame DICOM) are read from one opening of that file, kept for
 * the plane's read, so such a file is read once per plane rather than once per frame.
 */
async function readSeriesEntry(entry: ImageEntry, plane: VolumePlane): Promise<Raster> {
  const perFile = new Map<string, number>();
  for (const slice of plane.series!.slices) perFile.set(slice.path, (perFile.get(slice.path) ?? 0) + 1);
  const opened = new Map<string, Promise<SampleFile | null>>();
  const readSlice = async (slice: SeriesSlice): Promise<Raster> => {
    const alone = () => readEntry({ ...entry, ...slice, plane: undefined });
    if (perFile.get(slice.path)! < 2) return alone();
    let file = opened.get(slice.path);
    if (!file) {
      file = readFile(slice.path).then((bytes) =>
        openSampleFile({ bytes: new Uint8Array(bytes), path: slice.path }, slice.path),
      );
      opened.set(slice.path, file);
    }
    const sampleFile = await file;
    return sampleFile ? sampleFile.read(slice.frame) : alone();
  };
  try {
    return await readSeriesPlane(plane, readSlice);
  } finally {
    for (const file of opened.values()) await (await file.catch(() => null))?.close();
  }
}

async function readHead(path: string): Promise<Uint8Array> {
  const { open } = await import('node:fs/promises');
  const handle = await open(path, 'r');
  try {
    // As much as sniffFormat looks at: a DICOM's preamble may start like a TIFF.
    const buffer = new Uint8Array(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Decodes one sample (or a window) to planar float [C, H, W]: normalised by `transform` when
 * given, else scaled to [0, 1] by its bit depth. Throws naming the file.
 */
export async function decodePlanar(
  entry: ImageEntry,
  transform?: ChannelTransform,
  region?: Region,
): Promise<PlanarImage> {
  const read = await readEntry(entry, region);
  checkBands(entry, read);
  const raster = convertEntry(entry.path, read, transform, planesOf(entry));
  const { width, height, bands, values } = raster;
  if (!transform && raster.sampleType !== (entry.bitDepth === 16 ? 'uint16' : 'uint8')) {
    throw new Error(
      `${entry.path}: decoded ${raster.sampleType} values ` +
        `at ${entry.bitDepth} bits; plan the run again to normalise them`,
    );
  }
  const pixels = height * width;
  const channels = transform ? transform.bands.length : bands;
  const planar = new Float32Array(channels * pixels);
  for (let c = 0; c < channels; c++) {
    const band = transform ? transform.bands[c]! : c;
    if (band >= bands)
      throw new Error(`${entry.path}: the channel plan reads band ${band + 1}, the image has ${bands}`);
    const clip = transform?.clip[c] ?? null;
    const low = clip ? clip[0] : -Infinity;
    const high = clip ? clip[1] : Infinity;
    const center = transform ? transform.center[c]! : 0;
    const inverse = transform ? 1 / transform.spread[c]! : 1 / (2 ** entry.bitDepth - 1);
    const nodata = entry.nodata ?? null;
    for (let index = 0; index < pixels; index++) {
      let value = values[index * bands + band]!;
      // Missing pixels (NaN, nodata) become the channel's center: zero after normalisation.
      if (Number.isNaN(value) || value === nodata) value = center;
      value = value < low ? low : value > high ? high : value;
      planar[c * pixels + index] = (value - center) * inverse; // HWC → CHW
    }
  }
  return { data: planar, channels, height, width };
}

/** Which sample of its file an entry reads: its frame, or a volume plane's axis, index, volume and neighbours. */
export function sampleKey(entry: ImageEntry): string {
  const { plane } = entry;
  if (!plane) return String(entry.frame ?? 0);
  const key = `${'ijk'[plane.axis]}${plane.index}t${plane.time}n${plane.neighbours}`;
  // A series' planes depend on which of its slices are kept: their list is part of the key.
  return plane.series
    ? `${key}s${fnv1a(plane.series.slices.map((slice) => `${slice.path}#${slice.frame}`).join('\0'))}`
    : key;
}

/** 32-bit FNV-1a of a string, in hex (a short, stable key; not a security hash). */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, '0');
}

/** A byte-budgeted LRU of decoded images (Map iteration order is recency); series batches use it too. */
export class DecodedCache {
  private readonly entries = new Map<string, PlanarImage>();
  private bytes = 0;

  constructor(private readonly budget: number) {}

  get(key: string): PlanarImage | undefined {
    const image = this.entries.get(key);
    if (image) {
      this.entries.delete(key);
      this.entries.set(key, image);
    }
    return image;
  }

  set(key: string, image: PlanarImage): void {
    if (image.data.byteLength > this.budget) return; // would evict everything for one image
    this.entries.set(key, image);
    this.bytes += image.data.byteLength;
    for (const [oldest, old] of this.entries) {
      if (this.bytes <= this.budget) break;
      this.entries.delete(oldest);
      this.bytes -= old.data.byteLength;
    }
  }
}

/** A random window of a huge sample or a slide, drawn from `rng` (whole image when small). */
export function drawWindow(entry: ImageEntry, imgSize: number, rng: Rng): Region | undefined {
  if (entry.slide && entry.width && entry.height)
    return drawSlideWindow({ width: entry.width, height: entry.height, slide: entry.slide }, imgSize, rng);
  if (!entry.huge || !entry.width || !entry.height) return undefined;
  const side = Math.min(entry.width, entry.height, HUGE_WINDOW * imgSize);
  return { x: rng.int(entry.width - side + 1), y: rng.int(entry.height - side + 1), width: side, height: side };
}

/** The central window of a huge sample or a slide (validation reads the same pixels every time). */
export function centralWindow(entry: ImageEntry, imgSize: number): Region | undefined {
  if (entry.slide && entry.width && entry.height)
    return centralSlideWindow({ width: entry.width, height: entry.height, slide: entry.slide }, imgSize);
  if (!entry.huge || !entry.width || !entry.height) return undefined;
  const side = Math.min(entry.width, entry.height, HUGE_WINDOW * imgSize);
  return {
    x: Math.floor((entry.width - side) / 2),
    y: Math.floor((entry.height - side) / 2),
    width: side,
    height: side,
  };
}

/** Pixels a read of `window` gives: a slide's is scaled to the plan's microns per pixel. */
export function windowReadSize(entry: ImageEntry, window: Region): { width: number; height: number } {
  return entry.slide ? slideReadSize(entry.slide, window) : { width: window.width, height: window.height };
}

/** A `BatchSource` over image files; throws naming the file when one cannot be decoded. */
export function fileBatchSource(options: FileBatchOptions): BatchSource {
  const { images, imgSize, transform } = options;
  if (images.length === 0) throw new Error('fileBatchSource needs at least one image');
  const inputChannels = images[0]!.channels;
  // With conversions every image is brought to the plan's input bands; without, all must match.
  if (!transform?.conversions && images.some((image) => image.channels !== inputChannels))
    throw new Error(`all images must have ${inputChannels} channels`);
  const channels = transform ? transform.bands.length : inputChannels;
  const mean = options.mean ?? [];
  const std = options.std ?? [];
  if (!transform) {
    if (mean.length !== channels || std.length !== channels)
      throw new Error(`mean and std need ${channels} values, got ${mean.length} and ${std.length}`);
    if (std.some((s) => !(s > 0))) throw new Error(`std must be positive, got ${JSON.stringify(std)}`);
  } else if (transform.spread.some((s) => !(s > 0))) {
    throw new Error(`the channel plan's spreads must be positive, got ${JSON.stringify(transform.spread)}`);
  }
  const cache = new DecodedCache(options.cacheBytes ?? 512 * 2 ** 20);
  const load = async (entry: ImageEntry, window: Region | undefined): Promise<PlanarImage> => {
    if (window) return decodePlanar(entry, transform, window); // windows of huge images are not cached
    const key = `${entry.path}#${sampleKey(entry)}`;
    const cached = cache.get(key);
    if (cached) return cached;
    const decoded = await decodePlanar(entry, transform);
    cache.set(key, decoded);
    return decoded;
  };
  return {
    async next(rng: Rng, batchSize: number): Promise<Batch> {
      // All draws happen before any await, so a seed gives the same batches however reads interleave.
      const chosen = Array.from({ length: batchSize }, () => images[rng.int(images.length)]!);
      const windows = chosen.map((entry) => drawWindow(entry, imgSize, rng));
      const decoded = await Promise.all(chosen.map((entry, index) => load(entry, windows[index])));
      const plane = imgSize * imgSize;
      const batch = new Float32Array(batchSize * channels * plane);
      decoded.forEach((image, b) => {
        const sample = batch.subarray(b * channels * plane, (b + 1) * channels * plane);
        augment(image, imgSize, rng, options.augment ?? DEFAULT_AUGMENT, sample);
        if (transform) return;
        for (let c = 0; c < channels; c++) {
          const inverse = 1 / std[c]!;
          for (let k = c * plane; k < (c + 1) * plane; k++) sample[k] = (sample[k]! - mean[c]!) * inverse;
        }
      });
      return { images: batch, batchSize, channels, height: imgSize, width: imgSize };
    },
  };
}
