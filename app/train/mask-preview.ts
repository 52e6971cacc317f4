/**
 * The mask preview: one image at the model's size and the mask the engine's own `makeMasks`
 * draws for it (the preview RNG stream, so a seed always shows the same mask). The picture is
 * the import's display thumbnail (already stretched for 16-bit and multi-band images), resized
 * the way training resizes: the whole image, squashed to a square. With `blurSigma` it is
 * blurred by the deblurring MAE's filter, so the preview shows what that recipe's encoder sees.
 * With `hardPatchShare` the mask is HPM's at its first step (random: its predictor has learned
 * nothing yet), with the number of masked patches it mines as the hardest by the end.
 * With `dates` (SatMAE temporal) it draws each date's mask, and `placeDatePictures` finds the
 * pictures of the image's place at those dates.
 */
import sharp, { type Sharp } from 'sharp';
import { StudioError, type MaskPreview } from '../contract';
import { channelAgnosticMasks } from '../mae/channel-agnostic';
import { groupedMasks, groupMask } from '../mae/grouped-bands';
import { keepCount, makeMasks, shuffleOrder, type MaskSet, type MaskStrategyName } from '../mae/masking';
import { RNG_STREAMS, Rng } from '../mae/rng';
import { temporalMasks } from '../mae/temporal';
import { gaussianBlur } from './recipes/blur';
import { hardPatchMasks } from './recipes/hpm';
import { formatImageDate, type SeriesDetection } from '../data/series';

/** What to preview. */
export interface MaskPreviewOptions {
  imageId: number;
  strategy: MaskStrategyName;
  maskRatio: number;
  patchSize: number;
  imgSize: number;
  seed: number;
  /** Deblurring MAE: blur the picture by this σ (model pixels), as its encoder sees it. */
  blurSigma?: number;
  /** SatMAE: masks for this many band groups (drawn as its training draws them). */
  bandGroups?: number;
  /** SatMAE: one mask shared by every group. */
  spatialMask?: boolean;
  /** CA-MAE: also draw the masks of this many channel token grids (its runs' masking). */
  channels?: number;
  /** HPM: draw its masks (hard_patches.ts' `hardPatchMasks`) and say how many are mined by the end. */
  hardPatchShare?: number;
  /** SatMAE temporal: masks for this many dates of one place (drawn as its training draws them). */
  dates?: number;
  /** SatMAE temporal: one mask shared by every date. */
  sameMask?: boolean;
}

/** Masks one image; throws naming the field when the geometry cannot work. */
export async function renderMaskPreview(file: string, options: MaskPreviewOptions): Promise<MaskPreview> {
  const { imgSize, patchSize, maskRatio, strategy, seed } = options;
  if (!(maskRatio > 0 && maskRatio < 1))
    throw new StudioError('INVALID_ARGUMENT', `maskRatio must be in (0, 1), got ${maskRatio}`);
  if (imgSize % patchSize !== 0) {
    throw new StudioError('INVALID_ARGUMENT', `imgSize (${imgSize}) must be divisible by patchSize (${patchSize})`);
  }
  const gridSide = imgSize / patchSize;
  if (gridSide < 2)
    throw new StudioError(
      'INVALID_ARGUMENT',
      `patchSize ${patchSize} leaves a single patch at ${imgSize} px; use a smaller patch`,
    );
  const rng = Rng.fromSeed(seed, RNG_STREAMS.preview);
  if (options.bandGroups !== undefined && options.channels !== undefined) {
    throw new StudioError(
      'INVALID_ARGUMENT',
      'bandGroups (SatMAE) and channels (CA-MAE) are two token layouts; preview one of them at a time',
    );
  }
  if (options.dates !== undefined && (options.bandGroups !== undefined || options.channels !== undefined)) {
    throw new StudioError(
      'INVALID_ARGUMENT',
      'dates (SatMAE temporal) is a token layout of its own; preview it without band groups or channels',
    );
  }
  const groupCount = options.bandGroups ?? 1;
  const grid = { batchSize: 1, gridSide, maskRatio };
  const grouped = {
    groups: Array.from({ length: groupCount }, (_, g) => [g]),
    spatialMask: options.spatialMask ?? false,
  };
  if (options.hardPatchShare !== undefined && (groupCount > 1 || options.channels !== undefined))
    throw new StudioError(
      'INVALID_ARGUMENT',
      'hardPatchShare (HPM) masks one token per patch: no band groups or channels',
    );
  const numPatches = gridSide * gridSide;
  const dates = options.dates ?? 1;
  const masks: MaskSet & { groups?: number[][] } =
    dates > 1
      ? firstGroup(temporalMasks(strategy, grid, { frames: dates, sameMask: options.sameMask ?? false }, rng), dates)
      : groupCount > 1
        ? firstGroup(groupedMasks(strategy, grid, grouped, rng), groupCount)
        : options.hardPatchShare !== undefined
          ? // HPM's first step: nothing learned yet, so every predicted loss is alike and no patch is mined
            hardPatchMasks(new Float32Array(numPatches), 1, keepCount(numPatches, maskRatio), 0, rng)
          : makeMasks(strategy, grid, rng);
  const resized = sharp(file).resize(imgSize, imgSize, { fit: 'fill' }).removeAlpha();
  const png =
    options.blurSigma === undefined
      ? await resized.png({ compressionLevel: 4 }).toBuffer()
      : await blurredPng(resized, options.blurSigma);
  return {
    imageId: options.imageId,
    dataUrl: `data:image/png;base64,${png.toString('base64')}`,
    imgSize,
    patchSize,
    gridSide,
    numPatches: masks.numPatches,
    numKeep: masks.numKeep,
    mask: Array.from(masks.mask),
    keep: Array.from(masks.keep),
    seed,
    ...(options.blurSigma !== undefined && { blurSigma: options.blurSigma }),
    ...(masks.groups && dates === 1 && { groupMasks: masks.groups, spatialMask: options.spatialMask ?? false }),
    ...(masks.groups && dates > 1 && { dateMasks: masks.groups, sameMask: options.sameMask ?? false }),
    ...(options.channels !== undefined && { channelMasks: channelMasks(options, gridSide) }),
    ...(options.hardPatchShare !== undefined && {
      hardPatches: {
        share: options.hardPatchShare,
        count: Math.floor((numPatches - masks.numKeep) * options.hardPatchShare),
        masked: numPatches - masks.numKeep,
      },
    }),
  };
}

/**
 * Grouped masks over G·L tokens → group 1's mask and keep (patch ids, in the draw's order), with
 * every group's mask (independent masks: the count each group hides varies from draw to draw).
 */
function firstGroup(masks: MaskSet, groupCount: number): MaskSet & { groups: number[][] } {
  const numPatches = masks.numPatches / groupCount;
  const groups = Array.from({ length: groupCount }, (_, g) => Array.from(groupMask(masks, g, groupCount)));
  const order = Array.from(shuffleOrder(masks)).filter((token) => token < numPatches); // group 1's patches
  const restore = new Int32Array(numPatches);
  order.forEach((patch, i) => {
    restore[patch] = i;
  });
  const numKeep = groups[0]!.filter((masked) => masked === 0).length;
  return {
    batchSize: 1,
    numPatches,
    numKeep,
    keep: Int32Array.from(order.slice(0, numKeep)),
    restore,
    mask: Uint8Array.from(groups[0]!),
    groups,
  };
}

/**
 * CA-MAE's masks of one image, [C][L]: its own masking over C·L tokens (a stream of its own, so
 * the plain mask stays as it was).
 */
function channelMasks(options: MaskPreviewOptions, gridSide: number): number[][] {
  const channels = options.channels!;
  const masks = channelAgnosticMasks(
    options.strategy,
    { batchSize: 1, gridSide, maskRatio: options.maskRatio },
    channels,
    Rng.fromSeed(options.seed + 1, RNG_STREAMS.preview),
  );
  const numPatches = gridSide * gridSide;
  return Array.from({ length: channels }, (_, c) =>
    Array.from(masks.mask.subarray(c * numPatches, (c + 1) * numPatches)),
  );
}

/** The picture blurred by the deblurring MAE's own filter (`recipes/blur.ts`), as its encoder sees it. */
async function blurredPng(image: Sharp, sigma: number): Promise<Buffer> {
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  const planar = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) planar[(i % channels) * width * height + Math.floor(i / channels)] = data[i]!;
  const blurred = gaussianBlur(planar, { batchSize: 1, channels, height, width }, sigma);
  const bytes = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++)
    bytes[i] = Math.round(
      Math.min(255, Math.max(0, blurred[(i % channels) * width * height + Math.floor(i / channels)]!)),
    );
  return sharp(bytes, { raw: { width, height, channels } }).png({ compressionLevel: 4 }).toBuffer();
}

/**
 * The pictures of `count` dates of the place an image belongs to, the image's own date first
 * (then the dates after it, then before when it is near the end), each at the model's size;
 * null when the image is in no place's series.
 */
export async function placeDatePictures(
  detection: SeriesDetection,
  imageId: number,
  count: number,
  imgSize: number,
  thumbnailOf: (imageId: number) => string | null,
): Promise<NonNullable<MaskPreview['datePictures']> | null> {
  const place = detection.places.find((candidate) => candidate.images.some((image) => image.id === imageId));
  if (!place) return null;
  const at = place.images.findIndex((image) => image.id === imageId);
  const start = Math.max(0, Math.min(at, place.images.length - count));
  const chosen = place.images.slice(start, start + count);
  const pictures = [];
  for (const image of chosen) {
    const file = thumbnailOf(image.id);
    if (!file) continue;
    const png = await sharp(file).resize(imgSize, imgSize, { fit: 'fill' }).removeAlpha().png().toBuffer();
    pictures.push({
      imageId: image.id,
      date: formatImageDate(image.date),
      dataUrl: `data:image/png;base64,${png.toString('base64')}`,
    });
  }
  return pictures;
}
