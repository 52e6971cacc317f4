/**
 * Training windows of whole-slide images: where a window is drawn (on tissue, by the slide's
 * mask), how large it is in level-0 pixels (the plan's microns per pixel over the slide's), and
 * the size it is read at. See `SlideSampling` in the contract for the rule in words.
 *
 * Drawing is rejection sampling from the explicit generator: up to {@link SLIDE_DRAWS} positions
 * are drawn, the first whose tissue share reaches `minTissue` is taken, else the one with the
 * most tissue. All draws happen before any read, so a seed gives the same windows every time.
 */
import { DEFAULT_SLIDE_SAMPLING, type ImageMeta, type SlideSampling } from '../contract';
import type { Rng } from '../mae/rng';
import type { Region } from './formats/sample-files';
import { maskCells, tissueShare } from './formats/tissue';

/** Positions drawn at most per window before the most tissue-rich one is taken. */
export const SLIDE_DRAWS = 32;

/** What training needs of a slide: its scale for the plan, and its tissue. */
export interface SlideEntry {
  /** Level-0 pixels per training pixel (1: full resolution). */
  downsample: number;
  /** The tissue mask's cells (one byte each) and grid; null when the import made none. */
  tissue: { columns: number; rows: number; cells: Uint8Array } | null;
  minTissue: number;
}

/** The slide part of a training entry, from its stored metadata and the plan; undefined when not a slide. */
export function slideEntryOf(meta: ImageMeta | null, sampling: SlideSampling | undefined): SlideEntry | undefined {
  if (!meta?.slide) return undefined;
  const { micronsPerPixel, minTissue } = sampling ?? DEFAULT_SLIDE_SAMPLING;
  const mpp = meta.slide.mpp;
  const downsample = micronsPerPixel !== null && mpp !== null ? Math.max(1, micronsPerPixel / mpp) : 1;
  const tissue = meta.tissue
    ? { columns: meta.tissue.columns, rows: meta.tissue.rows, cells: maskCells(meta.tissue) }
    : null;
  return { downsample, tissue, minTissue };
}

/** A slide entry's size and sampling. */
export interface SlideImage {
  width?: number;
  height?: number;
  slide?: SlideEntry;
}

/** Side in level-0 pixels of a window that reads as `imgSize` training pixels (smaller on a small slide). */
function windowSide(image: Required<SlideImage>, imgSize: number): number {
  return Math.max(1, Math.min(image.width, image.height, Math.round(imgSize * image.slide.downsample)));
}

/** A random window on tissue, in level-0 pixels. */
export function drawSlideWindow(image: Required<SlideImage>, imgSize: number, rng: Rng): Region {
  const side = windowSide(image, imgSize);
  const { tissue, minTissue } = image.slide;
  let best: Region | null = null;
  let bestShare = -1;
  for (let attempt = 0; attempt < (tissue ? SLIDE_DRAWS : 1); attempt++) {
    const region = {
      x: rng.int(image.width - side + 1),
      y: rng.int(image.height - side + 1),
      width: side,
      height: side,
    };
    if (!tissue) return region;
    const share = tissueShare(tissue.cells, tissue, image.width, image.height, region);
    if (share >= minTissue) return region;
    if (share > bestShare) {
      best = region;
      bestShare = share;
    }
  }
  return best!;
}

/** The window on the tissue cell nearest the slide's centre (validation reads the same pixels every time). */
export function centralSlideWindow(image: Required<SlideImage>, imgSize: number): Region {
  const side = windowSide(image, imgSize);
  let centreX = image.width / 2;
  let centreY = image.height / 2;
  const tissue = image.slide.tissue;
  if (tissue) {
    let nearest = Number.POSITIVE_INFINITY;
    for (let cell = 0; cell < tissue.cells.length; cell++) {
      if (!tissue.cells[cell]) continue;
      const x = ((cell % tissue.columns) + 0.5) * (image.width / tissue.columns);
      const y = (Math.floor(cell / tissue.columns) + 0.5) * (image.height / tissue.rows);
      const distance = (x - image.width / 2) ** 2 + (y - image.height / 2) ** 2;
      if (distance < nearest) {
        nearest = distance;
        centreX = x;
        centreY = y;
      }
    }
  }
  const clamp = (value: number, size: number) => Math.min(size - side, Math.max(0, Math.round(value - side / 2)));
  return { x: clamp(centreX, image.width), y: clamp(centreY, image.height), width: side, height: side };
}

/** Pixels a slide window is read at: its level-0 size over the plan's downsample. */
export function slideReadSize(slide: SlideEntry, window: Region): { width: number; height: number } {
  return {
    width: Math.max(1, Math.round(window.width / slide.downsample)),
    height: Math.max(1, Math.round(window.height / slide.downsample)),
  };
}
