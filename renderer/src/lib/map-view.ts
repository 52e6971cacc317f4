/**
 * The embedding map's drawing and picking, without Svelte: points decoded from the contract's
 * base64 float32, a colour group per point (categories, or a numeric ramp in `RAMP_STEPS` steps),
 * one batched fill per group on a 2-D canvas, and which points a box, a lasso or the pointer hits.
 */
import type { MapColouring } from '$contract';

/** Colours of categories, in order (colour-blind-safe, Okabe–Ito then Tableau), repeating past the end. */
export const CATEGORY_COLOURS = [
  '#0072b2',
  '#e69f00',
  '#009e73',
  '#cc79a7',
  '#56b4e9',
  '#d55e00',
  '#f0e442',
  '#7f7f7f',
  '#9467bd',
  '#8c564b',
  '#17becf',
  '#bcbd22',
];
/** Points with no value (no label, no split, no such channel). */
export const NONE_COLOUR = '#a0a0a8';
/** Steps of the numeric ramp (viridis at these stops). */
export const RAMP = [
  '#440154',
  '#482878',
  '#3e4989',
  '#31688e',
  '#26828e',
  '#1f9e89',
  '#35b779',
  '#6ece58',
  '#b5de2b',
  '#fde725',
];
/** Pixel size of a point on a map of `count` points: larger while few, so small projects read well. */
export function pointSize(count: number): number {
  return count <= 1_000 ? 6 : count <= 10_000 ? 4 : 2.5;
}

/** Interleaved x, y from the contract's base64 little-endian float32. */
export function decodePoints(base64: string): Float32Array {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer, 0, bytes.length >> 2);
}

/** Colour groups of a colouring: the colour and legend text of each group, and each point's group. */
export interface ColourGroups {
  colours: string[];
  legend: string[];
  /** Per point: an index into `colours`. */
  group: Uint16Array;
}

/** How `colouring` colours each point (the last group holds the points with no value, if any). */
export function colourGroups(colouring: MapColouring): ColourGroups {
  const group = new Uint16Array(colouring.values.length);
  if (colouring.kind === 'category') {
    const none = colouring.categories.length;
    colouring.values.forEach((value, i) => (group[i] = value < 0 ? none : value));
    return {
      colours: [...colouring.categories.map((_, i) => CATEGORY_COLOURS[i % CATEGORY_COLOURS.length]!), NONE_COLOUR],
      legend: [...colouring.categories, 'none'],
      group,
    };
  }
  // A loop, not Math.min(...values): 100 000 arguments overflow the stack.
  let [low, high] = [Infinity, -Infinity];
  for (const value of colouring.values) {
    if (value === null) continue;
    low = Math.min(low, value);
    high = Math.max(high, value);
  }
  if (low > high) [low, high] = [0, 1];
  const span = high - low || 1;
  colouring.values.forEach((value, i) => {
    group[i] =
      value === null ? RAMP.length : Math.min(RAMP.length - 1, Math.floor(((value - low) / span) * RAMP.length));
  });
  const step = span / RAMP.length;
  return {
    colours: [...RAMP, NONE_COLOUR],
    legend: [...RAMP.map((_, i) => `${formatStat(low + i * step)}–${formatStat(low + (i + 1) * step)}`), 'none'],
    group,
  };
}

function formatStat(value: number): string {
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

/** Where map coordinates ([-1, 1]) land on a canvas of `width` × `height` pixels, with a margin. */
export interface Viewport {
  width: number;
  height: number;
  margin: number;
}

/** Canvas x, y of point `i`. */
export function toScreen(points: Float32Array, i: number, view: Viewport): [number, number] {
  const scale = (Math.min(view.width, view.height) - 2 * view.margin) / 2;
  return [view.width / 2 + points[i * 2]! * scale, view.height / 2 - points[i * 2 + 1]! * scale];
}

/** A `#rrggbb` colour as the 32-bit value of an opaque RGBA pixel (little-endian, as ImageData's bytes read). */
function pixel(colour: string): number {
  const value = Number.parseInt(colour.slice(1), 16);
  return ((0xff << 24) | ((value & 0xff) << 16) | (value & 0xff00) | (value >> 16)) >>> 0;
}

/** The ring around a selected point. */
const SELECTED_RING = '#111114';

/**
 * Draws every point as a small square straight into the canvas's pixels (one ImageData put per
 * frame, so 100 000 points cost a few milliseconds, not a path per point); selected points get a
 * dark ring and are drawn on top. `ratio` is the canvas's pixels per CSS pixel (`view` is in CSS pixels).
 */
export function drawMap(
  context: CanvasRenderingContext2D,
  points: Float32Array,
  groups: ColourGroups,
  view: Viewport,
  selected: ReadonlySet<number> = new Set(),
  ratio = 1,
  size = pointSize(points.length >> 1),
): void {
  const width = Math.round(view.width * ratio);
  const height = Math.round(view.height * ratio);
  if (width <= 0 || height <= 0) return;
  const image = context.createImageData(width, height);
  const buffer = new Uint32Array(image.data.buffer);
  const colours = groups.colours.map(pixel);
  const side = Math.max(1, Math.round(size * ratio));
  // toScreen, inlined and in canvas pixels (no array per point: this loop runs 100 000 times a frame).
  const scale = ((Math.min(view.width, view.height) - 2 * view.margin) / 2) * ratio;
  const [centreX, centreY] = [(view.width / 2) * ratio, (view.height / 2) * ratio];
  const square = (i: number, grow: number, value: number) => {
    const edge = side + 2 * grow;
    const left = Math.max(0, Math.round(centreX + points[i * 2]! * scale - edge / 2));
    const top = Math.max(0, Math.round(centreY - points[i * 2 + 1]! * scale - edge / 2));
    const right = Math.min(width, left + edge);
    const bottom = Math.min(height, top + edge);
    for (let row = top; row < bottom; row++) buffer.fill(value, row * width + left, row * width + right);
  };
  const count = points.length >> 1;
  for (let i = 0; i < count; i++) square(i, 0, colours[groups.group[i]!]!);
  const ring = pixel(SELECTED_RING);
  for (const i of selected) square(i, Math.max(1, Math.round(ratio * 1.5)), ring);
  for (const i of selected) square(i, 0, colours[groups.group[i]!]!);
  context.putImageData(image, 0, 0);
}

/** The point nearest to canvas x, y within `radius` pixels, or null. */
export function pointAt(points: Float32Array, view: Viewport, x: number, y: number, radius = 6): number | null {
  const scale = (Math.min(view.width, view.height) - 2 * view.margin) / 2;
  // Back to map coordinates once, so the loop over every point only subtracts and multiplies.
  const [mapX, mapY, reach] = [(x - view.width / 2) / scale, (view.height / 2 - y) / scale, radius / scale];
  let best: number | null = null;
  let bestDistance = reach * reach;
  for (let i = 0; i < points.length >> 1; i++) {
    const distance = (points[i * 2]! - mapX) ** 2 + (points[i * 2 + 1]! - mapY) ** 2;
    if (distance <= bestDistance) [best, bestDistance] = [i, distance];
  }
  return best;
}

/** Indexes of the points inside the box with corners (x0, y0) and (x1, y1), in canvas pixels. */
export function pointsInBox(
  points: Float32Array,
  view: Viewport,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
): number[] {
  const scale = (Math.min(view.width, view.height) - 2 * view.margin) / 2;
  const toMapX = (x: number) => (x - view.width / 2) / scale;
  const toMapY = (y: number) => (view.height / 2 - y) / scale;
  const [left, right] = [toMapX(Math.min(x0, x1)), toMapX(Math.max(x0, x1))];
  const [bottom, top] = [toMapY(Math.max(y0, y1)), toMapY(Math.min(y0, y1))];
  const inside: number[] = [];
  for (let i = 0; i < points.length >> 1; i++) {
    const [x, y] = [points[i * 2]!, points[i * 2 + 1]!];
    if (x >= left && x <= right && y >= bottom && y <= top) inside.push(i);
  }
  return inside;
}

/** Whether x, y is inside the polygon (even-odd rule). */
function insidePolygon(polygon: readonly (readonly [number, number])[], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i]!;
    const [xj, yj] = polygon[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Indexes of the points inside a lasso (canvas pixels, closed from its last vertex to its first). */
export function pointsInLasso(
  points: Float32Array,
  view: Viewport,
  lasso: readonly (readonly [number, number])[],
): number[] {
  if (lasso.length < 3) return [];
  const xs = lasso.map(([x]) => x);
  const ys = lasso.map(([, y]) => y);
  const box = pointsInBox(points, view, Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys));
  return box.filter((i) => insidePolygon(lasso, ...toScreen(points, i, view)));
}
