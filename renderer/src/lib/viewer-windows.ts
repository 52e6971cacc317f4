/**
 * Which windows of an image the viewer reads and what it makes of them: how many output pixels
 * one `images.window` call may return, the region and step to read for the visible part of the
 * image at a zoom, whether a window already read covers it, the value under a pixel, the
 * display a first window opens with, and drawing the windows read onto the view.
 */
import type { ImageWindow } from '$contract';
import { bandPercentiles, stepFor, windowOfRange, type Display, type WindowLevel } from './window-level';

/** Native pixels per read of a huge image (the core's limit). */
export const HUGE_READ = 4096 * 4096;
/** Bytes of values per window call (a 2048² uint16 band; fewer pixels for many bands or floats). */
const WINDOW_BYTES = 8 * 2 ** 20;

/** A window read and its values, decoded. */
export interface ReadWindow {
  window: ImageWindow;
  values: ArrayLike<number>;
}

/** A region of the image in native pixels and the step to read it at. */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
  step: number;
}

/** Output pixels per window call: at most 2048² (the core's limit), fewer when each pixel is large. */
export function windowOutputLimit(channels: number, bitDepth: number): number {
  return Math.min(2048 * 2048, Math.max(256 * 256, Math.floor(WINDOW_BYTES / (channels * Math.ceil(bitDepth / 8)))));
}

/** Where the viewer looks: zoom (screen pixels per image pixel), centre in image pixels, box in CSS pixels. */
export interface ViewPlace {
  zoom: number;
  centerX: number;
  centerY: number;
  boxWidth: number;
  boxHeight: number;
  imageWidth: number;
  imageHeight: number;
  /** Device pixels per CSS pixel. */
  ratio: number;
}

/**
 * The visible region clamped to the image, read at the coarsest power-of-two step that still
 * gives a device pixel per value (and no more values than `maxOutput`); null when nothing shows.
 */
export function visibleRegion(place: ViewPlace, maxOutput: number): Region | null {
  const { zoom, centerX, centerY, boxWidth, boxHeight, imageWidth, imageHeight, ratio } = place;
  const x = Math.max(0, Math.floor(centerX - boxWidth / 2 / zoom));
  const y = Math.max(0, Math.floor(centerY - boxHeight / 2 / zoom));
  const width = Math.min(imageWidth, Math.ceil(centerX + boxWidth / 2 / zoom)) - x;
  const height = Math.min(imageHeight, Math.ceil(centerY + boxHeight / 2 / zoom)) - y;
  if (width <= 0 || height <= 0) return null;
  let step = 1;
  while (step * 2 <= 1 / (zoom * ratio)) step *= 2;
  return { x, y, width, height, step: Math.max(step, stepFor(width, height, maxOutput)) };
}

/** Whether `window` holds all of `region` at its step or finer. */
export function windowCovers(window: ImageWindow, region: Region): boolean {
  return (
    window.step <= region.step &&
    window.x <= region.x &&
    window.y <= region.y &&
    window.x + window.regionWidth >= region.x + region.width &&
    window.y + window.regionHeight >= region.y + region.height
  );
}

/** The values of every band at image pixel (x, y) from the first window holding it, with its step. */
export function valuesAt(
  windows: (ReadWindow | null)[],
  x: number,
  y: number,
): { values: number[]; step: number } | null {
  for (const read of windows) {
    if (!read) continue;
    const w = read.window;
    const column = Math.floor((x - w.x) / w.step);
    const row = Math.floor((y - w.y) / w.step);
    if (column < 0 || row < 0 || column >= w.width || row >= w.height) continue;
    const start = (row * w.width + column) * w.bands;
    return { values: Array.from({ length: w.bands }, (_, band) => read.values[start + band]!), step: w.step };
  }
  return null;
}

/** The file's own VOI window, else a 0.5–99.5 % stretch; three bands or more as RGB. */
export function defaultDisplay(window: ImageWindow, values: ArrayLike<number>): Display {
  if (window.bands >= 3) {
    const full = window.sampleType === 'uint8';
    const range = (band: number): [number, number] =>
      full ? [0, 255] : bandPercentiles(values, window.bands, band, 0.5, 99.5, window.nodata);
    return { mode: 'composite', bands: [0, 1, 2], ranges: [range(0), range(1), range(2)] };
  }
  const voi = window.windows[0];
  const level: WindowLevel = voi
    ? { width: voi.width, level: voi.center }
    : windowOfRange(bandPercentiles(values, window.bands, 0, 0.5, 99.5, window.nodata));
  return { mode: 'grey', band: 0, window: level };
}

/**
 * Draws the view: the image's thumbnail if given (huge images before their windows come), then
 * each window's painted canvas over it, coarse first, clipped to the image and placed by `place`
 * (smoothed only when zoomed out).
 */
export function drawView(
  canvas: HTMLCanvasElement,
  place: ViewPlace,
  thumbnail: HTMLImageElement | null,
  layers: ({ window: ImageWindow; canvas: HTMLCanvasElement } | null)[],
): void {
  const { zoom, centerX, centerY, boxWidth, boxHeight, imageWidth, imageHeight, ratio } = place;
  canvas.width = Math.round(boxWidth * ratio);
  canvas.height = Math.round(boxHeight * ratio);
  const context = canvas.getContext('2d')!;
  context.setTransform(1, 0, 0, 1, 0, 0);
  context.clearRect(0, 0, canvas.width, canvas.height);
  const scale = zoom * ratio;
  context.setTransform(
    scale,
    0,
    0,
    scale,
    ratio * (boxWidth / 2 - centerX * zoom),
    ratio * (boxHeight / 2 - centerY * zoom),
  );
  context.imageSmoothingEnabled = zoom < 1;
  context.beginPath();
  context.rect(0, 0, imageWidth, imageHeight);
  context.clip();
  if (thumbnail) context.drawImage(thumbnail, 0, 0, imageWidth, imageHeight);
  for (const layer of layers) {
    if (!layer) continue;
    const { x, y, width, height, step } = layer.window;
    context.drawImage(layer.canvas, x, y, width * step, height * step);
  }
}
