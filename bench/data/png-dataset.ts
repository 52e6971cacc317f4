/**
 * The import benchmarks' dataset: RGB 8-bit PNGs of 256×256, photo-like and deterministic, in
 * sub-folders of 1,000, generated once and cached (by default under `.bench/import-png-256/`).
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

/** Side of every image. */
export const SIZE = 256;
/** Files per sub-folder, so folders stay browsable and labels exist. */
export const FILES_PER_FOLDER = 1000;
/** Where the dataset is cached unless `--dir` says otherwise. */
export const DEFAULT_DATASET_DIR = '.bench/import-png-256';

/** Which files: how many (a multiple of {@link FILES_PER_FOLDER}) and where. */
export interface DatasetOptions {
  files: number;
  dir: string;
}

/** Deterministic PRNG (mulberry32), so the cached dataset is the same on every machine. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A photo-like test image: a colour gradient, a few discs and boxes, and mild sensor noise. */
export function benchPixels(seed: number): Uint8Array {
  const next = random(seed);
  const pixels = new Uint8Array(SIZE * SIZE * 3);
  const from = [next() * 255, next() * 255, next() * 255];
  const to = [next() * 255, next() * 255, next() * 255];
  const angle = next() * Math.PI * 2;
  const [dx, dy] = [Math.cos(angle) / SIZE, Math.sin(angle) / SIZE];
  const shapes = Array.from({ length: 3 + Math.floor(next() * 6) }, () => ({
    disc: next() < 0.5,
    x: next() * SIZE,
    y: next() * SIZE,
    radius: 10 + next() * 50,
    colour: [next() * 255, next() * 255, next() * 255],
  }));
  const noise = 2 + next() * 6;
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const t = Math.min(1, Math.max(0, 0.5 + (x - SIZE / 2) * dx + (y - SIZE / 2) * dy));
      let colour = [
        from[0]! + (to[0]! - from[0]!) * t,
        from[1]! + (to[1]! - from[1]!) * t,
        from[2]! + (to[2]! - from[2]!) * t,
      ];
      for (const shape of shapes) {
        const inside = shape.disc
          ? (x - shape.x) ** 2 + (y - shape.y) ** 2 < shape.radius ** 2
          : Math.abs(x - shape.x) < shape.radius && Math.abs(y - shape.y) < shape.radius / 2;
        if (inside) colour = shape.colour;
      }
      const offset = (y * SIZE + x) * 3;
      for (let channel = 0; channel < 3; channel++)
        pixels[offset + channel] = colour[channel]! + (next() - 0.5) * noise;
    }
  }
  return pixels;
}

export function setFolder(dir: string, set: number): string {
  return path.join(dir, `set-${String(set).padStart(2, '0')}`);
}

export function benchFile(dir: string, index: number): string {
  return path.join(setFolder(dir, Math.floor(index / FILES_PER_FOLDER)), `${String(index).padStart(5, '0')}.png`);
}

/** The set folders holding the first `files` files (the cache may hold more sets than that). */
export function datasetFolders(options: DatasetOptions): string[] {
  return Array.from({ length: options.files / FILES_PER_FOLDER }, (_, set) => setFolder(options.dir, set));
}

/** Writes the files missing from the cached dataset; returns how many were written. */
export async function ensureDataset(options: DatasetOptions): Promise<number> {
  const missing = Array.from({ length: options.files }, (_, index) => index).filter(
    (index) => !fs.existsSync(benchFile(options.dir, index)),
  );
  let next = 0;
  async function worker() {
    while (next < missing.length) {
      const index = missing[next++]!;
      const file = benchFile(options.dir, index);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const png = await sharp(benchPixels(index), { raw: { width: SIZE, height: SIZE, channels: 3 } })
        .png()
        .toBuffer();
      // Write then rename, so an interrupted run never leaves a half file in the cache.
      fs.writeFileSync(`${file}.partial`, png);
      fs.renameSync(`${file}.partial`, file);
    }
  }
  await Promise.all(Array.from({ length: 4 }, worker));
  return missing.length;
}
