/**
 * Window/level and false colour for the image viewer, done on the values the core returns
 * (`images.window`), so a 16-bit scan or a CT in Hounsfield units is shown without ever being
 * squeezed to 8 bits first. Pure functions: the viewer draws what they return.
 */
import type { ImageWindow } from '$contract';

/** A display window: values from level − width/2 (black) to level + width/2 (white). */
export interface WindowLevel {
  width: number;
  level: number;
}

/** CT presets in Hounsfield units, as radiologists know them. */
export const CT_PRESETS: readonly ({ name: string } & WindowLevel)[] = [
  { name: 'Lung', width: 1500, level: -600 },
  { name: 'Mediastinum', width: 350, level: 50 },
  { name: 'Bone', width: 1800, level: 400 },
  { name: 'Brain', width: 80, level: 40 },
];

/** How the viewer maps values to colour: one band in grey, or three bands as red, green, blue. */
export type Display =
  | { mode: 'grey'; band: number; window: WindowLevel }
  | {
      mode: 'composite';
      bands: [number, number, number];
      ranges: [[number, number], [number, number], [number, number]];
    };

const TYPES = { uint8: Uint8Array, uint16: Uint16Array, int16: Int16Array, float32: Float32Array } as const;

/** The values of a window as a typed array of its sample type (interleaved `[y][x][band]`). */
export function windowValues(window: Pick<ImageWindow, 'values' | 'sampleType'>): ArrayLike<number> {
  const binary = atob(window.values);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TYPES[window.sampleType](bytes.buffer);
}

/** Low and high percentiles of one band (NaN and nodata skipped), from at most 65,536 samples. */
export function bandPercentiles(
  values: ArrayLike<number>,
  bands: number,
  band: number,
  low = 0.5,
  high = 99.5,
  nodata: number | null = null,
): [number, number] {
  const count = Math.floor(values.length / bands);
  const stride = Math.max(1, Math.floor(count / 65_536));
  const picked: number[] = [];
  for (let pixel = 0; pixel < count; pixel += stride) {
    const value = values[pixel * bands + band]!;
    if (!Number.isNaN(value) && value !== nodata) picked.push(value);
  }
  if (picked.length === 0) return [0, 1];
  picked.sort((a, b) => a - b);
  const at = (percent: number) =>
    picked[Math.min(picked.length - 1, Math.round((percent / 100) * (picked.length - 1)))]!;
  const lo = at(low);
  const hi = at(high);
  return hi > lo ? [lo, hi] : [lo, lo + 1];
}

/** The window spanning a value range. */
export function windowOfRange([low, high]: [number, number]): WindowLevel {
  return { width: high - low, level: (low + high) / 2 };
}

/** 0..255 for a value under a window: linear between its edges, clipped outside. */
export function applyWindow(value: number, { width, level }: WindowLevel): number {
  const low = level - width / 2;
  const scaled = ((value - low) / Math.max(width, 1e-12)) * 255;
  return scaled <= 0 ? 0 : scaled >= 255 ? 255 : Math.round(scaled);
}

/** RGBA pixels of a window's values under a display (NaN and nodata transparent). */
export function renderRgba(
  values: ArrayLike<number>,
  pixels: number,
  bands: number,
  display: Display,
  nodata: number | null = null,
): Uint8ClampedArray<ArrayBuffer> {
  const rgba = new Uint8ClampedArray(pixels * 4);
  for (let pixel = 0; pixel < pixels; pixel++) {
    const base = pixel * bands;
    const out = pixel * 4;
    if (display.mode === 'grey') {
      const value = values[base + display.band]!;
      if (Number.isNaN(value) || value === nodata) continue;
      const grey = applyWindow(value, display.window);
      rgba[out] = rgba[out + 1] = rgba[out + 2] = grey;
    } else {
      for (let channel = 0; channel < 3; channel++) {
        const [low, high] = display.ranges[channel]!;
        rgba[out + channel] = ((values[base + display.bands[channel]!]! - low) / Math.max(high - low, 1e-12)) * 255;
      }
    }
    rgba[out + 3] = 255;
  }
  return rgba;
}

/** The smallest power-of-two step that keeps a region within `maxPixels` output pixels. */
export function stepFor(width: number, height: number, maxPixels: number): number {
  let step = 1;
  while (Math.ceil(width / step) * Math.ceil(height / step) > maxPixels) step *= 2;
  return step;
}

/** A value for the status line: integers as they are, others to 4 significant digits. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}
