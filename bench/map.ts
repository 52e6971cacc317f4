/**
 * `npm run bench -- map [--points N]`: frame time of Curate's embedding map at 100 000 points
 * (default) in Debian's Chromium, headless, drawing with the renderer's own code (see
 * `e2e/map-frame.ts`). Prints medians over 30 frames; asserts nothing about the wall clock.
 *
 * `npm run bench -- map --layout 10000,50000,100000`: instead, the map's layout (`layoutRows`:
 * principal subspace, UMAP on a seeded subsample, the rest placed by their nearest fitted rows) of
 * that many synthetic clustered rows of ViT-Tiny width (192), each size in a fresh process so its
 * peak resident memory is its own: seconds and peak RSS.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';
import { Rng } from '../app/mae/rng';
import { preferNativeBackend } from '../app/train/embeddings/compute';
import { DEFAULT_LAYOUT, layoutRows } from '../app/train/embeddings/map-layout';
import { measureMapFrames } from '../e2e/map-frame';

const WIDTH = 192;
const CLUSTERS = 12;

function argument(name: string): string | null {
  const flag = process.argv.indexOf(name);
  return flag === -1 ? null : (process.argv[flag + 1] ?? '');
}

function count(text: string, name: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be positive whole numbers, got ${text}`);
  return value;
}

/** `rows` rows around `CLUSTERS` Gaussian centres (unit noise, centres 3 apart on average). */
function clusteredRows(rows: number): Float32Array {
  const rng = Rng.fromSeed(5);
  const centres = Array.from({ length: CLUSTERS }, () =>
    Float32Array.from({ length: WIDTH }, () => rng.normal() * 0.3),
  );
  const values = new Float32Array(rows * WIDTH);
  for (let r = 0; r < rows; r++)
    for (let d = 0; d < WIDTH; d++) values[r * WIDTH + d] = centres[r % CLUSTERS]![d]! + rng.normal() * 0.1;
  return values;
}

/** One size, in this process: prints one JSON line. */
async function layoutOne(rows: number): Promise<void> {
  const backend = await preferNativeBackend();
  const matrix = { rows, columns: WIDTH, values: clusteredRows(rows) };
  const started = performance.now();
  const layout = await layoutRows(matrix, { seed: 0 });
  const seconds = (performance.now() - started) / 1000;
  const usage = process.resourceUsage();
  // CPU time of the process (all its threads): on a shared machine the wall clock also counts waiting.
  const cpuSeconds = (usage.userCPUTime + usage.systemCPUTime) / 1e6;
  const peakMb = usage.maxRSS / 1024;
  console.log(JSON.stringify({ rows, fitted: layout.fitted, seconds, cpuSeconds, peakMb, backend }));
}

async function frames(points: number): Promise<void> {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.setContent('<!doctype html><html><body></body></html>');
    for (const size of [10_000, points]) {
      const times = await measureMapFrames(page, size);
      console.log(
        `${size.toLocaleString('en')} points: draw ${times.drawMs.toFixed(1)}` +
          ` ms, draw + raster ${times.drawAndRasterMs.toFixed(1)} ms, ` +
          `frame interval ${times.frameIntervalMs.toFixed(1)} ms (${(1000 / times.frameIntervalMs).toFixed(0)} ` +
          `fps), hover ${times.hoverMs.toFixed(2)} ms, ` +
          `box ${times.boxMs.toFixed(2)} ms (median of ${times.frames} frames)`,
      );
    }
  } finally {
    await browser.close();
  }
}

const one = argument('--layout-one');
const layout = argument('--layout');
if (one !== null) await layoutOne(count(one, '--layout-one'));
else if (layout !== null) {
  console.log(
    `layout: UMAP fitted on at most ${DEFAULT_LAYOUT.fitLimit.toLocaleString('en')} rows after a ` +
      `${DEFAULT_LAYOUT.dimensions}-direction principal subspace; ${WIDTH} features, ${CLUSTERS} clusters`,
  );
  for (const text of layout.split(',')) {
    const rows = count(text, '--layout');
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--layout-one', String(rows)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (child.status !== 0) throw new Error(`the layout of ${rows} rows failed (exit ${child.status})`);
    const result = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as {
      fitted: number;
      seconds: number;
      cpuSeconds: number;
      peakMb: number;
      backend: string;
    };
    console.log(
      `${rows.toLocaleString('en')} rows: ${result.seconds.toFixed(1)} s ` +
        `(process CPU ${result.cpuSeconds.toFixed(1)} s), peak RSS ${result.peakMb.toFixed(0)} MB ` +
        `(UMAP fitted ${result.fitted.toLocaleString('en')}, ${result.backend} backend)`,
    );
  }
} else await frames(count(argument('--points') ?? '100000', '--points'));
