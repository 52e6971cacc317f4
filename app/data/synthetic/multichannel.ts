/**
 * Synthetic samples with many channels, made to tell the domain recipes apart: the label lives
 * in the channels a recipe is about and nowhere else. Every image is a 16-bit multi-band TIFF
 * with its band names; the same seed writes the same bytes.
 *
 * - sentinel-2: 13-band Sentinel-2-like L1C scenes (reflectance × 10000), 64 px: fields of one
 *   crop among soil, roads and water. The four crops share their visible spectrum (B1–B4) and
 *   their field pattern; they differ only in red edge, near infrared and short-wave infrared, and
 *   a random illumination per scene leaves only the shape of the spectrum to go by.
 * - cell-painting: 5-channel Cell-Painting-like fields (DNA, ER, RNA, AGP, Mito), 64 px. Three
 *   treatments draw the same cells in DNA, ER, RNA and AGP and differ only in the morphology of the
 *   mitochondria: a network of long tubules, fragmented puncta, or short tubules collapsed into a
 *   cap beside the nucleus. Each cell's Mito amount is its own random load whatever the treatment,
 *   so the amount says nothing and the label survives per-image, per-channel standardisation.
 *
 * Draws are made so that one image seed gives the same pixels in the shared channels whatever the
 * label: the label is read only where it matters (a spectrum, the last channel drawn).
 */
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../contract';
import { Canvas, gaussianBlob, imageSeed, Random, ring, softEllipse } from './draw';
import { encodeMultibandTiff } from './multiband-tiff';

/** The many-channel samples. */
export type MultichannelSampleKind = 'sentinel-2' | 'cell-painting';

/** One kind: what the project is, its bands, labels and painter. */
export interface MultichannelSample {
  /** The project domain it belongs to. */
  domain: 'remote-sensing' | 'microscopy';
  bandNames: readonly string[];
  labels: readonly string[];
  defaultCount: number;
  /** The bands whose values depend on the label; the others are the same for every label. */
  labelBands: readonly number[];
  /** Interleaved floats (width × height × bands), values × `scale` become the 16-bit pixels. */
  draw: (label: string, random: Random) => Canvas;
  scale: number;
}

/** Sentinel-2 L1C's 13 bands, named as the band groups and the spectral indices find them. */
const SENTINEL2_BANDS = [
  'B1 coastal aerosol',
  'B2 blue',
  'B3 green',
  'B4 red',
  'B5 red edge 1',
  'B6 red edge 2',
  'B7 red edge 3',
  'B8 nir',
  'B8A narrow nir',
  'B9 water vapour',
  'B10 cirrus',
  'B11 swir1',
  'B12 swir2',
] as const;

/** What every crop reflects in B1–B4 and B10: the same, so RGB says nothing of the crop. */
const CROP_VISIBLE = [0.03, 0.035, 0.07, 0.04];
const CROP_CIRRUS = 0.003;

/** Each crop's reflectance in B5, B6, B7, B8, B8A, B9, B11, B12 (red-edge position, NIR plateau, leaf water). */
const CROP_INFRARED: Readonly<Record<string, readonly number[]>> = {
  grassland: [0.105, 0.26, 0.32, 0.35, 0.37, 0.115, 0.24, 0.135],
  maize: [0.095, 0.29, 0.37, 0.4, 0.42, 0.135, 0.2, 0.105],
  rapeseed: [0.12, 0.28, 0.34, 0.37, 0.39, 0.125, 0.19, 0.1],
  wheat: [0.11, 0.27, 0.33, 0.36, 0.38, 0.12, 0.22, 0.12],
};

/** The full 13-band spectrum of a crop. */
function cropSpectrum(label: string): number[] {
  const infrared = CROP_INFRARED[label]!;
  return [...CROP_VISIBLE, ...infrared.slice(0, 6), CROP_CIRRUS, ...infrared.slice(6)];
}

/** Land around the fields, the same for every label: bare soil, a built-up surface, water. */
const BACKGROUND_SPECTRA: readonly (readonly number[])[] = [
  [0.06, 0.08, 0.11, 0.14, 0.17, 0.19, 0.21, 0.23, 0.24, 0.08, 0.006, 0.3, 0.26],
  [0.1, 0.11, 0.12, 0.13, 0.14, 0.15, 0.16, 0.17, 0.17, 0.06, 0.006, 0.2, 0.18],
  [0.04, 0.05, 0.06, 0.04, 0.03, 0.02, 0.02, 0.015, 0.012, 0.005, 0.002, 0.005, 0.003],
];

/**
 * A scene of 6–9 parcels (a Voronoi partition), the first two and about half the rest sown with
 * the crop, each crop parcel with its own row direction, period and vigour; the rest soil, roads
 * or water; one illumination factor for the scene and sensor noise.
 */
function drawScene(label: string, random: Random): Canvas {
  const size = 64;
  const bands = SENTINEL2_BANDS.length;
  const canvas = new Canvas(size, size, bands);
  const crop = cropSpectrum(label);
  const parcels = Array.from({ length: random.integer(6, 9) }, (_, index) => {
    const sown = random.next() < 0.5 || index < 2;
    const background = BACKGROUND_SPECTRA[random.integer(0, BACKGROUND_SPECTRA.length - 1)]!;
    const vigour = random.between(0.8, 1.2);
    const jitter = Array.from({ length: bands }, () => 1 + random.between(-0.05, 0.05));
    const [angle, period, phase] = [random.between(0, Math.PI), random.between(3, 6), random.between(0, 2 * Math.PI)];
    return {
      x: random.between(0, size),
      y: random.between(0, size),
      spectrum: (sown ? crop : background).map((value, band) => value * vigour * jitter[band]!),
      rows: sown ? { angle, period, phase } : null,
    };
  });
  const illumination = random.between(0.75, 1.25);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let nearest = parcels[0]!;
      for (const parcel of parcels)
        if (Math.hypot(x - parcel.x, y - parcel.y) < Math.hypot(x - nearest.x, y - nearest.y)) nearest = parcel;
      const { rows } = nearest;
      const along = rows ? x * Math.cos(rows.angle) + y * Math.sin(rows.angle) : 0;
      const texture = rows ? 1 + 0.08 * Math.sin((2 * Math.PI * along) / rows.period + rows.phase) : 1;
      const offset = (y * size + x) * bands;
      for (let band = 0; band < bands; band++)
        canvas.data[offset + band] = nearest.spectrum[band]! * texture * illumination;
    }
  }
  addNoise(canvas, random, 0.003);
  return canvas;
}

/** Gaussian noise of `sigma` on `channels` (all by default), drawn in pixel order. */
function addNoise(canvas: Canvas, random: Random, sigma: number, channels?: readonly number[]): void {
  const chosen = channels ?? Array.from({ length: canvas.channels }, (_, channel) => channel);
  for (let pixel = 0; pixel < canvas.width * canvas.height; pixel++)
    for (const channel of chosen) canvas.data[pixel * canvas.channels + channel]! += sigma * random.gaussian();
}

/** Cell Painting's five stains, in the order of the JUMP and RxRx plates. */
const CELL_PAINTING_CHANNELS = ['DNA', 'ER', 'RNA', 'AGP', 'Mito'] as const;
const MITO = 4;

/**
 * A field of 3–5 cells: nuclei (DNA), ER around the nucleus, RNA in the cytoplasm and nucleoli,
 * membrane and actin (AGP) — the same for every label — then the mitochondria of the label.
 */
function drawCellField(label: string, random: Random): Canvas {
  const size = 64;
  const canvas = new Canvas(size, size, CELL_PAINTING_CHANNELS.length);
  canvas.paint([0.01, 0.012, 0.01, 0.012, 0.01], () => 1);
  const cells = Array.from({ length: random.integer(3, 5) }, () => {
    const radius = random.between(9, 13);
    return {
      x: random.between(10, size - 10),
      y: random.between(10, size - 10),
      radius,
      stretch: random.between(0.8, 1.2),
      angle: random.between(0, Math.PI),
      nucleus: radius * random.between(0.38, 0.48),
      brightness: random.between(0.7, 1.2),
    };
  });
  const only = (channel: number, amount: number) => [0, 1, 2, 3, 4].map((c) => (c === channel ? amount : 0));
  for (const cell of cells) {
    const { x, y, radius, stretch, angle, nucleus, brightness: b } = cell;
    canvas.paint(only(1, 0.05 * b), softEllipse(x, y, radius * stretch, radius, angle, 0.3));
    canvas.paint(only(1, 0.06 * b), ring(x, y, nucleus * 1.4, 1.5));
    canvas.paint(only(2, 0.04 * b), softEllipse(x, y, radius * stretch * 0.9, radius * 0.9, angle, 0.3));
    canvas.paint(only(3, 0.1 * b), ring(x, y, radius, 1.1));
    canvas.paint(only(3, 0.02 * b), softEllipse(x, y, radius * stretch, radius, angle, 0.3));
    canvas.paint(only(0, 0.3 * b), softEllipse(x, y, nucleus, nucleus * random.between(0.85, 1.1), angle));
    for (let nucleolus = random.integer(1, 3); nucleolus > 0; nucleolus--) {
      const [dx, dy] = [random.between(-0.4, 0.4) * nucleus, random.between(-0.4, 0.4) * nucleus];
      canvas.paint(only(2, 0.1 * b), gaussianBlob(x + dx, y + dy, random.between(0.9, 1.4)));
    }
  }
  addNoise(canvas, random, 0.004, [0, 1, 2, 3]);
  // The label's mitochondria, drawn last so that the other stains never depend on it.
  for (const cell of cells) drawMitochondria(canvas, label, random, cell);
  addNoise(canvas, random, 0.004, [MITO]);
  return canvas;
}

/**
 * Mito dye per cell, in canvas units summed over the cell: every treatment puts the same amount in
 * a cell, times the cell's own load (drawn per cell, {@link MITO_LOAD}), so the total says nothing of
 * the treatment and per-channel standardisation (CA-MAE's) keeps all that does: the morphology. An
 * earlier version gave the treatments different amounts (fragmented about half the control's), which
 * per-image standardisation removes: CA-MAE probed 45 points under the plain MAE on a signal that
 * only existed before standardisation.
 */
const MITO_PER_CELL = 8;
/** The range of a cell's Mito load (uptake varies from cell to cell far more than between treatments). */
const MITO_LOAD = [0.5, 1.6] as const;

/** A soft line of Gaussian dots along `points` (spacing about a pixel), added to `into` (one channel). */
function stroke(into: Float32Array, size: number, points: readonly [number, number][], sigma: number): void {
  for (const [cx, cy] of points) {
    const reach = Math.ceil(3 * sigma);
    for (let y = Math.max(0, Math.floor(cy) - reach); y <= Math.min(size - 1, Math.ceil(cy) + reach); y++)
      for (let x = Math.max(0, Math.floor(cx) - reach); x <= Math.min(size - 1, Math.ceil(cx) + reach); x++)
        into[y * size + x]! += Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma * sigma));
  }
}

/**
 * A tubule: a random walk of `steps` one-pixel steps starting tangential to the nucleus, turning a
 * little at each step and kept between `inner` and `outer` from the cell's centre.
 */
function tubule(
  random: Random,
  cell: { x: number; y: number },
  start: [number, number],
  steps: number,
  [inner, outer]: readonly [number, number],
): [number, number][] {
  let [x, y] = start;
  let heading = Math.atan2(y - cell.y, x - cell.x) + (random.next() < 0.5 ? 1 : -1) * Math.PI * 0.5;
  const points: [number, number][] = [[x, y]];
  for (let step = 0; step < steps; step++) {
    heading += random.between(-0.35, 0.35);
    let [nx, ny] = [x + Math.cos(heading), y + Math.sin(heading)];
    const reach = Math.hypot(nx - cell.x, ny - cell.y);
    if (reach < inner || reach > outer) {
      heading += Math.PI * random.between(0.6, 1.4); // turn back into the band
      [nx, ny] = [x + Math.cos(heading), y + Math.sin(heading)];
    }
    [x, y] = [nx, ny];
    points.push([x, y]);
  }
  return points;
}

/**
 * Mitochondria of one cell, the phenotypes of mitochondrial stress: a tubular network of long thin
 * tubules through the cytoplasm (control), the same dye broken into small round puncta through the
 * cytoplasm (fragmented), or short tubules collapsed into a dense cap on one side of the nucleus
 * (perinuclear). Drawn on their own, then scaled so the cell holds {@link MITO_PER_CELL} × its load.
 */
function drawMitochondria(
  canvas: Canvas,
  label: string,
  random: Random,
  cell: { x: number; y: number; radius: number; nucleus: number },
): void {
  const size = canvas.width;
  const own = new Float32Array(size * size);
  const load = random.between(...MITO_LOAD);
  const perinuclear = label === 'perinuclear';
  const band: readonly [number, number] = perinuclear
    ? [cell.nucleus * 1.05, cell.nucleus * 1.6]
    : [cell.nucleus * 1.2, cell.radius * 0.95];
  const side = random.between(0, 2 * Math.PI);
  const place = (): [number, number] => {
    const angle = perinuclear ? side + random.between(-1.1, 1.1) : random.between(0, 2 * Math.PI);
    const reach = random.between(...band);
    return [cell.x + Math.cos(angle) * reach, cell.y + Math.sin(angle) * reach];
  };
  if (label === 'fragmented') {
    for (let index = random.integer(22, 32); index > 0; index--) stroke(own, size, [place()], random.between(0.6, 0.9));
  } else {
    const [count, steps] = perinuclear ? [random.integer(6, 9), [4, 8]] : [random.integer(4, 6), [12, 20]];
    for (let index = 0; index < count; index++)
      stroke(own, size, tubule(random, cell, place(), random.integer(steps[0]!, steps[1]!), band), 0.7);
  }
  let total = 0;
  for (const value of own) total += value;
  const scale = (MITO_PER_CELL * load) / Math.max(total, 1e-6);
  for (let pixel = 0; pixel < own.length; pixel++) canvas.data[pixel * canvas.channels + MITO]! += own[pixel]! * scale;
}

/** The many-channel samples by kind. */
export const MULTICHANNEL_SAMPLES: Readonly<Record<MultichannelSampleKind, MultichannelSample>> = {
  'sentinel-2': {
    domain: 'remote-sensing',
    bandNames: SENTINEL2_BANDS,
    labels: Object.keys(CROP_INFRARED),
    defaultCount: 96,
    labelBands: [4, 5, 6, 7, 8, 9, 11, 12],
    draw: drawScene,
    scale: 10000, // Sentinel-2 stores reflectance × 10000
  },
  'cell-painting': {
    domain: 'microscopy',
    bandNames: CELL_PAINTING_CHANNELS,
    labels: ['control', 'fragmented', 'perinuclear'],
    defaultCount: 90,
    labelBands: [MITO],
    draw: drawCellField,
    scale: 65535,
  },
};

/** Options of {@link writeMultichannelSample}. */
export interface MultichannelSampleOptions {
  kind: MultichannelSampleKind;
  /** Images in all, spread evenly over the labels; default per kind. */
  count?: number;
  /** PRNG seed; default 1. */
  seed?: number;
}

/**
 * Writes a labelled many-channel sample under `dir` (one sub-folder per label, `.tif` files).
 * Throws INVALID_ARGUMENT for an unknown kind or a count that is not a positive integer.
 */
export async function writeMultichannelSample(
  dir: string,
  options: MultichannelSampleOptions,
): Promise<{ dir: string; files: number; labels: string[] }> {
  const sample = MULTICHANNEL_SAMPLES[options.kind];
  if (!sample)
    throw new StudioError(
      'INVALID_ARGUMENT',
      `sample kind must be one of ${Object.keys(MULTICHANNEL_SAMPLES).join(', ')}, got ${JSON.stringify(options.kind)}`,
    );
  const count = options.count ?? sample.defaultCount;
  if (!Number.isInteger(count) || count < 1)
    throw new StudioError('INVALID_ARGUMENT', `sample count must be a positive integer, got ${count}`);
  const root = path.resolve(dir);
  for (const label of sample.labels) fs.mkdirSync(path.join(root, label), { recursive: true });
  for (let index = 0; index < count; index++) {
    const label = sample.labels[index % sample.labels.length]!;
    const canvas = sample.draw(label, new Random(imageSeed(options.seed ?? 1, index)));
    const name = `${label}-${String(Math.floor(index / sample.labels.length)).padStart(3, '0')}.tif`;
    const tiff = encodeMultibandTiff({
      pixels: canvas.toUint16(sample.scale),
      width: canvas.width,
      height: canvas.height,
      bands: canvas.channels,
      bandNames: sample.bandNames,
    });
    await fs.promises.writeFile(path.join(root, label, name), tiff);
  }
  return { dir: root, files: count, labels: [...sample.labels] };
}
