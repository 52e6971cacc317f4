/**
 * Frame time of the embedding map at scale: bundles the renderer's own drawing code
 * (`renderer/src/lib/map-view.ts`, through `map-frame-bench.ts`) into a page, draws `count` synthetic clustered points
 * on a 1100 × 440 canvas frame after frame, and times each draw, the draw with the raster forced (a one-pixel read
 * back), the interval between animation frames while redrawing every frame, and the hover and box hit tests. Used by
 * the embedding-map e2e and `npm run bench -- map`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import type { Page } from '@playwright/test';

const SOURCE = 'renderer/src/lib/map-frame-bench.ts';

/**
 * The in-page measurement (with the map's drawing code): found from this file upward (the e2e runs it from source, the
 * benchmark from dist/bench).
 */
function mapViewSource(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, SOURCE))) return path.join(dir, SOURCE);
    if (path.dirname(dir) === dir) throw new Error(`${SOURCE} not found above ${fileURLToPath(import.meta.url)}`);
  }
}

/** Medians over the measured frames, in milliseconds. */
export interface MapFrameTimes {
  points: number;
  frames: number;
  /** drawMap's own time (filling the pixel buffer, putting it). */
  drawMs: number;
  /** drawMap plus reading back one pixel, which waits for the raster. */
  drawAndRasterMs: number;
  /** Between animation frames while every frame redraws the map. */
  frameIntervalMs: number;
  /** Finding the point under the pointer (one hover). */
  hoverMs: number;
  /** Finding the points of a box a quarter of the canvas. */
  boxMs: number;
  /** Canvas pixels that are not blank after the draw (proof that something was drawn). */
  paintedPixels: number;
}

/** Measures the map's frames in `page` (any page: the code under test is injected). */
export async function measureMapFrames(page: Page, count = 100_000, frames = 30): Promise<MapFrameTimes> {
  const bundle = buildSync({
    entryPoints: [mapViewSource()],
    bundle: true,
    format: 'iife',
    globalName: 'mapFrameBench',
    write: false,
    logLevel: 'silent',
  });
  await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
  return page.evaluate(
    ({ count, frames }) =>
      (
        globalThis as unknown as {
          mapFrameBench: { measureMapFrames: (count: number, frames: number) => Promise<MapFrameTimes> };
        }
      ).mapFrameBench.measureMapFrames(count, frames),
    { count, frames },
  );
}
