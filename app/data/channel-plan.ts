/**
 * The per-project channel plan: which channel counts the project holds and what the plan does
 * with each (convert to the plan's input bands, or leave out), its default, its validation, what
 * it keeps for training, and the per-channel transform the batches apply — see `ChannelTransform`.
 * Dataset statistics are computed in `dataset-stats.ts`.
 */
import {
  StudioError,
  conversionChoices,
  type BandStats,
  type ChannelConversion,
  type ChannelCoverage,
  type ChannelGroup,
  type ChannelPlan,
  type ChannelPlanView,
  type DatasetChannelStats,
  type ImageMeta,
} from '../contract';
import type { Workspace } from '../workspace';
import type { ChannelTransform, ImageEntry } from './batches';
import { conversionOf } from './channel-conversion';
import { checkVolumeSampling } from './volumes/volume-entries';

/** A stored image as statistics and thumbnails need it. */
export interface PlanImage extends ImageEntry {
  id: number;
  meta: ImageMeta | null;
  stats: { mean: number; std: number; min: number; max: number }[];
}

/** A plan as a user or an old stored version may give it: input count and conversions may be missing. */
export type ChannelPlanInput = Omit<ChannelPlan, 'inputChannels' | 'conversions'> & {
  inputChannels?: number;
  conversions?: Record<string, ChannelConversion>;
};

/** Good, kept images of a project with their stored statistics, in id order. */
export function planImages(workspace: Workspace, projectId: number): PlanImage[] {
  return workspace.images
    .usable(projectId, 'id')
    .map(({ id, path, frame, width, height, channels, bitDepth, meta, stats }) => ({
      id,
      path,
      frame,
      width,
      height,
      channels,
      bitDepth,
      meta,
      stats,
      huge: meta?.huge === true,
      nodata: meta?.nodata ?? null,
    }));
}

/** The images a plan keeps, each with the conversion that brings it to the plan's input bands. */
export function keptByPlan<T extends { channels: number }>(
  images: readonly T[],
  plan: ChannelPlan,
): (T & { conversion: ChannelConversion })[] {
  return images.flatMap((image) => {
    const conversion = conversionOf(plan.conversions, image.channels, plan.inputChannels);
    return conversion === 'exclude' ? [] : [{ ...image, conversion }];
  });
}

/**
 * Channel counts by image count, most first. Ties go to the count whose default conversions keep
 * the most images, then to more channels (grey repeated to RGB loses nothing; RGB to grey does).
 */
function countsByImages(rows: readonly { channels: number; count: number }[]): { channels: number; images: number }[] {
  const totals = new Map<number, number>();
  for (const row of rows) totals.set(row.channels, (totals.get(row.channels) ?? 0) + row.count);
  const keptAs = (target: number) =>
    [...totals].reduce(
      (sum, [source, images]) => sum + (conversionChoices(source, target)[0] === 'exclude' ? 0 : images),
      0,
    );
  return [...totals]
    .map(([channels, images]) => ({ channels, images, kept: keptAs(channels) }))
    .sort((a, b) => b.images - a.images || b.kept - a.kept || b.channels - a.channels)
    .map(({ channels, images }) => ({ channels, images }));
}

/** The window of 'window' scaling until one is chosen: CT soft tissue (level 40, width 400 HU). */
export const DEFAULT_WINDOW: readonly [number, number] = [-160, 240];

/**
 * Every band in order, scaled by dataset mean/std; thumbnails show bands 1–3 (or 1). Images of
 * other channel counts take their default conversion (`conversionChoices`), shown in Curate.
 */
export function defaultChannelPlan(channels: number): ChannelPlan {
  const display = channels >= 3 ? [0, 1, 2] : [0];
  return {
    inputChannels: Math.max(1, channels),
    conversions: {},
    bands: Array.from({ length: Math.max(1, channels) }, (_, band) => band),
    scaling: 'mean-std',
    percentiles: [1, 99],
    divisor: 10_000,
    window: [DEFAULT_WINDOW[0], DEFAULT_WINDOW[1]],
    displayBands: display,
    displayRange: display.map(() => null),
  };
}

/**
 * Validates a plan against the channel counts of the project's kept images and completes it
 * (`inputChannels` from `fallbackInput` when absent, as in plans stored before conversions).
 * Throws INVALID_ARGUMENT naming the field and what it allows.
 */
export function validatePlan(input: ChannelPlanInput, counts: readonly number[], fallbackInput: number): ChannelPlan {
  const inputChannels = input.inputChannels ?? Math.max(1, fallbackInput);
  if (counts.length > 0 && !counts.includes(inputChannels)) {
    throw new StudioError(
      'INVALID_ARGUMENT',
      `channelPlan.inputChannels must be one of ${counts.join(', ')} ` +
        `(the channel counts of the kept images), got ${inputChannels}`,
    );
  }
  const conversions: Record<string, ChannelConversion> = {};
  for (const [key, conversion] of Object.entries(input.conversions ?? {})) {
    const choices = conversionChoices(Number(key), inputChannels);
    if (!choices.includes(conversion)) {
      throw new StudioError(
        'INVALID_ARGUMENT',
        `channelPlan.conversions.${key} must be ${choices.map((choice) => `"${choice}"`).join(' or ')} ` +
          `for ${key}-channel images into ${inputChannels} bands, got "${conversion}"`,
      );
    }
    conversions[key] = conversion;
  }
  if (counts.length > 0 && counts.every((count) => conversionOf(conversions, count, inputChannels) === 'exclude')) {
    throw new StudioError(
      'INVALID_ARGUMENT',
      'channelPlan.conversions leaves out every image: keep at least one channel count',
    );
  }
  const plan: ChannelPlan = { ...input, inputChannels, conversions };
  const outside = (field: string, bands: number[]) => {
    const band = bands.find((value) => value >= inputChannels);
    if (band !== undefined)
      throw new StudioError(
        'INVALID_ARGUMENT',
        `channelPlan.${field} reads band ${band + 1}, the images have ${inputChannels}`,
      );
  };
  outside('bands', plan.bands);
  outside('displayBands', plan.displayBands);
  if (plan.displayRange.length !== plan.displayBands.length) {
    throw new StudioError(
      'INVALID_ARGUMENT',
      `channelPlan.displayRange needs ${plan.displayBands.length} ` +
        `entries (one per shown band), got ${plan.displayRange.length}`,
    );
  }
  return plan;
}

/**
 * Throws INVALID_ARGUMENT when the plan's volume setting cannot be applied to the images it keeps
 * (`volumes/volume-entries.ts`: DICOM series cut along another axis, plain images with neighbours),
 * so Curate says so when the plan is saved rather than when a run starts.
 */
export function checkPlanVolumes(workspace: Workspace, projectId: number, plan: ChannelPlan): void {
  if (plan.volume)
    checkVolumeSampling(
      keptByPlan(planImages(workspace, projectId), plan).map((image) => image.meta),
      plan.volume,
    );
}

/** What a plan keeps of images counted by channel count and label. */
export function planCoverage(
  rows: readonly { channels: number; label: string | null; count: number }[],
  plan: ChannelPlan,
): ChannelCoverage {
  const byLabel = new Map<string, number>();
  let keptImages = 0;
  let leftOutImages = 0;
  for (const row of rows) {
    const kept = conversionOf(plan.conversions, row.channels, plan.inputChannels) !== 'exclude';
    if (kept) keptImages += row.count;
    else leftOutImages += row.count;
    if (row.label !== null && row.label !== '')
      byLabel.set(row.label, (byLabel.get(row.label) ?? 0) + (kept ? row.count : 0));
  }
  const excludedClasses = [...byLabel]
    .filter(([, kept]) => kept === 0)
    .map(([label]) => label)
    .sort();
  return { keptImages, leftOutImages, excludedClasses };
}

/** Whether stored statistics were computed on the images, converted, that `plan` keeps now. */
function statsMatch(stats: DatasetChannelStats, plan: ChannelPlan, counts: readonly number[]): boolean {
  if (stats.channels !== plan.inputChannels) return false;
  // Statistics from before conversions were computed on images of `channels` bands only.
  const used = (count: number) => stats.conversions?.[String(count)] ?? (count === stats.channels ? 'keep' : 'exclude');
  return counts.every((count) => used(count) === plan.conversions[String(count)]);
}

/** The plan, statistics, band names and channel groups of a project, as Curate shows them. */
export function channelPlanView(workspace: Workspace, projectId: number): ChannelPlanView {
  const rows = workspace.images.usableCounts(projectId);
  const totals = countsByImages(rows);
  const counts = totals.map((total) => total.channels);
  const majority = counts[0] ?? 0;
  const stored = workspace.channelPlans.get(projectId);
  let valid: ChannelPlan | null = null;
  if (stored.plan) {
    try {
      valid = validatePlan(stored.plan, counts, majority);
    } catch {
      valid = null; // images changed since it was saved (its input count is gone): the default again
    }
  }
  const chosen = new Set(Object.keys(valid?.conversions ?? {}));
  const base = valid ?? defaultChannelPlan(majority);
  // Every count present gets its conversion written out, so runs record the whole decision.
  const conversions = Object.fromEntries(
    counts.map((count) => [String(count), conversionOf(base.conversions, count, base.inputChannels)]),
  );
  const plan: ChannelPlan = { ...base, conversions };
  const channels = plan.inputChannels;
  const names = workspace.images.channelNames(projectId, channels);
  const groups: ChannelGroup[] = totals.map(({ channels: count, images }) => ({
    channels: count,
    images,
    labels: rows
      .filter((row) => row.channels === count)
      .map(({ label, count: labelled }) => ({ label, count: labelled }))
      .sort((a, b) => b.count - a.count),
    conversion: conversions[String(count)]!,
    chosen: chosen.has(String(count)),
  }));
  return {
    plan,
    saved: valid !== null,
    channels,
    bandNames: Array.from({ length: channels }, (_, band) => names[band] ?? null),
    stats: stored.stats && statsMatch(stored.stats, plan, counts) ? stored.stats : null,
    groups,
    coverage: planCoverage(rows, plan),
    volumes: workspace.images.volumeCount(projectId),
    modelChannels: plan.bands.length * (2 * (plan.volume?.neighbours ?? 0) + 1),
    slides: workspace.images.slideCount(projectId),
  };
}

/** Channel counts the plan of a view leaves out of training. */
export function leftOutChannels(view: ChannelPlanView): number[] {
  return view.groups.filter((group) => group.conversion === 'exclude').map((group) => group.channels);
}

/** A percentile of a band from its stored statistics (interpolated in the histogram if not stored). */
export function bandPercentile(stats: BandStats, percent: number): number {
  const stored = stats.percentiles[String(percent)];
  if (stored !== undefined) return stored;
  const total = stats.histogram.reduce((sum, count) => sum + count, 0);
  let cumulative = 0;
  for (let bin = 0; bin < stats.histogram.length; bin++) {
    cumulative += stats.histogram[bin]!;
    if (cumulative >= (percent / 100) * total)
      return stats.min + ((bin + 1) * (stats.max - stats.min)) / stats.histogram.length;
  }
  return stats.max;
}

/**
 * The transform batches apply for a plan: (clip(v) − center) / spread per model channel.
 * `pooled` is the dataset mean/std per band from the stored per-image statistics (exact), used
 * for mean/std scaling when no dataset statistics were computed.
 */
export function resolveTransform(
  plan: ChannelPlan,
  stats: DatasetChannelStats | null,
  pooled: { mean: number[]; std: number[] },
): ChannelTransform {
  const transform: ChannelTransform = {
    inputChannels: plan.inputChannels,
    conversions: { ...plan.conversions },
    bands: [...plan.bands],
    clip: [],
    center: [],
    spread: [],
  };
  for (const band of plan.bands) {
    if (plan.scaling === 'divisor') {
      transform.clip.push(null);
      transform.center.push(0);
      transform.spread.push(plan.divisor);
    } else if (plan.scaling === 'window') {
      const [low, high] = plan.window ?? DEFAULT_WINDOW;
      transform.clip.push([low, high]);
      transform.center.push(low);
      transform.spread.push(high - low);
    } else if (plan.scaling === 'percentile') {
      const bandStats = stats?.bands[band];
      if (!bandStats)
        throw new StudioError(
          'INVALID_ARGUMENT',
          'percentile scaling needs the dataset statistics: compute them in the channel plan first',
        );
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
  return withNeighbours(transform, plan.volume?.neighbours ?? 0);
}

/**
 * A transform for 2.5-D samples: the 2n + 1 stacked planes each bring `inputChannels` bands, and
 * every plane's bands get the plan's transform (model channels plane-major: k × the plan's bands).
 */
export function withNeighbours(transform: ChannelTransform, neighbours: number): ChannelTransform {
  if (neighbours === 0) return transform;
  const planes = Array.from({ length: 2 * neighbours + 1 }, (_, slot) => slot);
  const input = transform.inputChannels ?? 1;
  return {
    ...transform,
    bands: planes.flatMap((slot) => transform.bands.map((band) => slot * input + band)),
    clip: planes.flatMap(() => transform.clip),
    center: planes.flatMap(() => transform.center),
    spread: planes.flatMap(() => transform.spread),
  };
}

/** Pixel-weighted dataset mean and std per band in the images' own units, from per-image stats. */
export function pooledStats(
  images: readonly { width: number | undefined; height: number | undefined; stats: { mean: number; std: number }[] }[],
  channels: number,
) {
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
  const std = Array.from(squares, (value, band) =>
    Math.sqrt(Math.max((pixels ? value / pixels : 0) - mean[band]! ** 2, 0)),
  );
  return { mean, std };
}
