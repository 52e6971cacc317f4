/**
 * Drawing helpers for the synthetic sample datasets: seeded draws and a float canvas with
 * soft blobs, rings, lines and noise, turned into 16-bit pixels at the end.
 */
import { Rng } from '../../mae/rng';

/** The Rng stream synthetic images draw from. */
const SAMPLE_STREAM = 41;

/**
 * Random draws for one synthetic image, from the project's one PRNG (`mae/rng.ts`): the same seed
 * gives the same dataset on every machine.
 */
export class Random {
  readonly #rng: Rng;

  constructor(seed: number) {
    this.#rng = Rng.fromSeed(seed >>> 0, SAMPLE_STREAM);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.#rng.uniform();
  }

  /** Uniform in [low, high). */
  between(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** An integer in [low, high]. */
  integer(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low + 1));
  }

  /** Standard normal (Box–Muller). */
  gaussian(): number {
    return Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
  }
}

/** A seed for image `index` of a dataset, so images do not depend on the order they are drawn in. */
export function imageSeed(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
}

/** Interleaved float channels, values nominally in [0, 1]. */
export class Canvas {
  readonly data: Float32Array;

  constructor(
    readonly width: number,
    readonly height: number,
    readonly channels: number,
  ) {
    this.data = new Float32Array(width * height * channels);
  }

  /** Adds `amounts[channel]` × shape(x, y) to every pixel, where shape is in [0, 1]. */
  paint(amounts: readonly number[], shape: (x: number, y: number) => number): void {
    for (let y = 0; y < this.height; y++) {
      for (let x = 0; x < this.width; x++) {
        const weight = shape(x, y);
        if (weight === 0) continue;
        const offset = (y * this.width + x) * this.channels;
        for (let channel = 0; channel < this.channels; channel++)
          this.data[offset + channel]! += (amounts[channel] ?? 0) * weight;
      }
    }
  }

  /** Adds Gaussian noise of standard deviation `sigma[channel]`. */
  noise(random: Random, sigma: readonly number[]): void {
    for (let index = 0; index < this.data.length; index++)
      this.data[index]! += (sigma[index % this.channels] ?? 0) * random.gaussian();
  }

  /** 16-bit pixels: value × `scale`, clipped to [0, 65535]. */
  toUint16(scale = 65535): Uint16Array {
    const out = new Uint16Array(this.data.length);
    for (let index = 0; index < this.data.length; index++)
      out[index] = Math.min(65535, Math.max(0, Math.round(this.data[index]! * scale)));
    return out;
  }
}

/** Normalised distance from a rotated ellipse's centre: 1 on its edge. */
export function ellipseDistance(
  x: number,
  y: number,
  centerX: number,
  centerY: number,
  radiusX: number,
  radiusY: number,
  angle = 0,
): number {
  const dx = x - centerX;
  const dy = y - centerY;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const u = (dx * cos + dy * sin) / radiusX;
  const v = (-dx * sin + dy * cos) / radiusY;
  return Math.sqrt(u * u + v * v);
}

/** A soft-edged filled ellipse: 1 inside, falling to 0 over `edge` of its radius. */
export function softEllipse(
  centerX: number,
  centerY: number,
  radiusX: number,
  radiusY: number,
  angle = 0,
  edge = 0.25,
) {
  return (x: number, y: number): number => {
    const distance = ellipseDistance(x, y, centerX, centerY, radiusX, radiusY, angle);
    if (distance <= 1 - edge) return 1;
    if (distance >= 1 + edge) return 0;
    return 0.5 - 0.5 * Math.sin((Math.PI / 2) * ((distance - 1) / edge));
  };
}

/** A Gaussian blob with standard deviations `radiusX`, `radiusY`. */
export function gaussianBlob(centerX: number, centerY: number, radiusX: number, radiusY = radiusX, angle = 0) {
  return (x: number, y: number): number => {
    const distance = ellipseDistance(x, y, centerX, centerY, radiusX, radiusY, angle);
    return distance > 3.5 ? 0 : Math.exp(-0.5 * distance * distance);
  };
}

/** A ring of radius `radius` and Gaussian profile of width `width`. */
export function ring(centerX: number, centerY: number, radius: number, width: number) {
  return (x: number, y: number): number => {
    const offset = (Math.hypot(x - centerX, y - centerY) - radius) / width;
    return Math.abs(offset) > 3.5 ? 0 : Math.exp(-0.5 * offset * offset);
  };
}
