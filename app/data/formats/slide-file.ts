/**
 * A whole-slide image as a {@link SampleFile}: one sample (level 0), huge when over
 * {@link HUGE_PIXELS} (then read by windows only), its thumbnail from the smallest level, its
 * tissue mask (`tissue.ts`) made once at import, and windows at any scale for training.
 *
 * Slides opened by path stay open for a while ({@link SLIDE_KEPT_MS}): training reads one window
 * per draw, and re-reading a slide's directories (a tile table per level) for each would cost
 * more than the window. At most {@link OPEN_SLIDES} stay open; decoded tiles share one bounded
 * cache (`slide-tiles.ts`).
 */
import type { ImageMeta } from '../../contract';
import { DecodeError } from './decode';
import type { Raster } from './raster';
import type { SampleFile } from './sample-files';
import { isSlide, slideLayoutOf, slideMeta, type SlideLayout } from './slide';
import { readLevelWindow, readSlideWindow } from './slide-tiles';
import { DEFAULT_TISSUE, tissueMask } from './tissue';
import {
  fileByteSource,
  memoryByteSource,
  readTiffDirectories,
  type ByteSource,
  type TiffDirectory,
} from './tiff-directories';
import { HUGE_PIXELS, type Region } from './tiff';

/** Slides kept open at most. */
export const OPEN_SLIDES = 8;
/** How long a slide opened by path stays open after its last read. */
export const SLIDE_KEPT_MS = 30_000;

/** A slide's sample file, with windows at any scale. */
export interface SlideFile extends SampleFile {
  slide: SlideLayout;
  /** A level-0 region resampled to `width × height`, read from the fittest level. */
  readScaled(region: Region, width: number, height: number): Promise<Raster>;
}

interface OpenSlide {
  layout: SlideLayout | null;
  source: ByteSource;
  timer?: NodeJS.Timeout;
}

const open = new Map<string, Promise<OpenSlide>>();

/**
 * Opens a TIFF as a slide, or returns null when it is not one (`slide.ts` says what is). Throws
 * {@link DecodeError} naming the file and field when it is a slide with a broken structure.
 */
export async function openSlideFile(source: {
  bytes: Uint8Array | null;
  path: string;
  size?: number;
}): Promise<SlideFile | null> {
  const key = source.bytes ? null : `${source.path}|${source.size ?? ''}`;
  let entry = key ? open.get(key) : undefined;
  if (!entry) {
    entry = openSlide(source);
    if (key) {
      open.set(key, entry);
      entry.catch(() => open.delete(key));
      while (open.size > OPEN_SLIDES) void closeSlide(open.keys().next().value!);
    }
  }
  const slide = await entry;
  if (!slide.layout) {
    // Not a slide: nothing is kept open for it.
    if (key) open.delete(key);
    await slide.source.close();
    return null;
  }
  if (key) {
    clearTimeout(slide.timer);
    slide.timer = setTimeout(() => void closeSlide(key), SLIDE_KEPT_MS);
    slide.timer.unref();
  }
  return slideSampleFile(slide.layout, key ?? source.path);
}

async function openSlide(source: { bytes: Uint8Array | null; path: string }): Promise<OpenSlide> {
  const byteSource = source.bytes ? memoryByteSource(source.bytes) : await fileByteSource(source.path);
  try {
    let directories: TiffDirectory[];
    try {
      ({ directories } = await readTiffDirectories(byteSource));
    } catch {
      // Not readable as a slide: the general TIFF reader opens it and words its own failure.
      return { layout: null, source: byteSource };
    }
    const layout = isSlide(directories) ? slideLayoutOf(directories, byteSource, source.path) : null;
    return { layout, source: byteSource };
  } catch (error) {
    await byteSource.close();
    throw error;
  }
}

async function closeSlide(key: string): Promise<void> {
  const entry = open.get(key);
  open.delete(key);
  const slide = await entry?.catch(() => null);
  if (slide) {
    clearTimeout(slide.timer);
    await slide.source.close();
  }
}

function slideSampleFile(layout: SlideLayout, key: string): SlideFile {
  const base = layout.levels[0]!;
  const huge = base.width * base.height > HUGE_PIXELS;
  return {
    format: 'slide',
    slide: layout,
    samples: [
      {
        width: base.width,
        height: base.height,
        bands: base.bands,
        sampleType: 'uint8',
        bitDepth: 8,
        meta: huge ? { ...slideMeta(layout), huge: true } : slideMeta(layout),
        // Brightfield colours as scanned: thumbnails are not stretched band by band.
        window: { center: 127.5, width: 255 },
        invert: false,
        nodata: null,
        huge,
      },
    ],
    blocks: { width: base.tileWidth, height: base.tileHeight },
    read: (index, region) => {
      if (index !== 0) throw new DecodeError(`${layout.file}: a slide has one sample, not ${index + 1}`);
      if (!region && huge) throw new DecodeError(`${layout.file}: a slide this large is read by windows only`);
      return readLevelWindow(layout, key, 0, region ?? { x: 0, y: 0, width: base.width, height: base.height });
    },
    readOverview: (_index, maxPixels) => readSmallLevel(layout, key, maxPixels),
    readScaled: (region, width, height) => readSlideWindow(layout, key, region, width, height),
    extraMeta: async () => tissueMeta(layout, key),
    // Slides opened by path are closed by the cache; one read from bytes holds no handle.
    close: async () => {},
  };
}

/**
 * The whole slide at the largest level of at most `maxPixels`; when even the smallest level is
 * larger, the whole slide averaged down from the smallest level if that one has at most 4 ×
 * `maxPixels`, else null (the importer then makes a mosaic of tiles).
 */
async function readSmallLevel(layout: SlideLayout, key: string, maxPixels: number): Promise<Raster | null> {
  const fitting = layout.levels.findIndex((level) => level.width * level.height <= maxPixels);
  if (fitting >= 0) {
    const level = layout.levels[fitting]!;
    return readLevelWindow(layout, key, fitting, { x: 0, y: 0, width: level.width, height: level.height });
  }
  const smallest = layout.levels[layout.levels.length - 1]!;
  if (smallest.width * smallest.height > 4 * maxPixels) return null;
  const scale = Math.sqrt(maxPixels / (smallest.width * smallest.height));
  const base = layout.levels[0]!;
  return readSlideWindow(
    layout,
    key,
    { x: 0, y: 0, width: base.width, height: base.height },
    Math.max(1, Math.floor(smallest.width * scale)),
    Math.max(1, Math.floor(smallest.height * scale)),
  );
}

/** The tissue mask from the smallest level (or a reduction of it); none when it cannot be read small. */
async function tissueMeta(layout: SlideLayout, key: string): Promise<Partial<ImageMeta>> {
  const raster = await readSmallLevel(layout, key, DEFAULT_TISSUE.maxPixels);
  if (!raster) return {};
  const base = layout.levels[0]!;
  return { tissue: tissueMask(raster, base.width, base.height) };
}
