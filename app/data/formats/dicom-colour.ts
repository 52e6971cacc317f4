/**
 * DICOM colour that must be turned into RGB before anything else sees it: YBR_FULL (Y, Cb, Cr at
 * full resolution) and YBR_FULL_422 (two Y samples share one Cb, Cr pair, PS3.3 C.7.6.3.1.2)
 * stored uncompressed or RLE. JPEG and JPEG 2000 decoders return RGB themselves.
 */
import type { RasterValues } from './raster';

/** True when frames of this photometric interpretation and codec need {@link ybrToRgb}. */
export function needsRgbConversion(photometric: string, codec: string): boolean {
  return (photometric === 'YBR_FULL' || photometric === 'YBR_FULL_422') && (codec === 'native' || codec === 'rle');
}

/** True when frames are stored horizontally subsampled: 2 bytes per pixel instead of 3. */
export function isSubsampled(photometric: string, codec: string): boolean {
  return photometric === 'YBR_FULL_422' && codec === 'native';
}

/**
 * Expands one 8-bit YBR_FULL_422 frame (`Y1 Y2 Cb Cr` per pair of pixels along a row) into
 * interleaved full-resolution `Y Cb Cr` samples.
 */
export function expandYbr422(stored: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let pair = 0; pair < pixels / 2; pair++) {
    const [y1, y2, cb, cr] = [stored[pair * 4]!, stored[pair * 4 + 1]!, stored[pair * 4 + 2]!, stored[pair * 4 + 3]!];
    out.set([y1, cb, cr, y2, cb, cr], pair * 6);
  }
  return out;
}

/**
 * Converts interleaved 8-bit `Y Cb Cr` values to RGB in place, with the full-range equations of
 * PS3.3 C.7.6.3.1.2, rounded and clamped to 0..255.
 */
export function ybrToRgb(values: RasterValues): void {
  for (let index = 0; index + 2 < values.length; index += 3) {
    const y = values[index]!;
    const cb = values[index + 1]! - 128;
    const cr = values[index + 2]! - 128;
    values[index] = clamp(y + 1.402 * cr);
    values[index + 1] = clamp(y - 0.344136 * cb - 0.714136 * cr);
    values[index + 2] = clamp(y + 1.772 * cb);
  }
}

function clamp(value: number): number {
  return Math.min(255, Math.max(0, Math.round(value)));
}
