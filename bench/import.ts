/**
 * Import benchmark: 10,000 RGB 8-bit PNGs of 256×256 (generated once, cached under
 * `.bench/import-png-256/`), imported with thumbnails and stats into a fresh workspace through
 * `importFolders`. Prints files/s, peak RSS and where the time goes.
 *
 *   node dist/bench/import.js [--files N (multiple of 1000)] [--concurrency N] [--thumbnail-size PX] [--dir DIR]
 * [--json]
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { importFolders, defaultConcurrency, type ImportTimings } from '../app/data/import/import';
import { decodeImage } from '../app/data/formats/decode';
import { summarizePixels } from '../app/data/import/stats';
import { THUMBNAIL_SIZE, writeThumbnail } from '../app/data/import/thumbnail';
import { Workspace } from '../app/workspace';

const SIZE = 256;
/** Files per sub-folder, so folders stay browsable and labels exist. */
const FILES_PER_FOLDER = 1000;
/** Files timed stage by stage, one at a time, for CPU cost per stage. */
const STAGE_SAMPLE = 300;

interface BenchOptions {
  files: number;
  concurrency: number;
  dir: string;
  json: boolean;
  thumbnailSize: number;
}

function parseOptions(argv: readonly string[]): BenchOptions {
  const value = (name: string) => {
    const index = argv.indexOf(name);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const files = Number(value('--files') ?? 10_000);
  const concurrency = Number(value('--concurrency') ?? defaultConcurrency());
  if (!Number.isInteger(files) || files < FILES_PER_FOLDER || files % FILES_PER_FOLDER !== 0) {
    throw new Error(`--files must be a multiple of ${FILES_PER_FOLDER}, got ${value('--files')}`);
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`--concurrency must be a positive integer, got ${value('--concurrency')}`);
  const thumbnailSize = Number(value('--thumbnail-size') ?? THUMBNAIL_SIZE);
  return { files, concurrency, thumbnailSize, dir: path.resolve(value('--dir') ?? '.bench/import-png-256'), json: argv.includes('--json') };
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
function benchPixels(seed: number): Uint8Array {
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
      let colour = [from[0]! + (to[0]! - from[0]!) * t, from[1]! + (to[1]! - from[1]!) * t, from[2]! + (to[2]! - from[2]!) * t];
      for (const shape of shapes) {
        const inside = shape.disc
          ? (x - shape.x) ** 2 + (y - shape.y) ** 2 < shape.radius ** 2
          : Math.abs(x - shape.x) < shape.radius && Math.abs(y - shape.y) < shape.radius / 2;
        if (inside) colour = shape.colour;
      }
      const offset = (y * SIZE + x) * 3;
      for (let channel = 0; channel < 3; channel++) pixels[offset + channel] = colour[channel]! + (next() - 0.5) * noise;
    }
  }
  return pixels;
}

function setFolder(dir: string, set: number): string {
  return path.join(dir, `set-${String(set).padStart(2, '0')}`);
}

function benchFile(dir: string, index: number): string {
  return path.join(setFolder(dir, Math.floor(index / FILES_PER_FOLDER)), `${String(index).padStart(5, '0')}.png`);
}

/** The set folders holding the first `files` files (the cache may hold more sets than that). */
function datasetFolders(options: BenchOptions): string[] {
  return Array.from({ length: options.files / FILES_PER_FOLDER }, (_, set) => setFolder(options.dir, set));
}

/** Writes the files missing from the cached dataset; returns how many were written. */
async function ensureDataset(options: BenchOptions): Promise<number> {
  const missing = Array.from({ length: options.files }, (_, index) => index).filter((index) => !fs.existsSync(benchFile(options.dir, index)));
  let next = 0;
  async function worker() {
    while (next < missing.length) {
      const index = missing[next++]!;
      const file = benchFile(options.dir, index);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const png = await sharp(benchPixels(index), { raw: { width: SIZE, height: SIZE, channels: 3 } }).png().toBuffer();
      // Write then rename, so an interrupted run never leaves a half file in the cache.
      fs.writeFileSync(`${file}.partial`, png);
      fs.renameSync(`${file}.partial`, file);
    }
  }
  await Promise.all(Array.from({ length: 4 }, worker));
  return missing.length;
}

/** Passes over the stage sample; the fastest pass of each stage is kept (other load adds noise). */
const STAGE_PASSES = 3;

/** Milliseconds per file of each stage, one file at a time on a sample: ≈ its CPU cost. */
async function timeStages(options: BenchOptions, scratch: string): Promise<Record<string, number>> {
  const sample = Math.min(STAGE_SAMPLE, options.files);
  const best: Record<string, number> = { read: Infinity, hash: Infinity, decode: Infinity, stats: Infinity, thumbnail: Infinity };
  for (let pass = 0; pass < STAGE_PASSES; pass++) {
    const totals: Record<string, number> = { read: 0, hash: 0, decode: 0, stats: 0, thumbnail: 0 };
    const time = async <T>(stage: string, run: () => T | Promise<T>): Promise<T> => {
      const started = performance.now();
      const value = await run();
      totals[stage]! += performance.now() - started;
      return value;
    };
    for (let index = 0; index < sample; index++) {
      const bytes = await time('read', () => fs.readFileSync(benchFile(options.dir, index)));
      await time('hash', () => createHash('sha256').update(bytes).digest('hex'));
      const image = await time('decode', () => decodeImage(bytes, 'png'));
      const summary = await time('stats', () => summarizePixels(image.pixels, image.channels, image.bitDepth));
      await time('thumbnail', () => writeThumbnail(image, summary, path.join(scratch, `${pass}-${index}.jpg`), options.thumbnailSize));
    }
    for (const stage of Object.keys(best)) best[stage] = Math.min(best[stage]!, totals[stage]! / sample);
  }
  return best;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const generationStarted = performance.now();
  const written = await ensureDataset(options);
  const generationSeconds = (performance.now() - generationStarted) / 1000;
  const bytes = Array.from({ length: Math.min(200, options.files) }, (_, index) => fs.statSync(benchFile(options.dir, index)).size);

  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-bench-import-'));
  const workspace = new Workspace(path.join(root, 'workspace'));
  try {
    const project = workspace.projects.create('bench', 'general');
    const timings: ImportTimings = { read: 0, hash: 0, decode: 0, stats: 0, thumbnail: 0, database: 0 };
    const cpuBefore = process.cpuUsage();
    const result = await importFolders({
      importId: 'bench',
      projectId: project.id,
      folders: datasetFolders(options),
      images: workspace.images,
      projectDir: workspace.projectDir(project.id),
      concurrency: options.concurrency,
      thumbnailSize: options.thumbnailSize,
      timings,
    });
    const cpu = process.cpuUsage(cpuBefore);
    const processed = result.imported + result.skipped + result.duplicates.length + result.errors.length;
    if (processed !== options.files) throw new Error(`imported ${processed} files, expected ${options.files}`);
    const filesPerSecond = processed / result.seconds;
    const stages = await timeStages(options, fs.mkdtempSync(path.join(root, 'stages-')));
    const report = {
      files: options.files,
      imported: result.imported,
      failed: result.errors.length,
      seconds: Number(result.seconds.toFixed(2)),
      filesPerSecond: Math.round(filesPerSecond),
      concurrency: options.concurrency,
      thumbnailSize: options.thumbnailSize,
      threadpool: Number(process.env.UV_THREADPOOL_SIZE) || 4,
      cores: os.availableParallelism(),
      cpuMsPerFile: Number(((cpu.user + cpu.system) / 1000 / options.files).toFixed(3)),
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      averagePngKiB: Math.round(bytes.reduce((sum, size) => sum + size, 0) / bytes.length / 1024),
      /** Wall ms per file per stage inside the concurrent import (includes waiting for the threadpool). */
      inImportMsPerFile: Object.fromEntries(Object.entries(timings).map(([stage, ms]) => [stage, Number((ms / options.files).toFixed(3))])),
      /** ms per file per stage, one file at a time, best of 3 passes (≈ CPU cost of each stage). */
      isolatedMsPerFile: Object.fromEntries(Object.entries(stages).map(([stage, ms]) => [stage, Number(ms.toFixed(3))])),
      /** What the isolated stage costs allow on all cores of an idle machine. */
      idleEstimateFilesPerSecond: Math.round((1000 * os.availableParallelism()) / Object.values(stages).reduce((sum, ms) => sum + ms, 0)),
      generated: written,
      generationSeconds: Number(generationSeconds.toFixed(1)),
    };
    if (options.json) {
      console.log(JSON.stringify(report));
    } else {
      console.log(`import: ${report.imported}/${report.files} files in ${report.seconds} s = ${report.filesPerSecond} files/s`);
      console.log(`  ${report.cores} cores, ${report.concurrency} files in flight, threadpool ${report.threadpool}, ` + `thumbnails ${report.thumbnailSize} px, ${report.cpuMsPerFile} CPU ms/file`);
      console.log(`  peak RSS ${report.peakRssMiB} MiB, average PNG ${report.averagePngKiB} KiB`);
      console.log(`  in the import (wall ms/file, overlapping): ${JSON.stringify(report.inImportMsPerFile)}`);
      console.log(`  one file at a time (ms/file, best pass): ${JSON.stringify(report.isolatedMsPerFile)}`);
      console.log(`  ceiling from those stage costs on ${report.cores} idle cores: ${report.idleEstimateFilesPerSecond} files/s`);
      if (written > 0) console.log(`  (generated ${written} files in ${report.generationSeconds} s; cached in ${options.dir})`);
    }
  } finally {
    workspace.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
