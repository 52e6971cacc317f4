/**
 * Whole-slide benchmark: memory stays bounded while a run trains on a slide far larger than
 * memory. A pyramidal JPEG-tiled TIFF of `--side`² pixels (default 100 000², 3·10^10 bytes of
 * RGB decoded) at 0.25 µm per pixel is written tile by tile, opened as an import does (levels,
 * tissue mask from the smallest level), then the training loader draws 224² windows at 0.5 µm
 * per pixel on tissue, batch after batch, as a run does. Reported: resident set size (RSS) before,
 * peak while writing, peak while training, the decoded-tile cache, samples per second.
 * Target: under 1 GiB of RSS for the data.
 *
 * The file stays small on disk: tiles of the same kind (tissue or glass, one of 8 textures, per
 * level) are stored once and every tile of that kind points at them. The reader does not know:
 * it reads and decodes every tile a window touches, and its cache is keyed by tile position.
 *
 *   node dist/bench/slide.js [--side 100000] [--batches 20] [--batch 16] [--json] [--keep]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChannelTransform, ImageEntry } from '../app/data/batches';
import { trainingLoader } from '../app/data/cache/loader';
import { normalisationOf, storedSide } from '../app/data/cache/prepared';
import { openSlideFile } from '../app/data/formats/slide-file';
import { tissueOnGlass, writeSlideFixture } from '../app/data/formats/slide.fixtures';
import { tileCacheBytes, TILE_CACHE_BYTES } from '../app/data/formats/slide-tiles';
import { slideEntryOf } from '../app/data/slide-sampling';
import { Rng } from '../app/mae/rng';
import { flag, positiveInteger } from './shared/options';

const IMG_SIZE = 224;
const TILE = 256;
const MIB = 2 ** 20;
const TRANSFORM: ChannelTransform = {
  inputChannels: 3,
  conversions: { 3: 'keep' },
  bands: [0, 1, 2],
  clip: [null, null, null],
  center: [200, 150, 190],
  spread: [40, 50, 40],
};

/** Resident set size now, in MiB; the peak is tracked by sampling. */
let peak = 0;
function rss(): number {
  const now = process.memoryUsage().rss / MIB;
  peak = Math.max(peak, now);
  return now;
}

async function main(): Promise<void> {
  const side = positiveInteger('side', 100_000);
  const batches = positiveInteger('batches', 20);
  const batchSize = positiveInteger('batch', 16);
  const json = flag('json');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-slide-'));
  const file = path.join(dir, 'slide.tif');
  globalThis.gc?.();
  const baseline = rss();
  const sampler = setInterval(rss, 20);
  try {
    let started = performance.now();
    const paint = tissueOnGlass(side, side);
    const texture = (x: number, y: number): [number, number, number] => {
      const [r, g, b] = paint(x, y);
      const grain = ((x * 7 + y * 13) >> 4) & 15; // a texture, so JPEG tiles are not flat
      return [r - grain, g - grain, b - grain];
    };
    const levels: [number, number][] = await writeSlideFixture(file, {
      width: side,
      height: side,
      tile: TILE,
      levels: Math.max(1, Math.ceil(Math.log(side / 512) / Math.log(4)) + 1),
      factor: 4,
      structure: 'svs',
      mpp: 0.25,
      paint: texture,
      quality: 80,
      tileKey: (level, column, row) => {
        const scale = 4 ** level;
        const centre = paint((column + 0.5) * TILE * scale, (row + 0.5) * TILE * scale);
        return `${level}:${centre[0] === 200 ? 'tissue' : 'glass'}:${(column * 3 + row) & 7}`;
      },
    });
    const writeSeconds = (performance.now() - started) / 1000;
    const writePeak = peak;
    peak = 0;
    globalThis.gc?.();

    started = performance.now();
    const slide = (await openSlideFile({ bytes: null, path: file, size: fs.statSync(file).size }))!;
    const meta = { ...slide.samples[0]!.meta, ...(await slide.extraMeta!(0)) };
    const openSeconds = (performance.now() - started) / 1000;
    const entry: ImageEntry = {
      path: file,
      channels: 3,
      bitDepth: 8,
      width: side,
      height: side,
      huge: meta.huge === true,
      slide: slideEntryOf(meta, { micronsPerPixel: 0.5, minTissue: 0.5 }),
    };
    const loader = trainingLoader({
      entries: [entry],
      imgSize: IMG_SIZE,
      side: storedSide(IMG_SIZE),
      transform: TRANSFORM,
      normalisation: normalisationOf(TRANSFORM, 8, [], []),
    });
    const rng = Rng.fromSeed(1, 2);
    await loader.next(rng, batchSize);
    started = performance.now();
    for (let index = 0; index < batches; index++) await loader.next(rng, batchSize);
    const trainSeconds = (performance.now() - started) / 1000;
    await loader.close();
    const result = {
      side,
      levels: levels.map(([width, height]) => `${width}×${height}`),
      fileMiB: Math.round((fs.statSync(file).size / MIB) * 10) / 10,
      tissueShare: meta.tissue?.share ?? null,
      baselineRssMiB: Math.round(baseline),
      writePeakRssMiB: Math.round(writePeak),
      writeSeconds: Math.round(writeSeconds * 10) / 10,
      openSeconds: Math.round(openSeconds * 100) / 100,
      trainPeakRssMiB: Math.round(peak),
      trainDataRssMiB: Math.round(peak - baseline),
      tileCacheMiB: Math.round(tileCacheBytes() / MIB),
      tileCacheLimitMiB: TILE_CACHE_BYTES / MIB,
      samplesPerSecond: Math.round(((batches * batchSize) / trainSeconds) * 10) / 10,
      target: 'train peak RSS − baseline under 1024 MiB',
    };
    if (json) console.log(JSON.stringify(result));
    else {
      console.log(`slide ${side}×${side} (${result.levels.join(', ')}), ${result.fileMiB} MiB on disk`);
      console.log(`write: ${result.writeSeconds} s, peak RSS ${result.writePeakRssMiB} MiB`);
      console.log(`open + tissue mask: ${result.openSeconds} s, tissue ${result.tissueShare}`);
      console.log(
        `train: ${batches} batches of ${batchSize} at ${IMG_SIZE}² (0.5 µm/px), ${result.samplesPerSecond} samples/s`,
      );
      console.log(
        `RSS: baseline ${result.baselineRssMiB} MiB, peak while training ${result.trainPeakRssMiB} MiB ` +
          `(data ${result.trainDataRssMiB} MiB; tile cache ${result.tileCacheMiB}/${result.tileCacheLimitMiB} MiB) ` +
          `${result.trainDataRssMiB < 1024 ? 'PASS' : 'FAIL'} (target < 1024 MiB)`,
      );
    }
    if (result.trainDataRssMiB >= 1024) process.exitCode = 1;
  } finally {
    clearInterval(sampler);
    if (flag('keep')) console.log(`kept ${file}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
