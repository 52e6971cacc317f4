/**
 * Frame time of the embedding map at scale: bundles the renderer's own drawing code
 * (`renderer/src/lib/map-view.ts`) into a page, draws `count` synthetic clustered points on a
 * 1100 × 440 canvas frame after frame, and times each draw, the draw with the raster forced
 * (a one-pixel read back), the interval between animation frames while redrawing every frame,
 * and the hover and box hit tests. Used by the embedding-map e2e and `npm run bench -- map`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import type { Page } from '@playwright/test';

const SOURCE = 'renderer/src/lib/map-view.ts';

/** The map's drawing code: found from this file upward (the e2e runs it from source, the benchmark from dist/bench). */
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
  /** drawMap's own time (building the paths, submitting the fills). */
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
  const bundle = buildSync({ entryPoints: [mapViewSource()], bundle: true, format: 'iife', globalName: 'mapView', write: false, logLevel: 'silent' });
  await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
  return page.evaluate(async ({ count, frames }) => {
    const view = { width: 1100, height: 440, margin: 12 };
    const canvas = document.createElement('canvas');
    canvas.width = view.width;
    canvas.height = view.height;
    canvas.style.cssText = 'position:fixed;left:0;top:0;z-index:9999';
    document.body.append(canvas);
    const context = canvas.getContext('2d')!;
    // Seeded clusters, as a UMAP of a 20-class dataset looks.
    let state = 12345;
    const random = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const centres = Array.from({ length: 20 }, () => [random() * 1.6 - 0.8, random() * 1.6 - 0.8]);
    const points = new Float32Array(count * 2);
    const values: number[] = [];
    for (let i = 0; i < count; i++) {
      const c = i % 20;
      const [r, a] = [Math.sqrt(-2 * Math.log(random() + 1e-12)) * 0.06, random() * 2 * Math.PI];
      points[i * 2] = Math.max(-1, Math.min(1, centres[c]![0]! + r * Math.cos(a)));
      points[i * 2 + 1] = Math.max(-1, Math.min(1, centres[c]![1]! + r * Math.sin(a)));
      values.push(c % 12 === 11 ? -1 : c % 12);
    }
    const api = (window as unknown as { mapView: typeof import('../renderer/src/lib/map-view') }).mapView;
    const groups = api.colourGroups({ name: 'label', kind: 'category', categories: Array.from({ length: 11 }, (_, i) => `class ${i}`), values });
    const selected = new Set(Array.from({ length: 1000 }, (_, i) => i * 37));
    const median = (list: number[]) => [...list].sort((a, b) => a - b)[list.length >> 1]!;
    const nextFrame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve));
    const draw: number[] = [];
    const raster: number[] = [];
    const intervals: number[] = [];
    let last = await nextFrame();
    for (let f = 0; f < frames; f++) {
      const started = performance.now();
      api.drawMap(context, points, groups, view, selected);
      draw.push(performance.now() - started);
      context.getImageData(0, 0, 1, 1);
      raster.push(performance.now() - started);
      const now = await nextFrame();
      intervals.push(now - last);
      last = now;
    }
    const hover: number[] = [];
    const box: number[] = [];
    for (let f = 0; f < 10; f++) {
      let started = performance.now();
      api.pointAt(points, view, 300 + f * 20, 200);
      hover.push(performance.now() - started);
      started = performance.now();
      api.pointsInBox(points, view, 100, 50, 650, 270);
      box.push(performance.now() - started);
    }
    const pixels = context.getImageData(0, 0, view.width, view.height).data;
    let painted = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) painted++;
    canvas.remove();
    return {
      points: count, frames, drawMs: median(draw), drawAndRasterMs: median(raster), frameIntervalMs: median(intervals),
      hoverMs: median(hover), boxMs: median(box), paintedPixels: painted,
    };
  }, { count, frames });
}
