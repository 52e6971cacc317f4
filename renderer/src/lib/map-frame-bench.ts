/**
 * The embedding map's frame time, measured in a browser page (bundled into it by
 * `e2e/map-frame.ts` for the e2e and `npm run bench -- map`; the app never imports this file):
 * `count` synthetic clustered points drawn with the map's own code, frame after frame.
 */
import { colourGroups, drawMap, pointAt, pointsInBox } from './map-view';

/** Medians over the measured frames, in milliseconds (see `e2e/map-frame.ts`). */
export interface MapFrameTimes {
  points: number;
  frames: number;
  drawMs: number;
  drawAndRasterMs: number;
  frameIntervalMs: number;
  hoverMs: number;
  boxMs: number;
  paintedPixels: number;
}

/** Draws `count` points `frames` times on a 1100 × 440 canvas and times it. */
export async function measureMapFrames(count: number, frames: number): Promise<MapFrameTimes> {
  const view = { width: 1100, height: 440, margin: 12 };
  const canvas = document.createElement('canvas');
  canvas.width = view.width;
  canvas.height = view.height;
  canvas.style.cssText = 'position:fixed;left:0;top:0;z-index:9999';
  document.body.append(canvas);
  const context = canvas.getContext('2d')!;
  // Seeded clusters, as a UMAP of a 20-class dataset looks.
  let state = 12345;
  const random = () => (state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32;
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
  const groups = colourGroups({
    name: 'label',
    kind: 'category',
    categories: Array.from({ length: 11 }, (_, i) => `class ${i}`),
    values,
  });
  const selected = new Set(Array.from({ length: 1000 }, (_, i) => i * 37));
  const median = (list: number[]) => [...list].sort((a, b) => a - b)[list.length >> 1]!;
  const nextFrame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve));
  const draw: number[] = [];
  const raster: number[] = [];
  const intervals: number[] = [];
  let last = await nextFrame();
  for (let f = 0; f < frames; f++) {
    const started = performance.now();
    drawMap(context, points, groups, view, selected);
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
    pointAt(points, view, 300 + f * 20, 200);
    hover.push(performance.now() - started);
    started = performance.now();
    pointsInBox(points, view, 100, 50, 650, 270);
    box.push(performance.now() - started);
  }
  const pixels = context.getImageData(0, 0, view.width, view.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) painted++;
  canvas.remove();
  return {
    points: count,
    frames,
    drawMs: median(draw),
    drawAndRasterMs: median(raster),
    frameIntervalMs: median(intervals),
    hoverMs: median(hover),
    boxMs: median(box),
    paintedPixels: painted,
  };
}
