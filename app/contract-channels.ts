/**
 * The channel part of the contract: the channel plan (which bands feed the model, how they are
 * scaled, how images of each channel count become its input bands — grey repeated, RGB to
 * luminance, alpha dropped — or are left out), its dataset statistics, and what Curate shows
 * about it. The choice table is a pure function here, so the Curate screen offers exactly the
 * conversions the engine accepts. `contract.ts` re-exports everything.
 */
import { z } from 'zod';

/** How images of one channel count become the plan's `inputChannels` bands. */
export const CHANNEL_CONVERSIONS = ['keep', 'repeat', 'luminance', 'drop-alpha', 'exclude'] as const;
export type ChannelConversion = (typeof CHANNEL_CONVERSIONS)[number];

/**
 * Rec. 601 luma weights for R, G, B (what PIL's `convert('L')` and OpenCV's `COLOR_RGB2GRAY` use,
 * so a model trained here sees grey values like those of common pipelines).
 */
export const LUMINANCE_WEIGHTS = [0.299, 0.587, 0.114] as const;

/**
 * The conversions that bring `source`-channel images to `target` bands, the preferred one first
 * ('exclude', leaving them out of training, is always last):
 * same count → keep; grey (1) → any count but 2 by repetition; grey + alpha (2) → grey by
 * dropping alpha, or → 3+ by repeating the grey band; RGB (3) → grey by luminance;
 * RGBA (4) → RGB by dropping alpha, or → grey by luminance. Anything else can only be left out.
 */
export function conversionChoices(source: number, target: number): ChannelConversion[] {
  const choices: ChannelConversion[] = [];
  if (source === target) choices.push('keep');
  else if (source === 1 && target !== 2) choices.push('repeat');
  else if (source === 2 && target === 1) choices.push('drop-alpha');
  else if (source === 2 && target >= 3) choices.push('repeat');
  else if ((source === 3 || source === 4) && target === 1) choices.push('luminance');
  else if (source === 4 && target === 3) choices.push('drop-alpha');
  return [...choices, 'exclude'];
}

/** Images of one channel count among a project's kept images. */
export interface ChannelGroup {
  channels: number;
  images: number;
  /** Labels of those images with their counts (null: not in a sub-folder). */
  labels: { label: string | null; count: number }[];
  /** What the plan does with them. */
  conversion: ChannelConversion;
  /** Whether the user chose it (saved in the plan) or it is the default for this count. */
  chosen: boolean;
}

/** What a channel plan keeps of a project: the counts Curate, the New-run dialog and runs show. */
export interface ChannelCoverage {
  /** Kept images (not failed, duplicate or excluded by the user) the plan feeds to training. */
  keptImages: number;
  /** Kept images the plan leaves out (their channel count's conversion is 'exclude'). */
  leftOutImages: number;
  /** Labels none of whose images the plan keeps, sorted. */
  excludedClasses: string[];
}

/** Anatomical planes training samples of volumes are cut along ('all': the three). */
export const VOLUME_AXES = ['axial', 'coronal', 'sagittal', 'all'] as const;

/**
 * How volumes become 2-D training samples: planes cut along `axis` (resampled to square pixels),
 * each with `neighbours` planes on either side as extra channels (2.5-D: k = 2n + 1 planes, so
 * the model sees k × the plan's bands). Images that are not volumes are read as they are.
 */
export interface VolumeSampling {
  axis: (typeof VOLUME_AXES)[number];
  neighbours: 0 | 1 | 2;
}

/** Axial planes, one per sample: what a volume's stored slices are. */
export const DEFAULT_VOLUME_SAMPLING: VolumeSampling = { axis: 'axial', neighbours: 0 };

/**
 * How whole-slide images become training samples: random windows of `imgSize` pixels at
 * `micronsPerPixel` (read from the pyramid level closest above it and averaged down; null: level
 * 0, the scanner's full resolution), drawn only where the slide's tissue mask covers at least
 * `minTissue` of the window. Slides that do not state their scale are read at level 0.
 */
export interface SlideSampling {
  micronsPerPixel: number | null;
  minTissue: number;
}

/** Full resolution, windows at least half tissue. */
export const DEFAULT_SLIDE_SAMPLING: SlideSampling = { micronsPerPixel: null, minTissue: 0.5 };

/** How pixels of a band are scaled before the model sees them. */
export const CHANNEL_SCALINGS = ['mean-std', 'percentile', 'divisor', 'window'] as const;
export type ChannelScaling = (typeof CHANNEL_SCALINGS)[number];

/**
 * A project's channel plan: which bands feed the model in which order, how they are scaled
 * (per-band dataset mean/std; a robust percentile clip to [0, 1]; a fixed divisor such as
 * Sentinel-2's 10,000; or a fixed window such as a CT window in Hounsfield units), and which
 * bands thumbnails show with what contrast.
 */
export interface ChannelPlan {
  /**
   * Bands every image is brought to before `bands` picks from them (the count `bands` and
   * `displayBands` index). One of the project's channel counts; by default the most common.
   */
  inputChannels: number;
  /**
   * Per channel count of the project's images (keys "1", "3", …): how those images become
   * `inputChannels` bands, or 'exclude' to leave them out. Counts without an entry take
   * `conversionChoices(count, inputChannels)[0]`, and the view shows that default.
   */
  conversions: Record<string, ChannelConversion>;
  /** Source band (0-based) of each model channel, in order. */
  bands: number[];
  scaling: ChannelScaling;
  /** Low and high percentiles for 'percentile' scaling, e.g. [1, 99]. */
  percentiles: [number, number];
  /** Divisor for 'divisor' scaling, e.g. 10000. */
  divisor: number;
  /**
   * [low, high] in the images' own units for 'window' scaling: values are clipped to it, then
   * scaled to 0–1 (CT soft tissue in HU: [-160, 240], i.e. level 40, width 400). Absent in plans
   * stored before windows: the default.
   */
  window?: [number, number];
  /** Bands shown in thumbnails: one (grey) or three (R, G, B). */
  displayBands: number[];
  /** Per shown band, [low, high] in the band's own units; null stretches each image itself. */
  displayRange: ([number, number] | null)[];
  /** How volumes become training samples; absent: {@link DEFAULT_VOLUME_SAMPLING}. */
  volume?: VolumeSampling;
  /** How whole-slide images become training samples; absent: {@link DEFAULT_SLIDE_SAMPLING}. */
  slide?: SlideSampling;
}

/** Statistics of one band over the dataset, in the band's own units. */
export interface BandStats {
  band: number;
  name: string | null;
  mean: number;
  std: number;
  min: number;
  max: number;
  /** Values at 0.5, 1, 2, 98, 99, 99.5 % (keys are the percentages). */
  percentiles: Record<string, number>;
  /** 64 equal bins between min and max. */
  histogram: number[];
}

/** Dataset statistics computed once (streaming, sampled for huge images) and stored. */
export interface DatasetChannelStats {
  computedAt: string;
  /** Bands of the images they describe (the plan's `inputChannels`), after conversion. */
  channels: number;
  /** The conversions the images were read with; absent in statistics of images of `channels` only. */
  conversions?: Record<string, ChannelConversion>;
  images: number;
  /** Pixels counted per band, and whether huge images or large sets were sampled. */
  pixels: number;
  sampled: boolean;
  bands: BandStats[];
}

/** The channel plan of a project, with what the curation screen shows next to it. */
export interface ChannelPlanView {
  plan: ChannelPlan;
  /** Whether the plan was saved by the user (otherwise it is the default). */
  saved: boolean;
  /** Bands of the plan's input (`plan.inputChannels`). */
  channels: number;
  bandNames: (string | null)[];
  stats: DatasetChannelStats | null;
  /** Channel counts of the project's kept images, most images first, with what the plan does with each. */
  groups: ChannelGroup[];
  /** What the plan keeps for training. */
  coverage: ChannelCoverage;
  /** Volumes among the kept images (NIfTI files and DICOM series): Curate offers `plan.volume` when any. */
  volumes?: number;
  /** Channels the model sees: the plan's bands × (2n + 1) planes of `plan.volume`. */
  modelChannels?: number;
  /** Whole-slide images among the kept images: Curate offers `plan.slide` when any. */
  slides?: number;
}

// ---------------------------------------------------------------------------------------------
// Argument schemas

/** A channel plan as `curation.setChannelPlan` takes it. */
export const ChannelPlanSchema = z.strictObject({
  /** Absent: the view's current input count (the project's most common channel count by default). */
  inputChannels: z.number().int().min(1).max(1024).optional(),
  conversions: z
    .record(
      z.string().regex(/^[1-9][0-9]{0,3}$/, 'keys are channel counts such as "1" or "3"'),
      z.enum(CHANNEL_CONVERSIONS),
    )
    .default({}),
  bands: z.array(z.number().int().min(0).max(1023)).min(1).max(1024),
  scaling: z.enum(CHANNEL_SCALINGS),
  percentiles: z
    .tuple([z.number().min(0).max(100), z.number().min(0).max(100)])
    .refine(([low, high]) => low < high, 'percentiles must be low < high'),
  divisor: z.number().positive(),
  window: z
    .tuple([z.number(), z.number()])
    .refine(
      ([low, high]) => Number.isFinite(low) && Number.isFinite(high) && low < high,
      'window must be finite with low < high',
    )
    .optional(),
  displayBands: z
    .array(z.number().int().min(0).max(1023))
    .refine((bands) => bands.length === 1 || bands.length === 3, 'show one band (grey) or three (RGB)'),
  displayRange: z.array(z.tuple([z.number(), z.number()]).nullable()),
  volume: z
    .strictObject({ axis: z.enum(VOLUME_AXES), neighbours: z.union([z.literal(0), z.literal(1), z.literal(2)]) })
    .optional(),
  slide: z
    .strictObject({
      micronsPerPixel: z.number().min(0.05).max(100).nullable(),
      minTissue: z.number().min(0).max(1),
    })
    .optional(),
});
