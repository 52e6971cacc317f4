/**
 * Thumbnails: an 8-bit JPEG of at most {@link THUMBNAIL_SIZE} px on the long side, made from the
 * already decoded pixels. 16-bit and low-contrast images are stretched per channel between
 * their 0.5 and 99.5 percentiles, so a dark 16-bit scan is visible; grey stays grey and only the
 * first three channels are shown.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import type { DecodedImage } from '../formats/decode';
import type { PixelSummary } from './stats';

/** Longest side of a thumbnail, in pixels. */
export const THUMBNAIL_SIZE = 256;

/** 8-bit images whose widest channel spans fewer levels than this (of 255) are stretched too. */
export const LOW_CONTRAST_RANGE = 96;

/**
 * Encoder settings. JPEG without optimised Huffman tables encodes a 256² tile in ~0.5 ms, where
 * WebP at its fastest effort takes ~1.4–3 ms: the thumbnail was the import's largest cost.
 */
const JPEG_OPTIONS = { quality: 82, optimiseCoding: false, chromaSubsampling: '4:2:0' } as const;

/** 8-bit pixels ready to encode. */
export interface DisplayPixels {
  pixels: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

/** Where the thumbnail of some content lives, relative to the project folder. */
export function thumbnailPath(sha256: string): string {
  return path.posix.join('thumbs', sha256.slice(0, 2), `${sha256}.jpg`);
}

/** Encodes the thumbnail of a decoded image and writes it to `file` (its folder must exist). */
export async function writeThumbnail(
  image: DecodedImage,
  summary: PixelSummary,
  file: string,
  size = THUMBNAIL_SIZE,
): Promise<void> {
  await writeDisplayThumbnail(displayPixels(image, summary), file, size);
}

/** Shrinks 8-bit display pixels to at most `size` on the long side and writes them as JPEG. */
export async function writeDisplayThumbnail(pixels: DisplayPixels, file: string, size = THUMBNAIL_SIZE): Promise<void> {
  let display = pixels;
  // Whole-factor shrinking is a cheap box average here; libvips only finishes odd ratios.
  const factor = Math.floor(Math.max(display.width, display.height) / size);
  if (factor >= 2) display = boxShrink(display, factor);
  let pipeline: Sharp = sharp(display.pixels, {
    raw: { width: display.width, height: display.height, channels: display.channels },
  });
  if (Math.max(display.width, display.height) > size)
    pipeline = pipeline.resize({ width: size, height: size, fit: 'inside' });
  // Encoding to memory and writing synchronously costs ~0.25 ms less CPU per thumbnail than
  // libvips' own file output (measured on 256² tiles: 0.48 against 0.71 ms), the same bytes.
  fs.writeFileSync(file, await pipeline.jpeg(JPEG_OPTIONS).toBuffer());
}

/** The first three channels (or the grey one) as 8-bit, stretched when needed. */
export function displayPixels(image: DecodedImage, summary: PixelSummary): DisplayPixels {
  const channels = image.channels >= 3 ? 3 : 1;
  const { width, height } = image;
  if (needsStretch(image, summary, channels))
    return { pixels: stretchToBytes(image, summary, channels), width, height, channels };
  const pixels = image.pixels as Uint8Array;
  if (image.channels === channels) return { pixels, width, height, channels };
  // Grey + alpha or RGBA: drop the alpha channel.
  const count = width * height;
  const out = new Uint8Array(count * channels);
  for (let pixel = 0; pixel < count; pixel++) {
    for (let channel = 0; channel < channels; channel++)
      out[pixel * channels + channel] = pixels[pixel * image.channels + channel]!;
  }
  return { pixels: out, width, height, channels };
}

function needsStretch(image: DecodedImage, summary: PixelSummary, channels: number): boolean {
  if (image.bitDepth === 16) return true;
  let widest = 0;
  for (let channel = 0; channel < channels; channel++)
    widest = Math.max(widest, summary.high[channel]! - summary.low[channel]!);
  return widest < LOW_CONTRAST_RANGE;
}

/** Maps each shown channel linearly from [low, high] to [0, 255], clipping outside. */
function stretchToBytes(image: DecodedImage, summary: PixelSummary, displayChannels: number): Uint8Array {
  const { pixels, channels } = image;
  const count = image.width * image.height;
  const out = new Uint8Array(count * displayChannels);
  for (let channel = 0; channel < displayChannels; channel++) {
    const low = summary.low[channel]!;
    // A flat channel (high = low) shows as black rather than dividing by zero.
    const scale = 255 / Math.max(1, summary.high[channel]! - low);
    for (
      let pixel = 0, source = channel, target = channel;
      pixel < count;
      pixel++, source += channels, target += displayChannels
    ) {
      const value = (pixels[source]! - low) * scale + 0.5;
      out[target] = value <= 0 ? 0 : value >= 255 ? 255 : value;
    }
  }
  return out;
}

/** Averages `factor`×`factor` blocks (edge pixels that do not fill a block are dropped). */
export function boxShrink(image: DisplayPixels, factor: number): DisplayPixels {
  const width = Math.floor(image.width / factor);
  const height = Math.floor(image.height / factor);
  const { channels, pixels } = image;
  const out = new Uint8Array(width * height * channels);
  const area = factor * factor;
  const rowStride = image.width * channels;
  const blockStride = factor * channels;
  let target = 0;
  for (let y = 0; y < height; y++) {
    const blockRow = y * factor * rowStride;
    for (let x = 0; x < width; x++) {
      const blockStart = blockRow + x * blockStride;
      for (let channel = 0; channel < channels; channel++) {
        let sum = 0;
        for (let row = 0, start = blockStart + channel; row < factor; row++, start += rowStride) {
          for (let column = 0, source = start; column < factor; column++, source += channels) sum += pixels[source]!;
        }
        out[target++] = (sum + (area >> 1)) / area;
      }
    }
  }
  return { pixels: out, width, height, channels };
}
