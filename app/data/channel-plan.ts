/**
 * The per-project channel plan: its default, the dataset statistics it scales with (computed
 * once, streaming over the images; sampled for large sets and huge images, never decoding a huge
 * image whole), and the per-channel transform the batches apply — see `ChannelTransform`.
 */
import { StudioError, type BandStats, type ChannelPlan, type ChannelPlanView, type DatasetChannelStats, type ImageMeta } from '../contract';
import { Rng } from '../mae/rng';
import type { Workspace } from '../workspace';
import { readEntry, type ChannelTransform, type ImageEntry } from './batches';

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

/** A stored image as statistics and thumbnails need it. */
export interface PlanImage extends ImageEntry {
  id: number;
  meta: ImageMeta | null;
  stats: { mean: number; std: number; min: number; max: number }[];
}

/** Good, kept images of a project with `channels` channels (all channel counts when omitted). */
export function planImages(workspace: Workspace, projectId: number, channels?: number): PlanImage[] {
  const rows = workspace.db
    .prepare(
      `SELECT id, path, frame, width, height, channels, bit_depth AS bitDepth, meta, stats FROM images
       WHERE project_id = ? AND error IS NULL AND duplicate_of IS NULL AND excluded = 0 AND stats IS NOT NULL
       ${channels === undefined ? '' : 'AND channels = ?'} ORDER BY id`,
    )
    .all(...(channels === undefined ? [projectId] : [projectId, channels])) as (Omit<PlanImage, 'meta' | 'stats'> & { meta: string | null; stats: string })[];
  return rows.map((row) => {
    const meta = row.meta ? (JSON.parse(row.meta) as ImageMeta) : null;
    return { ...row, meta, stats: JSON.parse(row.stats), huge: meta?.huge === true, nodata: meta?.nodata ?? null };
  });
}

/** The most common channel count of a project's kept images (0 when it has none). */
export function projectChannels(workspace: Workspace, projectId: number): number {
  const row = workspace.db
    .prepare(
      `SELECT channels FROM images WHERE project_id = ? AND error IS NULL AND duplicate_of IS NULL AND excluded = 0
       GROUP BY channels ORDER BY count(*) DESC, channels LIMIT 1`,
    )
    .get(projectId) as { channels: number } | undefined;
  return row?.channels ?? 0;
}

/** Every band in order, scaled by dataset mean/std; thumbnails show bands 1–3 (or 1). */
export function defaultChannelPlan(channels: number): ChannelPlan {
  const display = channels >= 3 ? [0, 1, 2] : [0];
  return {
    bands: Array.from({ length: Math.max(1, channels) }, (_, band) => band),
    scaling: 'mean-std',
    percentiles: [1, 99],
    divisor: 10_000,
    displayBands: display,
    displayRange: display.map(() => null),
  };
}

/** Throws INVALID_ARGUMENT naming the field when a plan does not fit images of `channels` bands. */
export function checkPlan(plan: ChannelPlan, channels: number): void {
  const outside = (field: string, bands: number[]) => {
    const band = bands.find((value) => value >= channels);
    if (band !== undefined) throw new StudioError('INVALID_ARGUMENT', `channelPlan.${field} reads band ${band + 1}, the images have ${channels}`);
  };
  outside('bands', plan.bands);
  outside('displayBands', plan.displayBands);
  if (plan.displayRange.length !== plan.displayBands.length) {
    throw new StudioError('INVALID_ARGUMENT', `channelPlan.displayRange needs ${plan.displayBands.length} entries (one per shown band), got ${plan.displayRange.length}`);
  }
}

/** The plan, statistics and band names of a project, as the curation screen shows them. */
export function channelPlanView(workspace: Workspace, projectId: number): ChannelPlanView {
  const channels = projectChannels(workspace, projectId);
  const stored = workspace.channelPlans.get(projectId);
  const fits = stored.plan && [...stored.plan.bands, ...stored.plan.displayBands].every((band) => band < channels);
  const named = workspace.db
    .prepare(`SELECT meta FROM images WHERE project_id = ? AND channels = ? AND error IS NULL AND meta LIKE '%channelNames%' LIMIT 1`)
    .get(projectId, channels) as { meta: string } | undefined;
  const names = named ? ((JSON.parse(named.meta) as ImageMeta).channelNames ?? []) : [];
  return {
    plan: fits ? stored.plan! : defaultChannelPlan(channels),
    saved: Boolean(fits),
    channels,
    bandNames: Array.from({ length: channels }, (_, band) => names[band] ?? null),
    stats: stored.stats && stored.stats.channels === channels ? stored.stats : null,
  };
}

class BandAccumulator {
  count = 0;
  sum = 0;
  squares = 0;
  readonly bins = new Float64Array(FINE_BINS);
  constructor(readonly min: number, readonly max: number) {}

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
      for (let fine = (bin * FINE_BINS) / SHOWN_BINS; fine < ((bin + 1) * FINE_BINS) / SHOWN_BINS; fine++) total += this.bins[fine]!;
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
 * Per-band statistics over the project's kept images of its main channel count, in one
 * streaming pass (the range comes from the stored per-image statistics, so no second pass).
 */
export async function computeDatasetStats(workspace: Workspace, projectId: number, seed = 0): Promise<DatasetChannelStats> {
  const view = channelPlanView(workspace, projectId);
  const all = planImages(workspace, projectId, view.channels);
  if (all.length === 0) throw new StudioError('INVALID_ARGUMENT', `project "${workspace.projects.get(projectId).name}" has no usable images: import a folder first`);
  let images = all;
  let sampled = false;
  if (all.length > MAX_STATS_IMAGES) {
    const rng = Rng.fromSeed(seed, 303);
    const order = all.map((image) => ({ image, key: rng.uniform() })).sort((a, b) => a.key - b.key);
    images = order.slice(0, MAX_STATS_IMAGES).map((entry) => entry.image);
    sampled = true;
  }
  const bands = Array.from({ length: view.channels }, (_, band) => {
    const min = Math.min(...images.map((image) => image.stats[band]?.min ?? 0));
    const max = Math.max(...images.map((image) => image.stats[band]?.max ?? 0));
    return new BandAccumulator(min, max);
  });
  const rng = Rng.fromSeed(seed, 304);
  for (const image of images) {
    const regions = image.huge
      ? Array.from({ length: HUGE_WINDOWS }, () => {
          const side = Math.min(HUGE_WINDOW_SIDE, image.width!, image.height!);
          return { x: rng.int(image.width! - side + 1), y: rng.int(image.height! - side + 1), width: side, height: side };
        })
      : [undefined];
    sampled ||= image.huge === true;
    for (const region of regions) {
      const raster = await readEntry(image, region);
      const pixels = raster.width * raster.height;
      const stride = Math.max(1, Math.floor(pixels / MAX_STATS_PIXELS));
      sampled ||= stride > 1;
      for (let pixel = 0; pixel < pixels; pixel += stride) {
        for (let band = 0; band < raster.bands; band++) {
          const value = raster.values[pixel * raster.bands + band]!;
          if (value !== value || value === image.nodata) continue;
          bands[band]!.add(value);
        }
      }
    }
  }
  return {
    computedAt: new Date().toISOString(),
    channels: view.channels,
    images: images.length,
    pixels: bands[0]?.count ?? 0,
    sampled,
    bands: bands.map((accumulator, band) => accumulator.result(band, view.bandNames[band] ?? null)),
  };
}

/** A percentile of a band from its stored statistics (interpolated in the histogram if not stored). */
export function bandPercentile(stats: BandStats, percent: number): number {
  const stored = stats.percentiles[String(percent)];
  if (stored !== undefined) return stored;
  const total = stats.histogram.reduce((sum, count) => sum + count, 0);
  let cumulative = 0;
  for (let bin = 0; bin < stats.histogram.length; bin++) {
    cumulative += stats.histogram[bin]!;
    if (cumulative >= (percent / 100) * total) return stats.min + ((bin + 1) * (stats.max - stats.min)) / stats.histogram.length;
  }
  return stats.max;
}

/**
 * The transform batches apply for a plan: (clip(v) − center) / spread per model channel.
 * `pooled` is the dataset mean/std per band from the stored per-image statistics (exact), used
 * for mean/std scaling when no dataset statistics were computed.
 */
export function resolveTransform(plan: ChannelPlan, stats: DatasetChannelStats | null, pooled: { mean: number[]; std: number[] }): ChannelTransform {
  const transform: ChannelTransform = { bands: [...plan.bands], clip: [], center: [], spread: [] };
  for (const band of plan.bands) {
    if (plan.scaling === 'divisor') {
      transform.clip.push(null);
      transform.center.push(0);
      transform.spread.push(plan.divisor);
    } else if (plan.scaling === 'percentile') {
      const bandStats = stats?.bands[band];
      if (!bandStats) throw new StudioError('INVALID_ARGUMENT', 'percentile scaling needs the dataset statistics: compute them in the channel plan first');
      const low = bandPercentile(bandStats, plan.percentiles[0]);
      const high = bandPercentile(bandStats, plan.percentiles[1]);
      transform.clip.push([low, high]);
      transform.center.push(low);
      transform.spread.push(high > low ? high - low : 1);
    } else {
      const mean = stats?.bands[band]?.mean ?? pooled.mean[band] ?? 0;
      const std = stats?.bands[band]?.std ?? pooled.std[band] ?? 1;
      transform.clip.push(null);
      transform.center.push(mean);
      // A constant band carries no signal; leave it unscaled rather than divide by zero.
      transform.spread.push(std > 1e-6 ? std : 1);
    }
  }
  return transform;
}

/** Pixel-weighted dataset mean and std per band in the images' own units, from per-image stats. */
export function pooledStats(images: readonly { width: number | undefined; height: number | undefined; stats: { mean: number; std: number }[] }[], channels: number) {
  const sum = new Float64Array(channels);
  const squares = new Float64Array(channels);
  let pixels = 0;
  for (const image of images) {
    const n = (image.width ?? 0) * (image.height ?? 0);
    pixels += n;
    for (let band = 0; band < channels; band++) {
      const { mean, std } = image.stats[band] ?? { mean: 0, std: 0 };
      sum[band]! += n * mean;
      squares[band]! += n * (std * std + mean * mean);
    }
  }
  const mean = Array.from(sum, (value) => (pixels ? value / pixels : 0));
  const std = Array.from(squares, (value, band) => Math.sqrt(Math.max((pixels ? value / pixels : 0) - mean[band]! ** 2, 0)));
  return { mean, std };
}
