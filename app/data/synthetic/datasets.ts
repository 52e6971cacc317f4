/**
 * Built-in synthetic datasets, one per domain, labelled by folder (folder name = label), with
 * differences a small model can learn. Every file is 16-bit; the same seed writes the same bytes.
 *
 * - microscopy: 3-channel 16-bit PNG cells, 64–96 px: round, spindle or clustered.
 * - remote-sensing: 4-band 16-bit TIFF tiles (red, green, blue, near-infrared), 64 px:
 *   water, forest, urban, fields.
 * - medical: 16-bit grey PNG chest CT-like slices, 96 px, with vessels and 2–3 bilateral pairs of
 *   solid (round) or cavitary (ring) nodules in the lungs.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { StudioError } from '../../contract';
import { Canvas, gaussianBlob, imageSeed, Random, ring, softEllipse } from './draw';

/** Domains with a built-in sample. */
export type SampleDomain = 'microscopy' | 'remote-sensing' | 'medical';

/** Options of {@link writeSample}. */
export interface SampleOptions {
  domain: SampleDomain;
  /** Number of images in all, spread evenly over the labels; default per domain. */
  count?: number;
  /** PRNG seed; default 1. */
  seed?: number;
}

/** One drawn image, ready to encode. */
export interface Drawn {
  pixels: Uint16Array;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

interface DomainRecipe {
  labels: readonly string[];
  defaultCount: number;
  extension: 'png' | 'tif';
  draw: (label: string, random: Random) => Drawn;
}

/** Labels, default size and painter of each domain. */
export const SAMPLE_DOMAINS: Readonly<Record<SampleDomain, DomainRecipe>> = {
  microscopy: { labels: ['clustered', 'round', 'spindle'], defaultCount: 90, extension: 'png', draw: drawCells },
  'remote-sensing': {
    labels: ['fields', 'forest', 'urban', 'water'],
    defaultCount: 96,
    extension: 'tif',
    draw: drawLandCover,
  },
  medical: { labels: ['ring-lesion', 'round-lesion'], defaultCount: 80, extension: 'png', draw: drawScan },
};

/**
 * Writes a labelled synthetic dataset under `dir` (one sub-folder per label) and returns what
 * was written. Throws INVALID_ARGUMENT for an unknown domain or a count that is not a positive integer.
 */
export async function writeSample(
  dir: string,
  options: SampleOptions,
): Promise<{ dir: string; files: number; labels: string[] }> {
  const recipe = SAMPLE_DOMAINS[options.domain];
  if (!recipe)
    throw new StudioError(
      'INVALID_ARGUMENT',
      `sample domain must be one of ${Object.keys(SAMPLE_DOMAINS).join(', ')}, got ${JSON.stringify(options.domain)}`,
    );
  const count = options.count ?? recipe.defaultCount;
  if (!Number.isInteger(count) || count < 1)
    throw new StudioError('INVALID_ARGUMENT', `sample count must be a positive integer, got ${count}`);
  const seed = options.seed ?? 1;
  const root = path.resolve(dir);
  for (const label of recipe.labels) fs.mkdirSync(path.join(root, label), { recursive: true });
  for (let index = 0; index < count; index++) {
    const label = recipe.labels[index % recipe.labels.length]!;
    const drawn = recipe.draw(label, new Random(imageSeed(seed, index)));
    const name = `${label}-${String(Math.floor(index / recipe.labels.length)).padStart(3, '0')}.${recipe.extension}`;
    fs.writeFileSync(path.join(root, label, name), await encode16(drawn, recipe.extension));
  }
  return { dir: root, files: count, labels: [...recipe.labels] };
}

/** 16-bit PNG or TIFF; without the explicit colourspace sharp would quietly write 8 bits. */
export async function encode16(drawn: Drawn, extension: 'png' | 'tif'): Promise<Buffer> {
  const image = sharp(drawn.pixels, {
    raw: { width: drawn.width, height: drawn.height, channels: drawn.channels },
  }).toColourspace(drawn.channels === 1 ? 'grey16' : 'rgb16');
  // TIFF: deflate, because sharp's default (JPEG) compression is 8-bit and 3-band only.
  return extension === 'png'
    ? image.png({ compressionLevel: 6 }).toBuffer()
    : image.tiff({ compression: 'deflate', predictor: 'horizontal' }).toBuffer();
}

/** Fluorescence-like cells: red membrane stain, green cytoplasm, blue nuclei, dark background. */
function drawCells(label: string, random: Random): Drawn {
  const size = 64 + 8 * random.integer(0, 4);
  const canvas = new Canvas(size, size, 3);
  canvas.paint([0.01, 0.015, 0.01], () => 1);
  const brightness = random.between(0.6, 1.2);
  if (label === 'round') {
    for (let cell = random.integer(2, 4); cell > 0; cell--) {
      const [centerX, centerY, radius] = [
        random.between(12, size - 12),
        random.between(12, size - 12),
        random.between(9, 13),
      ];
      canvas.paint(
        [0.04 * brightness, 0.12 * brightness, 0],
        softEllipse(centerX, centerY, radius, radius * random.between(0.9, 1.1)),
      );
      canvas.paint([0.05 * brightness, 0, 0], ring(centerX, centerY, radius, 1.2));
      canvas.paint([0, 0, 0.3 * brightness], softEllipse(centerX, centerY, radius * 0.45, radius * 0.45));
    }
  } else if (label === 'spindle') {
    for (let cell = random.integer(2, 3); cell > 0; cell--) {
      const [centerX, centerY, angle] = [
        random.between(14, size - 14),
        random.between(14, size - 14),
        random.between(0, Math.PI),
      ];
      const [length, width] = [random.between(18, 28), random.between(3.5, 5.5)];
      canvas.paint(
        [0.04 * brightness, 0.12 * brightness, 0],
        softEllipse(centerX, centerY, length, width, angle, 0.35),
      );
      canvas.paint([0, 0, 0.3 * brightness], softEllipse(centerX, centerY, width * 1.3, width * 0.7, angle));
    }
  } else {
    const [centerX, centerY] = [random.between(size * 0.35, size * 0.65), random.between(size * 0.35, size * 0.65)];
    for (let blob = random.integer(9, 16); blob > 0; blob--) {
      const [x, y] = [centerX + random.gaussian() * size * 0.12, centerY + random.gaussian() * size * 0.12];
      const radius = random.between(1.8, 3.2);
      canvas.paint([0.02 * brightness, 0.05 * brightness, 0.28 * brightness], gaussianBlob(x, y, radius));
    }
  }
  canvas.noise(random, [0.004, 0.004, 0.004]);
  return { pixels: canvas.toUint16(), width: size, height: size, channels: 3 };
}

/** Surface reflectance (×10000, as Sentinel-2 stores it) of red, green, blue, near-infrared. */
const COVER: Readonly<Record<string, readonly number[]>> = {
  water: [0.03, 0.05, 0.07, 0.01],
  forest: [0.03, 0.07, 0.03, 0.35],
  urban: [0.16, 0.15, 0.14, 0.2],
  fields: [0.08, 0.12, 0.05, 0.3],
};

/** Land-cover tiles: smooth water, blobby forest, a street grid, striped fields. */
export function drawLandCover(label: string, random: Random): Drawn {
  const size = 64;
  const canvas = new Canvas(size, size, 4);
  const base = COVER[label]!;
  const vary = (amount: number) => base.map((value) => value * (1 + random.between(-amount, amount)));
  canvas.paint(vary(0.15), () => 1);
  if (label === 'water') {
    // Gentle swell: a low-frequency wave, nothing sharp.
    const [angle, period] = [random.between(0, Math.PI), random.between(40, 90)];
    canvas.paint([0.004, 0.006, 0.008, 0.002], (x, y) =>
      Math.sin(((x * Math.cos(angle) + y * Math.sin(angle)) * 2 * Math.PI) / period),
    );
    canvas.noise(random, [0.001, 0.001, 0.001, 0.0005]);
  } else if (label === 'forest') {
    for (let crown = random.integer(40, 70); crown > 0; crown--) {
      const shade = random.between(-1, 1);
      canvas.paint(
        [0.012 * shade, 0.025 * shade, 0.01 * shade, 0.08 * shade],
        gaussianBlob(random.between(0, size), random.between(0, size), random.between(2, 5)),
      );
    }
    canvas.noise(random, [0.004, 0.006, 0.004, 0.015]);
  } else if (label === 'urban') {
    const block = random.integer(10, 16);
    const street = random.integer(2, 3);
    const [offsetX, offsetY] = [random.integer(0, block), random.integer(0, block)];
    const roofs = Array.from({ length: 64 }, () => random.between(-0.06, 0.1));
    canvas.paint([1, 1, 1, 1], (x, y) => {
      const [column, row] = [Math.floor((x + offsetX) / block), Math.floor((y + offsetY) / block)];
      const onStreet = (x + offsetX) % block < street || (y + offsetY) % block < street;
      return onStreet ? -0.08 : roofs[(column * 7 + row * 3) % roofs.length]!;
    });
    canvas.noise(random, [0.01, 0.01, 0.01, 0.01]);
  } else {
    const [angle, period] = [random.between(0, Math.PI), random.between(6, 14)];
    const crops = [vary(0.1), vary(0.1).map((value, band) => value * (band === 3 ? 0.4 : 1.5))];
    canvas.paint([1, 1, 1, 1], () => 0);
    for (let band = 0; band < 4; band++) {
      const [first, second] = [crops[0]![band]!, crops[1]![band]!];
      canvas.paint(
        [0, 1, 2, 3].map((index) => (index === band ? 1 : 0)),
        (x, y) =>
          Math.floor((x * Math.cos(angle) + y * Math.sin(angle)) / period) % 2 === 0
            ? first - base[band]!
            : second - base[band]!,
      );
    }
    canvas.noise(random, [0.004, 0.004, 0.004, 0.01]);
  }
  return { pixels: canvas.toUint16(10000), width: size, height: size, channels: 4 };
}

/** Vessels per slice: enough that small bright spots alone say nothing about the label. */
const SCAN_VESSELS = 16;

/**
 * Chest CT-like slices in 12-bit units (0–4095): air, a body ellipse, two dark lungs, the spine,
 * 16 vessels seen in cross-section (small bright dots and dashes, anywhere in the lungs), and 2–3
 * bilateral pairs of nodules — one in the left lung, its partner near the mirror position in the
 * right — either solid (filled) or cavitary (a bright wall around a dark centre). Both kinds
 * carry about the same brightness, so telling them apart takes their shape; the vessels make a
 * nodule's mere presence uninformative; the pairing is what a masked autoencoder can learn from
 * (a visible nodule predicts its hidden partner), while a random encoder has no use for it.
 */
function drawScan(label: string, random: Random): Drawn {
  const size = 96;
  const canvas = new Canvas(size, size, 1);
  const [centerX, centerY] = [size / 2 + random.between(-3, 3), size / 2 + random.between(-3, 3)];
  const [radiusX, radiusY] = [random.between(38, 43), random.between(28, 33)];
  canvas.paint([0.25], softEllipse(centerX, centerY, radiusX, radiusY, random.between(-0.1, 0.1), 0.05));
  canvas.paint([0.05], ring(centerX, centerY + radiusY * 0.05, Math.min(radiusX, radiusY) * 0.97, 1.5));
  const lungs = [-1, 1].map((side) => ({
    x: centerX + side * radiusX * 0.44,
    y: centerY - radiusY * 0.08,
    rx: radiusX * random.between(0.33, 0.37),
    ry: radiusY * random.between(0.58, 0.66),
  }));
  for (const lung of lungs) canvas.paint([-0.18], softEllipse(lung.x, lung.y, lung.rx, lung.ry, 0, 0.15));
  canvas.paint([0.35], softEllipse(centerX, centerY + radiusY * 0.72, 4, 4));
  const pointIn = (lung: (typeof lungs)[number], spread: number): [number, number] => {
    const angle = random.between(0, 2 * Math.PI);
    const reach = Math.sqrt(random.next()) * spread;
    return [lung.x + Math.cos(angle) * reach * lung.rx, lung.y + Math.sin(angle) * reach * lung.ry];
  };
  for (let n = 0; n < SCAN_VESSELS; n++) {
    const [x, y] = pointIn(lungs[n % 2]!, 0.8);
    const width = random.between(0.8, 1.6);
    canvas.paint(
      [random.between(0.12, 0.2)],
      gaussianBlob(x, y, width * random.between(1, 2.5), width, random.between(0, Math.PI)),
    );
  }
  const pairs = 2 + Math.floor(random.next() * 2);
  for (let n = 0; n < pairs; n++) {
    const [x, y] = pointIn(lungs[0]!, 0.6);
    const brightness = random.between(0.16, 0.22);
    const radius = label === 'round-lesion' ? random.between(3, 5.5) : random.between(4.5, 7);
    const [stretch, tilt, wall] = [random.between(0.85, 1.15), random.between(0, Math.PI), random.between(1, 1.4)];
    const partner = [2 * centerX - x + random.between(-1, 1), y + random.between(-1, 1)] as const;
    for (const [px, py] of [[x, y], partner] as const) {
      canvas.paint(
        [brightness],
        label === 'round-lesion'
          ? softEllipse(px, py, radius * stretch, radius, tilt, 0.3)
          : ring(px, py, radius, wall),
      );
    }
  }
  canvas.noise(random, [0.006]);
  return { pixels: canvas.toUint16(4095), width: size, height: size, channels: 1 };
}
