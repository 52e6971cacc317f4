import { describe, expect, it } from 'vitest';
import { decodeImage, DecodeError, describeDecodeFailure, readPngHeader } from './decode';
import { encodePixels, fixturePixels, type FixtureSpec } from '../images.fixtures';

async function encoded(spec: FixtureSpec) {
  return encodePixels(fixturePixels(spec), spec);
}

describe('decodeImage', () => {
  it('keeps the bit depth of 16-bit PNGs and TIFFs and their exact values', async () => {
    for (const format of ['png', 'tiff'] as const) {
      const spec = { format, bitDepth: 16, channels: 3, width: 9, height: 5 } as const;
      const image = await decodeImage(await encoded(spec), format);
      expect([image.bitDepth, image.channels, image.format]).toEqual([16, 3, format]);
      expect(image.pixels).toBeInstanceOf(Uint16Array);
      expect(Array.from(image.pixels)).toEqual(Array.from(fixturePixels(spec)));
    }
  });

  it('keeps grey as one channel and grey + alpha as two', async () => {
    const grey = await decodeImage(
      await encoded({ format: 'png', bitDepth: 8, channels: 1, width: 4, height: 4 }),
      'png',
    );
    const greyAlpha = await decodeImage(
      await encoded({ format: 'png', bitDepth: 8, channels: 2, width: 4, height: 4 }),
      'png',
    );
    const spec = { format: 'png', bitDepth: 8, channels: 2, width: 4, height: 4 } as const;
    expect(grey.channels).toBe(1);
    expect(greyAlpha.channels).toBe(2);
    expect(Array.from(greyAlpha.pixels)).toEqual(Array.from(fixturePixels(spec)));
  });

  it('gives specific reasons for empty, foreign and truncated files', async () => {
    await expect(decodeImage(new Uint8Array(0), 'png')).rejects.toThrow(new DecodeError('empty file (0 bytes)'));
    await expect(decodeImage(Buffer.from('hello, not an image at all'), 'jpeg')).rejects.toThrow(
      /^not a valid JPEG: not a recognised image format$/,
    );
    const jpeg = await encoded({ format: 'jpeg', bitDepth: 8, channels: 3, width: 64, height: 64 });
    await expect(decodeImage(jpeg.subarray(0, jpeg.length >> 1), 'jpeg')).rejects.toThrow(
      /^truncated or corrupt image data/,
    );
  });

  it('writes a JPEG error once, however often libjpeg repeated it', async () => {
    const jpeg = await encoded({ format: 'jpeg', bitDepth: 8, channels: 3, width: 300, height: 300 });
    // The start of a JPEG followed by garbage: libjpeg complains about the Huffman table per scan.
    const broken = Buffer.concat([jpeg.subarray(0, 200), Buffer.alloc(3000, 0x41)]);
    const failure = await decodeImage(broken, 'jpeg').catch((error: Error) => error);
    expect(failure).toBeInstanceOf(DecodeError);
    const message = (failure as Error).message;
    expect(message).toMatch(/^not a valid JPEG: /);
    expect(message.match(/Huffman table/g)).toHaveLength(1);
  });

  it('explains a failure whose message the decoder lost, from the bytes', async () => {
    const png = await encoded({ format: 'png', bitDepth: 8, channels: 3, width: 16, height: 16 });
    expect(describeDecodeFailure(new Error('Unknown error'), 'png', png.subarray(0, 40))).toMatch(
      /^truncated or corrupt image data/,
    );
  });

  it('gives a cut-short file the same reason whatever text the decoder thread had left', async () => {
    const png = (await encoded({ format: 'png', bitDepth: 8, channels: 3, width: 16, height: 16 })).subarray(0, 40);
    const reasons = ['libpng read error', 'Unknown error', ''].map((text) =>
      describeDecodeFailure(new Error(text), 'png', png),
    );
    expect(reasons).toEqual(Array(3).fill('truncated or corrupt image data (the PNG has no end chunk)'));
    // Another failure of a file with its end intact keeps the decoder's words.
    const whole = await encoded({ format: 'png', bitDepth: 8, channels: 3, width: 16, height: 16 });
    expect(describeDecodeFailure(new Error('libpng read error'), 'png', whole)).toBe(
      'truncated or corrupt image data (libpng read error)',
    );
  });
});

describe('readPngHeader', () => {
  it('reads depth and channels of plain PNGs and leaves palette images to sharp', async () => {
    expect(
      readPngHeader(await encoded({ format: 'png', bitDepth: 16, channels: 1, width: 4, height: 4 })),
    ).toMatchObject({ bitDepth: 16, channels: 1, width: 4, height: 4 });
    expect(
      readPngHeader(await encoded({ format: 'png', bitDepth: 8, channels: 4, width: 4, height: 4 })),
    ).toMatchObject({ bitDepth: 8, channels: 4 });
    const palette = Buffer.from(await encoded({ format: 'png', bitDepth: 8, channels: 3, width: 4, height: 4 }));
    palette[25] = 3; // colour type 3: palette
    expect(readPngHeader(palette)).toBeNull();
  });
});
