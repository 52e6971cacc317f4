/**
 * The mask preview: one image at the model's size and the mask the engine's own `makeMasks`
 * draws for it (the preview RNG stream, so a seed always shows the same mask). The picture is
 * the import's display thumbnail (already stretched for 16-bit and multi-band images), resized
 * the way training resizes: the whole image, squashed to a square.
 */
import sharp from 'sharp';
import { StudioError, type MaskPreview } from '../contract';
import { makeMasks, type MaskStrategyName } from '../mae/masking';
import { RNG_STREAMS, Rng } from '../mae/rng';

/** What to preview. */
export interface MaskPreviewOptions {
  imageId: number;
  strategy: MaskStrategyName;
  maskRatio: number;
  patchSize: number;
  imgSize: number;
  seed: number;
}

/** Masks one image; throws naming the field when the geometry cannot work. */
export async function renderMaskPreview(file: string, options: MaskPreviewOptions): Promise<MaskPreview> {
  const { imgSize, patchSize, maskRatio, strategy, seed } = options;
  if (!(maskRatio > 0 && maskRatio < 1)) throw new StudioError('INVALID_ARGUMENT', `maskRatio must be in (0, 1), got ${maskRatio}`);
  if (imgSize % patchSize !== 0) {
    throw new StudioError('INVALID_ARGUMENT', `imgSize (${imgSize}) must be divisible by patchSize (${patchSize})`);
  }
  const gridSide = imgSize / patchSize;
  if (gridSide < 2) throw new StudioError('INVALID_ARGUMENT', `patchSize ${patchSize} leaves a single patch at ${imgSize} px; use a smaller patch`);
  const masks = makeMasks(strategy, { batchSize: 1, gridSide, maskRatio }, Rng.fromSeed(seed, RNG_STREAMS.preview));
  const png = await sharp(file).resize(imgSize, imgSize, { fit: 'fill' }).removeAlpha().png({ compressionLevel: 4 }).toBuffer();
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
  };
}
