/**
 * Dataset statistics of a project's channel plan: per band of the plan's input, mean, std,
 * percentiles and a histogram, computed once, streaming over the images the plan keeps (each
 * converted as training reads it); sampled for large sets and huge images, never decoding a
 * huge image whole.
 */
import { StudioError, type BandStats, type DatasetChannelStats } from '../contract';
import { Rng } from '../mae/rng';
import type { Workspace } from '../workspace';
import { readEntry } from './batches';
import { convertRaster, convertStats } from './channel-conversion';
import { channelPlanView, keptByPlan, planImages } from './channel-plan';

/** Images read at most for dataset statistics; beyond, a seeded sample of this many. */
export const MAX_STATS_IMAGES = 500;
/** Pixels counted at most per image (a regular stride over the rest). */
export const MAX_STATS_PIXELS = 65_536;
/** Windows read from each huge image. */
const HUGE_WINDOWS = 8;
const HUGE_WINDOW_SIDE = 256;
const FINE_BINS = 4096;
const SHOWN_BINS = 64;
/** Percentiles stored with the statistics (the UI offers these). */
export const STORED_PERCENTILES = [0.5, 1, 2, 98, 99, 99.5] as const;

class BandAccumulator {
  count = 0;
  sum = 0;
  squares = 0;
  readonly bins = new Float64Array(FINE_BINS);
  constructor(
    readonly min: number,
    readonly max: number,
  ) {}

  add(value: number): void {
    this.count++;
    this.sum += value;
    this.squares += value * value;
    const scale = this.max > this.min ? (FINE_BINS - 1) / (this.max - this.min) : 0;
    const bin = Math.floor((value - this.min) * scale);
    this.bins[bin < 0 ? 0 : bin >= FINE_BINS ? FINE_BINS - 1 : bin]!++;
  }

  result(band: number, name: string | null): BandStats {
    const mean = this.count ? this.sum / this.count : 0;
    const std = this.count ? Math.sqrt(Math.max(this.squares / this.count - mean * mean, 0)) : 0;
    const percentiles: Record<string, number> = {};
    for (const percent of STORED_PERCENTILES) percentiles[String(percent)] = this.percentile(percent / 100);
    const histogram = Array.from({ length: SHOWN_BINS }, (_, bin) => {
      let total = 0;
      for (let fine = (bin * FINE_BINS) / SHOWN_BINS; fine < ((bin + 1) * FINE_BINS) / SHOWN_BINS; fine++)
        total += this.bins[fine]!;
      return total;
    });
    return { band, name, mean, std, min: this.min, max: this.max, percentiles, histogram };
  }

  private percentile(fraction: number): number {
    const target = Math.max(1, Math.ceil(fraction * this.count));
    let cumulative = 0;
    for (let bin = 0; bin < FINE_BINS; bin++) {
      cumulative += this.bins[bin]!;
      if (cumulative >= target) return this.min + ((bin + 0.5) * (this.max - this.min)) / FINE_BINS;
    }
    return this.max;
  }
}

/**
 * Per-band statistics over the images the project's channel plan keeps, each converted to the
 * plan's input bands as training reads it, in one streaming pass (the range comes from the
 * stored per-image statistics, converted the same way, so no second pass).
 */
export async function computeDatasetStats(
  workspace: Workspace,
  projectId: number,
  seed = 0,
): Promise<DatasetChannelStats> {
  const view = channelPlanView(workspace, projectId);
  const target = view.plan.inputChannels;
  const all = keptByPlan(planImages(workspace, projectId), view.plan);
  if (all.length === 0)
    throw new StudioError(
      'INVALID_ARGUMENT',
      `project "${workspace.projects.get(projectId).name}" has no usable images: import a folder first`,
    );
  let images = all;
  let sampled = false;
  if (all.length > MAX_STATS_IMAGES) {
    const rng = Rng.fromSeed(seed, 303);
    const order = all.map((image) => ({ image, key: rng.uniform() })).sort((a, b) => a.key - b.key);
    images = order.slice(0, MAX_STATS_IMAGES).map((entry) => entry.image);
    sampled = true;
  }
  const ranges = images.map((image) => convertStats(image.stats, image.channels, image.conversion, target));
  const bands = Array.from({ length: target }, (_, band) => {
    const min = Math.min(...ranges.map((stats) => stats[band]?.min ?? 0));
    const max = Math.max(...ranges.map((stats) => stats[band]?.max ?? 0));
    return new BandAccumulator(min, max);
  });
  const rng = Rng.fromSeed(seed, 304);
  for (const image of images) {
    const regions = image.huge
      ? Array.from({ length: HUGE_WINDOWS }, () => {
          const side = Math.min(HUGE_WINDOW_SIDE, image.width!, image.height!);
          return {
            x: rng.int(image.width! - side + 1),
            y: rng.int(image.height! - side + 1),
            width: side,
            height: side,
          };
        })
      : [undefined];
    sampled ||= image.huge === true;
    for (const region of regions) {
      const raster = convertRaster(await readEntry(image, region), image.conversion, target);
      const pixels = raster.width * raster.height;
      const stride = Math.max(1, Math.floor(pixels / MAX_STATS_PIXELS));
      sampled ||= stride > 1;
      for (let pixel = 0; pixel < pixels; pixel += stride) {
        for (let band = 0; band < raster.bands; band++) {
          const value = raster.values[pixel * raster.bands + band]!;
          if (Number.isNaN(value) || value === image.nodata) continue;
          bands[band]!.add(value);
        }
      }
    }
  }
  return {
    computedAt: new Date().toISOString(),
    channels: target,
    conversions: { ...view.plan.conversions },
    images: images.length,
    pixels: bands[0]?.count ?? 0,
    sampled,
    bands: bands.map((accumulator, band) => accumulator.result(band, view.bandNames[band] ?? null)),
  };
}
