/**
 * Decoding an image file once, to raw pixels at its native depth (8 or 16 bits), keeping its
 * own channels: grey stays one channel, no colour management is applied to the values.
 */
import sharp from 'sharp';

/** Raw pixels of one image, interleaved (`[y][x][channel]`), in the image's own units. */
export interface DecodedImage {
  width: number;
  height: number;
  /** 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA (or four bands). */
  channels: number;
  bitDepth: 8 | 16;
  /** sharp's name of the file format: png, jpeg, webp, tiff. */
  format: string;
  pixels: Uint8Array | Uint16Array;
}

/** A file that could not be decoded; `message` says why in words a person understands. */
export class DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecodeError';
  }
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const SAMPLE_BITS: Readonly<Record<string, 8 | 16>> = { uchar: 8, ushort: 16 };

/** What is known of an image from its header, before decoding it. */
export interface StoredLayout {
  width: number;
  height: number;
  channels: number;
  bitDepth: 8 | 16;
  format: string;
  /** sharp's interpretation (srgb, b-w, rgb16, grey16, cmyk, ...). */
  space: string | undefined;
}

// failOn 'error' tolerates benign warnings (odd ancillary chunks) but not missing data; ICC
// profiles are ignored so that pixel values stay exactly as stored.
const INPUT_OPTIONS = { failOn: 'error', ignoreIcc: true } as const;

/** Reads an image's layout from its header; throws {@link DecodeError} with a specific reason. */
export async function probeImage(bytes: Uint8Array, expectedFormat: string): Promise<StoredLayout> {
  if (bytes.length === 0) throw new DecodeError('empty file (0 bytes)');
  const header = expectedFormat === 'png' ? readPngHeader(bytes) : null;
  if (header) return header;
  try {
    const metadata = await sharp(bytes, INPUT_OPTIONS).metadata();
    const bitDepth = SAMPLE_BITS[metadata.depth ?? ''];
    if (bitDepth === undefined) {
      throw new DecodeError(
        `unsupported sample type '${metadata.depth}' (only 8- and 16-bit integer images are supported)`,
      );
    }
    return {
      width: metadata.width ?? 0,
      height: metadata.height ?? 0,
      channels: metadata.channels ?? 3,
      bitDepth,
      format: metadata.format ?? expectedFormat,
      space: metadata.space,
    };
  } catch (error) {
    if (error instanceof DecodeError) throw error;
    throw new DecodeError(describeDecodeFailure(error as Error, expectedFormat, bytes));
  }
}

/** Bytes the raw pixels of an image take once decoded. */
export function decodedBytes(layout: StoredLayout): number {
  return layout.width * layout.height * layout.channels * (layout.bitDepth / 8);
}

/**
 * Decodes encoded bytes to raw pixels, once; throws {@link DecodeError} with a specific reason.
 * Pass the layout when it was probed already.
 */
export async function decodeImage(
  bytes: Uint8Array,
  expectedFormat: string,
  layout?: StoredLayout,
): Promise<DecodedImage> {
  const stored = layout ?? (await probeImage(bytes, expectedFormat));
  try {
    const { bitDepth } = stored;
    const { data, info } = await sharp(bytes, INPUT_OPTIONS)
      .toColourspace(outputColourspace(bitDepth, stored.channels, stored.space))
      .raw({ depth: bitDepth === 16 ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true });
    let pixels: Uint8Array | Uint16Array = bitDepth === 16 ? toUint16(data) : data;
    let channels = info.channels;
    if (bitDepth === 8 && stored.channels === 2 && channels === 4) {
      // sharp cannot write 8-bit grey + alpha as raw: it came out as RGBA, keep grey and alpha.
      pixels = keepBands(pixels, 4, [0, 3]);
      channels = 2;
    }
    return { width: info.width, height: info.height, channels, bitDepth, format: stored.format, pixels };
  } catch (error) {
    throw new DecodeError(describeDecodeFailure(error as Error, expectedFormat, bytes));
  }
}

const PNG_CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 4: 2, 6: 4 };

/**
 * The layout of a plain PNG read from its IHDR chunk, which saves a metadata call per file; null
 * (ask sharp) for palette images, transparency chunks or anything unexpected.
 */
export function readPngHeader(bytes: Uint8Array): StoredLayout | null {
  if (bytes.length < 33 || !PNG_SIGNATURE.every((byte, index) => bytes[index] === byte)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(12) !== 0x49484452) return null; // IHDR
  const depth = bytes[24]!;
  const channels = PNG_CHANNELS[bytes[25]!];
  if (channels === undefined || (depth !== 8 && depth !== 16)) return null;
  // tRNS adds an alpha channel when decoded; it comes before the first IDAT.
  for (let offset = 8; offset + 8 <= bytes.length; ) {
    const length = view.getUint32(offset);
    const type = view.getUint32(offset + 4);
    if (type === 0x49444154) break; // IDAT
    if (type === 0x74524e53) return null; // tRNS
    offset += 12 + length;
  }
  const grey = channels <= 2;
  const bitDepth = depth === 16 ? 16 : 8;
  return {
    width: view.getUint32(16),
    height: view.getUint32(20),
    channels,
    bitDepth,
    format: 'png',
    space: bitDepth === 16 ? (grey ? 'grey16' : 'rgb16') : grey ? 'b-w' : 'srgb',
  };
}

/** The colourspace that keeps the stored channels (sharp would otherwise turn grey into sRGB). */
function outputColourspace(bitDepth: 8 | 16, channels: number, space: string | undefined): string {
  if (bitDepth === 16) return channels <= 2 ? 'grey16' : 'rgb16';
  // 8-bit grey + alpha, sRGB, CMYK (converted to sRGB) and the rest: sRGB, alpha kept.
  return channels === 1 && space !== 'cmyk' ? 'b-w' : 'srgb';
}

function toUint16(data: Buffer): Uint16Array {
  if (data.byteOffset % 2 === 0) return new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
  return new Uint16Array(Uint8Array.prototype.slice.call(data).buffer);
}

function keepBands(
  pixels: Uint8Array | Uint16Array,
  channels: number,
  bands: readonly number[],
): Uint8Array | Uint16Array {
  const count = pixels.length / channels;
  const out =
    pixels instanceof Uint16Array ? new Uint16Array(count * bands.length) : new Uint8Array(count * bands.length);
  for (let pixel = 0; pixel < count; pixel++) {
    for (let band = 0; band < bands.length; band++)
      out[pixel * bands.length + band] = pixels[pixel * channels + bands[band]!]!;
  }
  return out;
}

/**
 * Turns sharp's messages into reasons: "not a valid PNG: corrupt header", "truncated or corrupt
 * image data (premature end of JPEG image)". The format named is the one the extension claims.
 */
export function describeDecodeFailure(error: Error, expectedFormat: string, bytes?: Uint8Array): string {
  const message = trimMessage(error.message);
  const name = expectedFormat ? expectedFormat.toUpperCase() : 'image';
  const truncatedText = /premature end|truncat|read error|unexpected end|not enough data|short read|out of data/i;
  // A file cut short says so in its own bytes. libvips' text for it varies with its per-thread
  // error buffer ('libpng read error' in one thread, nothing in another), so when the decoder
  // speaks of truncation or says nothing, the bytes name the reason: the same in every thread.
  const cutShort = bytes && missingEnd(bytes);
  if (cutShort && (/^(unknown error)?$/i.test(message) || truncatedText.test(message))) return cutShort;
  // libvips keeps one error buffer per thread, so concurrent failures sometimes lose their text.
  if (/^(unknown error)?$/i.test(message) && bytes) return describeFromBytes(bytes, name);
  if (/unsupported image format/i.test(message)) return `not a valid ${name}: not a recognised image format`;
  if (/empty/i.test(message) && /input/i.test(message)) return 'empty file (0 bytes)';
  if (truncatedText.test(message)) {
    return `truncated or corrupt image data (${message})`;
  }
  if (/pixel limit|too large/i.test(message)) return `image too large to decode (${message})`;
  const detail = message.replace(/^input (buffer|file) (has|contains)\s*/i, '') || 'unreadable content';
  return `not a valid ${name}: ${detail}`;
}

/**
 * One line per distinct message: libjpeg reports a bad table once per scan, and libvips keeps
 * every report in its error buffer, so the same sentence can come back several times.
 */
function trimMessage(message: string): string {
  const lines = message
    .split('\n')
    .map((line) => line.replace(/\b(vips|Vips)\w*:\s*/g, '').trim())
    .filter(Boolean);
  const distinct = lines.filter((line, index) => !lines.slice(0, index).some((earlier) => earlier.includes(line)));
  const text = distinct.join('; ').replace(/[:;\s]+$/, '');
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

const PNG_END = [0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82];

/** The truncation reason of a PNG without its end chunk or a JPEG without its end marker; null otherwise. */
function missingEnd(bytes: Uint8Array): string | null {
  const startsWith = (marker: readonly number[]) => marker.every((byte, index) => bytes[index] === byte);
  const endsWith = (marker: readonly number[]) =>
    marker.every((byte, index) => bytes[bytes.length - marker.length + index] === byte);
  if (startsWith(PNG_SIGNATURE) && !endsWith(PNG_END))
    return 'truncated or corrupt image data (the PNG has no end chunk)';
  if (startsWith([0xff, 0xd8]) && !endsWith([0xff, 0xd9])) {
    return 'truncated or corrupt image data (the JPEG has no end marker)';
  }
  return null;
}

/** A reason from the bytes themselves, when the decoder gave none. */
function describeFromBytes(bytes: Uint8Array, name: string): string {
  const isImage =
    PNG_SIGNATURE.every((byte, index) => bytes[index] === byte) || (bytes[0] === 0xff && bytes[1] === 0xd8);
  return (
    missingEnd(bytes) ??
    (isImage ? `not a valid ${name}: corrupt image data` : `not a valid ${name}: corrupt or unrecognised image data`)
  );
}
