/**
 * Compressed DICOM frames for tests, made with real encoders: JPEG-LS (CharLS) and JPEG 2000
 * (OpenJPEG) through the same WASM packages the reader decodes with, JPEG baseline through
 * sharp, RLE Lossless by PackBits from the standard. Encoder output is kept off stdout.
 */
import sharp from 'sharp';
import { codecPrintOptions } from './dicom-codecs';
import { packBits } from './dicom-rle';
import { writeDicom } from './formats.fixtures';

/** Encodes 16-bit grey samples losslessly with CharLS (JPEG-LS) or OpenJPEG (JPEG 2000). */
export async function encodeWasm(
  name: 'charls' | 'openjpeg',
  values: Uint16Array,
  width: number,
  height: number,
): Promise<Uint8Array> {
  const factory =
    name === 'charls'
      ? (await import('@cornerstonejs/codec-charls/wasmjs')).default
      : (await import('@cornerstonejs/codec-openjpeg/wasmjs')).default;
  const module = await factory(codecPrintOptions());
  const encoder = name === 'charls' ? new module.JpegLSEncoder() : new module.J2KEncoder();
  try {
    const input = encoder.getDecodedBuffer({ width, height, bitsPerSample: 16, componentCount: 1, isSigned: false });
    input.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    encoder.encode();
    return encoder.getEncodedBuffer().slice();
  } finally {
    encoder.delete();
  }
}

/** One RLE Lossless frame of 16-bit grey samples: a high-byte and a low-byte segment. */
export function rleFrame16(values: ArrayLike<number>): Uint8Array {
  const high = Uint8Array.from(values, (value) => value >> 8);
  const low = Uint8Array.from(values, (value) => value & 0xff);
  const segments = [packBits(high), packBits(low)];
  const header = new Uint8Array(64);
  const view = new DataView(header.buffer);
  view.setUint32(0, 2, true);
  view.setUint32(4, 64, true);
  view.setUint32(8, 64 + segments[0]!.length, true);
  return new Uint8Array([...header, ...segments[0]!, ...segments[1]!]);
}

/**
 * One 64 × 64 DICOM file per compressed transfer syntax family — JPEG 2000, JPEG-LS, RLE and
 * JPEG baseline — by file name. `seed` varies the pixels, so files of two calls differ.
 */
export async function compressedDicoms(seed = 0): Promise<Record<string, Uint8Array>> {
  const side = 64; // OpenJPEG's default of 5 decompositions needs at least 32² pixels
  const values = Uint16Array.from({ length: side * side }, (_, index) => (index * 997 + seed * 31) % 4096);
  const grey = Uint8Array.from(values, (value) => value >> 4);
  const jpeg = await sharp(grey, { raw: { width: side, height: side, channels: 1 } })
    .jpeg({ quality: 95 })
    .toBuffer();
  const sixteen = { rows: side, columns: side, bitsAllocated: 16, bitsStored: 12 } as const;
  return {
    'jpeg2000.dcm': writeDicom({
      ...sixteen,
      transferSyntax: '1.2.840.10008.1.2.4.90',
      fragments: [await encodeWasm('openjpeg', values, side, side)],
    }),
    'jpeg-ls.dcm': writeDicom({
      ...sixteen,
      transferSyntax: '1.2.840.10008.1.2.4.80',
      fragments: [await encodeWasm('charls', values, side, side)],
    }),
    'rle.dcm': writeDicom({ ...sixteen, transferSyntax: '1.2.840.10008.1.2.5', fragments: [rleFrame16(values)] }),
    'jpeg-baseline.dcm': writeDicom({
      rows: side,
      columns: side,
      bitsAllocated: 8,
      transferSyntax: '1.2.840.10008.1.2.4.50',
      fragments: [new Uint8Array(jpeg)],
    }),
  };
}
