import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DecodedImage } from '../formats/decode';
import { summarizePixels } from './stats';
import { boxShrink, thumbnailPath, writeThumbnail } from './thumbnail';
import { temporaryFolder } from '../images.fixtures';

let folder: ReturnType<typeof temporaryFolder>;
beforeEach(() => (folder = temporaryFolder('mae-thumb-')));
afterEach(() => folder.remove());

let written = 0;
async function thumbnailOf(image: DecodedImage, size?: number) {
  // A new name each time: libvips caches decoded files by name.
  const file = path.join(folder.dir, `thumb-${written++}.jpg`);
  await writeThumbnail(image, summarizePixels(image.pixels, image.channels, image.bitDepth), file, size);
  return sharp(file).raw().toBuffer({ resolveWithObject: true });
}

describe('writeThumbnail', () => {
  it('makes a dark 16-bit scan visible by stretching it', async () => {
    // Values 100..1100 of 65535: a plain 16→8 bit cast would be black (0..4).
    const pixels = new Uint16Array(64 * 64).map((_, index) => 100 + ((index % 64) / 63) * 1000);
    const { data } = await thumbnailOf({ width: 64, height: 64, channels: 1, bitDepth: 16, format: 'png', pixels });
    expect(Math.max(...data)).toBeGreaterThan(200);
    expect(data.reduce((sum, value) => sum + value, 0) / data.length).toBeGreaterThan(60);
  });

  it('keeps grey images grey and shows only the first three channels', async () => {
    const grey = new Uint8Array(32 * 32).map((_, index) => index % 256);
    const greyThumb = await thumbnailOf({
      width: 32,
      height: 32,
      channels: 1,
      bitDepth: 8,
      format: 'png',
      pixels: grey,
    });
    for (let index = 0; index < greyThumb.data.length; index += greyThumb.info.channels) {
      expect(Math.abs(greyThumb.data[index]! - greyThumb.data[index + 1]!)).toBeLessThan(8);
    }
    // Four 16-bit bands where the fourth is zero: it must not act as an alpha channel.
    const bands = new Uint16Array(16 * 16 * 4).map((_, index) => (index % 4 === 3 ? 0 : 1000 + (index % 97) * 10));
    const bandThumb = await thumbnailOf({
      width: 16,
      height: 16,
      channels: 4,
      bitDepth: 16,
      format: 'tiff',
      pixels: bands,
    });
    expect(bandThumb.info.channels).toBe(3);
    expect(Math.max(...bandThumb.data)).toBeGreaterThan(200);
  });

  it('fits the long side into the requested size', async () => {
    const pixels = new Uint8Array(600 * 300 * 3).map((_, index) => index % 251);
    const { info } = await thumbnailOf({ width: 600, height: 300, channels: 3, bitDepth: 8, format: 'png', pixels });
    expect([info.width, info.height]).toEqual([256, 128]);
    const small = await thumbnailOf({ width: 600, height: 300, channels: 3, bitDepth: 8, format: 'png', pixels }, 128);
    expect([small.info.width, small.info.height]).toEqual([128, 64]);
  });

  it('names thumbnails by content under a two-character folder', () => {
    expect(thumbnailPath('abcdef')).toBe('thumbs/ab/abcdef.jpg');
  });
});

describe('boxShrink', () => {
  it('averages whole blocks', () => {
    const shrunk = boxShrink(
      { pixels: Uint8Array.from([0, 2, 10, 20, 4, 6, 30, 40]), width: 4, height: 2, channels: 1 },
      2,
    );
    expect(shrunk).toEqual({ pixels: Uint8Array.from([3, 25]), width: 2, height: 1, channels: 1 });
  });
});
