/**
 * The data half of a pretraining plan: which of the project's good images a run reads (the
 * channel plan decides, per channel count, how images become its input bands or that they are
 * left out; volumes may be cut into planes), their per-channel normalisation from the stored
 * import statistics, and the split (the one stored by curation, else a seeded one stratified by
 * label). `pretrain-plan.ts` stores it in the run's plan, so a resumed run reads the same data.
 */
import { StudioError, type ChannelPlan, type ChannelStats, type ImageMeta, type VolumeSampling } from '../contract';
import type { ChannelTransform } from '../data/batches';
import { convertStats } from '../data/channel-conversion';
import { channelPlanView, keptByPlan, pooledStats, resolveTransform } from '../data/channel-plan';
import { splitGroupOf, stratifiedSplit } from '../data/split';
import { checkVolumeSampling, volumeEntries } from '../data/volumes/volume-entries';
import type { Workspace } from '../workspace';
import { DEFAULT_PRETRAIN, DEFAULT_TRAIN_CONFIG } from './config';
import { medianShorterSide } from './model-sizing';

/** The data half of a plan: which images, how they are normalised. */
export interface DatasetPlan {
  channels: number;
  /** Per-channel mean and std in [0, 1] units (a stored value v is scaled by 1 / (2^bitDepth − 1)). */
  mean: number[];
  std: number[];
  scaling: 'value / (2^bitDepth - 1), then (x - mean) / std per channel';
  trainImageIds: number[];
  valImageIds: number[];
  /** Images of the project left out, and why. */
  excluded: { reason: string; count: number }[];
  /**
   * Labels the channel plan leaves out entirely (none of their images is trained on or probed),
   * sorted. Absent in runs planned before channel conversions.
   */
  excludedClasses?: string[];
  /**
   * The project's channel plan when the run was planned, and the per-channel transform it
   * resolves to ((clip(v) − center) / spread, in the images' own units): batches use it
   * instead of `mean`/`std`. Absent in runs planned before channel plans existed.
   */
  channelPlan?: ChannelPlan;
  transform?: ChannelTransform;
  /** Where the split came from: the one stored by curation, or drawn for this run. */
  splitSource?: 'curation' | 'seeded';
  /**
   * Training samples when the channel plan cuts volumes into planes (`channelPlan.volume`): a
   * volume's coronal or sagittal planes outnumber its stored slices. Epochs count these.
   */
  samples?: { train: number; val: number };
  /**
   * The median shorter side of the chosen images in pixels, which sizes the default model
   * (`model-sizing.ts`). Absent in runs planned before it.
   */
  imageSide?: number;
}

/** An image the plan may read: its size, bands, statistics, label and stored split. */
interface Candidate {
  id: number;
  label: string | null;
  width: number;
  height: number;
  channels: number;
  bitDepth: number;
  stats: ChannelStats[];
  /** The split stored by curation, if any. */
  split?: string | null;
  /** Slices of one volume or subject share it, so the split never parts them. */
  group?: string | null;
  meta?: ImageMeta | null;
}

/**
 * Chooses the images, their normalisation and the split (`options`: a run's validation fraction and
 * seed, as `PretrainOptions` gives them).
 */
export function planDataset(
  workspace: Workspace,
  projectId: number,
  options: { valFraction?: number; seed?: number },
): DatasetPlan {
  const rows = workspace.images.usable(projectId, 'path');
  if (rows.length === 0)
    throw new StudioError(
      'INVALID_ARGUMENT',
      `project "${workspace.projects.get(projectId).name}" has no usable images: import a folder first`,
    );
  const candidates: Candidate[] = rows.map(({ id, label, width, height, channels, bitDepth, stats, split, meta }) => ({
    id,
    label,
    width,
    height,
    channels,
    bitDepth,
    stats,
    split,
    group: splitGroupOf(meta),
    meta,
  }));
  // The channel plan decides, per channel count, how images become its input bands or that they
  // are left out; Curate shows that decision and the run records it.
  const view = channelPlanView(workspace, projectId);
  const channelPlan = view.plan;
  const channels = channelPlan.inputChannels;
  const chosen = keptByPlan(candidates, channelPlan);
  const excluded = view.groups
    .filter((group) => group.conversion === 'exclude')
    .map((group) => ({
      reason: `${group.channels}-channel images, left out by the channel plan`,
      count: candidates.filter((candidate) => candidate.channels === group.channels).length,
    }))
    .filter((item) => item.count > 0);
  if (chosen.length === 0)
    throw new StudioError(
      'INVALID_ARGUMENT',
      `project ${projectId}: the channel plan leaves out every image; choose a conversion in Curate`,
    );
  if (channelPlan.volume)
    checkVolumeSampling(
      chosen.map((candidate) => candidate.meta ?? null),
      channelPlan.volume,
    );
  // Statistics of each image as the model sees it (converted), for the [0, 1] normalisation.
  const converted = chosen.map((candidate) => ({
    ...candidate,
    channels,
    stats: convertStats(candidate.stats, candidate.channels, candidate.conversion, channels) as ChannelStats[],
  }));
  const single = datasetNormalisation(converted);
  // 2.5-D: each of the 2n + 1 stacked planes has the bands' statistics (reconstructions undo them per channel).
  const planes = 2 * (channelPlan.volume?.neighbours ?? 0) + 1;
  const mean = Array.from({ length: planes }, () => single.mean).flat();
  const std = Array.from({ length: planes }, () => single.std).flat();
  const transform = resolveTransform(channelPlan, view.stats, pooledStats(converted, channels));
  // A split stored by curation wins; otherwise one is drawn for this run from its seed. Rows come
  // in path order, not id order: ids follow the order parallel decoding finished, so the same
  // folder imported twice would otherwise give the same seed a different split.
  const stored = chosen.some((candidate) => candidate.split === 'val');
  const { train, val } = stored
    ? {
        train: chosen.filter((candidate) => candidate.split !== 'val'),
        val: chosen.filter((candidate) => candidate.split === 'val'),
      }
    : stratifiedSplit(
        chosen,
        options.valFraction ?? DEFAULT_PRETRAIN.valFraction,
        options.seed ?? DEFAULT_TRAIN_CONFIG.seed,
      );
  return {
    channels: transform.bands.length,
    mean,
    std,
    channelPlan,
    transform,
    excludedClasses: view.coverage.excludedClasses,
    splitSource: stored ? 'curation' : 'seeded',
    scaling: 'value / (2^bitDepth - 1), then (x - mean) / std per channel',
    trainImageIds: train.map((c) => c.id),
    valImageIds: val.map((c) => c.id),
    excluded,
    imageSide: medianShorterSide(chosen),
    ...(channelPlan.volume && {
      samples: { train: sampleCount(train, channelPlan.volume), val: sampleCount(val, channelPlan.volume) },
    }),
  };
}

/** Training samples of candidates when volumes are cut as `sampling` says. */
function sampleCount(candidates: readonly Candidate[], sampling: VolumeSampling): number {
  return volumeEntries(
    candidates.map(({ id, width, height, channels, bitDepth, meta }) => ({
      entry: { path: String(id), width, height, channels, bitDepth },
      meta: meta ?? null,
    })),
    sampling,
  ).length;
}

/**
 * Dataset mean and std per channel from per-image statistics, weighted by pixel count:
 * E[x] = Σ n·μ / Σ n, Var[x] = Σ n·(σ² + μ²) / Σ n − E[x]², each image in [0, 1] units.
 */
export function datasetNormalisation(images: readonly Candidate[]): { mean: number[]; std: number[] } {
  // Only meaningful for 8/16-bit unsigned images; typed images (int16, float32) use the transform.
  const channels = images[0]!.channels;
  const sum = new Float64Array(channels);
  const squares = new Float64Array(channels);
  let pixels = 0;
  for (const image of images) {
    const n = image.width * image.height;
    const scale = 1 / (2 ** image.bitDepth - 1);
    pixels += n;
    for (let c = 0; c < channels; c++) {
      const mean = image.stats[c]!.mean * scale;
      const std = image.stats[c]!.std * scale;
      sum[c]! += n * mean;
      squares[c]! += n * (std * std + mean * mean);
    }
  }
  const mean = Array.from(sum, (s) => s / pixels);
  const std = Array.from(squares, (s, c) => Math.sqrt(Math.max(s / pixels - mean[c]! ** 2, 0)));
  // A constant channel would divide by zero; it carries no signal, so leave it unscaled.
  return { mean, std: std.map((s) => (s > 1e-6 ? s : 1)) };
}

/** The name of each model channel in the channel plan (null where the files name none). */
export function modelBandNames(workspace: Workspace, projectId: number, data: DatasetPlan): (string | null)[] {
  if (!data.channelPlan) return Array.from({ length: data.channels }, () => null);
  const names = workspace.images.channelNames(projectId, data.channelPlan.inputChannels);
  return data.channelPlan.bands.map((band) => names[band] ?? null);
}

/** Per model channel, how a batch value goes back to the band's own units: value = x · scale + shift. */
export function datasetUnscale(data: DatasetPlan): { scale: number[]; shift: number[] } {
  return data.transform
    ? { scale: [...data.transform.spread], shift: [...data.transform.center] }
    : { scale: [...data.std], shift: [...data.mean] };
}
