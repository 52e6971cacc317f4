/**
 * Data benchmark, loader section: how fast the training loader hands out 224×224 batches (random
 * resized crop, flip, normalise) from the decoded cache and from the image files, against how
 * fast a ViT-Tiny/16 @224 MAE step consumes them on each available backend. Target: the loader
 * from the cache at least 10× a native step's samples/s, so a run is never bound by its data.
 *
 * Images: JPEGs of 640×480 RGB (a camera's size), textured so they do not compress to nothing,
 * written to a temporary folder. "files" reads every sample from its file (no in-memory copies:
 * each draw decodes), "cache" reads the prepared shards by offset on the loader's worker thread;
 * both are timed as a run sees them, batch after batch with the queue working ahead. Prepare is
 * the one-off cost of writing the cache.
 *
 *   node dist/bench/data-loader.js [--images 64] [--batches 8] [--batch 64] [--backends native,webgpu]
 *                                  [--steps 2] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { ChannelTransform, ImageEntry } from '../app/data/batches';
import { trainingLoader } from '../app/data/cache/loader';
import { prepareTrainingCache } from '../app/data/cache/prepare';
import { normalisationOf, storedSide } from '../app/data/cache/prepared';
import { cacheUsage } from '../app/data/cache/shards';
import { MAE_PRESETS } from '../app/mae/config';
import { Rng } from '../app/mae/rng';
import { selectBackend, type BackendPreference } from '../app/runtime/backend';
import { syntheticSource } from '../app/train/synthetic';
import { MaeTrainer } from '../app/train/trainer';
import { argument, flag } from './shared/options';

const IMG_SIZE = 224;
const STEP_BATCH = 8;
const TRANSFORM: ChannelTransform = {
  inputChannels: 3,
  conversions: { 3: 'keep' },
  bands: [0, 1, 2],
  clip: [null, null, null],
  center: [124, 116, 104],
  spread: [58, 57, 57],
};

function count(name: string, fallback: number): number {
  const value = Number(argument(name, String(fallback)));
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`--${name} must be a positive integer, got ${argument(name, '')}`);
  return value;
}

/** A 640×480 RGB JPEG with a texture of its own (seeded). */
async function writeImage(file: string, seed: number): Promise<void> {
  const width = 640;
  const height = 480;
  const pixels = new Uint8Array(width * height * 3);
  const rng = Rng.fromSeed(seed, 9);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const wave = Math.sin((x * (c + 1) + seed * 13) / 17) * Math.cos((y * (3 - c) + seed) / 23);
        pixels[(y * width + x) * 3 + c] = Math.max(
          0,
          Math.min(255, Math.round(128 + 90 * wave + 30 * (rng.uniform() - 0.5))),
        );
      }
    }
  }
  await sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toFile(file);
}

/** Samples/s of `batches` batches of `batch` from a loader (one untimed batch first). */
async function loaderRate(
  entries: ImageEntry[],
  records: Awaited<ReturnType<typeof prepareTrainingCache>>['records'] | undefined,
  batches: number,
  batch: number,
): Promise<number> {
  const loader = trainingLoader({
    entries,
    imgSize: IMG_SIZE,
    side: storedSide(IMG_SIZE),
    transform: TRANSFORM,
    normalisation: normalisationOf(TRANSFORM, 8, [], []),
    memoryBytes: 0,
    ...(records && { records }),
  });
  const rng = Rng.fromSeed(1, 2);
  try {
    await loader.next(rng, batch);
    const started = performance.now();
    for (let index = 0; index < batches; index++) await loader.next(rng, batch);
    return (batches * batch * 1000) / (performance.now() - started);
  } finally {
    await loader.close();
  }
}

/** Samples/s of a ViT-Tiny/16 @224 MAE step (batch 8, synthetic images) on `backend`. */
async function stepRate(
  backend: Exclude<BackendPreference, 'auto'>,
  steps: number,
): Promise<{ rate: number; device: string } | string> {
  let device: string;
  try {
    device = (await selectBackend(backend, { log: () => undefined })).device;
  } catch (error) {
    return (error as Error).message;
  }
  const model = MAE_PRESETS.maeVitTinyPatch16Dec512d8b({ inChans: 3 });
  const trainer = MaeTrainer.create(
    { model, batchSize: STEP_BATCH, totalSteps: 1000, warmupSteps: 0, seed: 0 },
    syntheticSource({ imgSize: IMG_SIZE, channels: 3 }),
  );
  try {
    await trainer.trainStep();
    const started = performance.now();
    for (let index = 0; index < steps; index++) await trainer.trainStep();
    return { rate: (steps * STEP_BATCH * 1000) / (performance.now() - started), device };
  } finally {
    trainer.dispose();
  }
}

async function main(): Promise<void> {
  const images = count('images', 64);
  const batches = count('batches', 8);
  const batch = count('batch', 64);
  const steps = count('steps', 2);
  const backends = argument('backends', 'native').split(',') as Exclude<BackendPreference, 'auto'>[];
  const json = flag('json');
  const log = (line: string): void => {
    if (!json) console.log(line);
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-bench-data-'));
  try {
    const entries: ImageEntry[] = [];
    for (let index = 0; index < images; index++) {
      const file = path.join(dir, 'images', `${index}.jpg`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      await writeImage(file, index);
      entries.push({ path: file, sha256: `bench-${index}`, channels: 3, bitDepth: 8, width: 640, height: 480 });
    }
    log(
      `${images} JPEGs 640×480 RGB; batches of ${batch} at ${IMG_SIZE}×${IMG_SIZE}, ` +
        `stored side ${storedSide(IMG_SIZE)}; ${os.cpus().length} cores`,
    );
    const prepareStarted = performance.now();
    const cache = await prepareTrainingCache({
      projectDir: path.join(dir, 'project'),
      entries,
      side: storedSide(IMG_SIZE),
      transform: TRANSFORM,
    });
    const prepareRate = (images * 1000) / (performance.now() - prepareStarted);
    const usage = cacheUsage(path.join(dir, 'project'));
    log(
      `prepare (one-off)     ${prepareRate.toFixed(1)} samples/s, ` +
        `cache ${(usage.bytes / 2 ** 20).toFixed(1)} MiB for ${usage.samples} samples`,
    );
    const fromFiles = await loaderRate(entries, undefined, batches, batch);
    log(`loader from files     ${fromFiles.toFixed(1)} samples/s`);
    const fromCache = await loaderRate(entries, cache.records, batches, batch);
    log(`loader from cache     ${fromCache.toFixed(1)} samples/s (${(fromCache / fromFiles).toFixed(1)}× files)`);
    const rows: Record<string, unknown>[] = [];
    for (const backend of backends) {
      const step = await stepRate(backend, steps);
      if (typeof step === 'string') {
        log(`${backend.padEnd(8)} step: not available (${step})`);
        rows.push({ backend, available: false, reason: step });
        continue;
      }
      const ratio = fromCache / step.rate;
      const verdict = backend === 'native' ? (ratio >= 10 ? '  target ≥10×: met' : '  target ≥10×: MISSED') : '';
      log(
        `${backend.padEnd(8)} ViT-Tiny/16@224 step ${step.rate.toFixed(2)} samples/s (${step.device}); ` +
          `cache/step ${ratio.toFixed(1)}×, files/step ${(fromFiles / step.rate).toFixed(1)}×${verdict}`,
      );
      rows.push({
        backend,
        device: step.device,
        stepSamplesPerSecond: step.rate,
        cacheOverStep: ratio,
        filesOverStep: fromFiles / step.rate,
      });
    }
    if (json)
      console.log(
        JSON.stringify({
          images,
          batch,
          batches,
          prepareSamplesPerSecond: prepareRate,
          cacheBytes: usage.bytes,
          loaderFromFiles: fromFiles,
          loaderFromCache: fromCache,
          steps: rows,
        }),
      );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
