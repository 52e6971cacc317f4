/**
 * The MAE pretraining augmentation (`main_pretrain.py`): RandomResizedCrop(scale 0.2–1,
 * ratio 3/4–4/3) and a horizontal flip with p = 0.5, on planar float images [C, H, W], driven
 * by an explicit `Rng`. Resampling is bilinear (the reference uses bicubic; on 0.2–1 crops
 * the difference is below augmentation noise and bilinear cannot overshoot 16-bit ranges).
 */
import type { Rng } from '../mae/rng';

/** A planar image: `data` is [channels, height, width] row-major. */
export interface PlanarImage {
  data: Float32Array;
  channels: number;
  height: number;
  width: number;
}

/** Augmentation settings. */
export interface AugmentOptions {
  /** Range of the crop area as a fraction of the image. */
  scale: readonly [number, number];
  /** Range of the crop aspect ratio (width / height). */
  ratio: readonly [number, number];
  /** Probability of a horizontal flip. */
  flipProbability: number;
}

/** The reference recipe. */
export const DEFAULT_AUGMENT: AugmentOptions = {
  scale: [0.2, 1.0], // MAE: RandomResizedCrop(scale=(0.2, 1.0))
  ratio: [3 / 4, 4 / 3], // torchvision default
  flipProbability: 0.5, // RandomHorizontalFlip()
};

/** A crop rectangle in source pixels. */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** torchvision `RandomResizedCrop.get_params`: 10 tries, then a centre crop clamped to the ratio. */
export function sampleCropBox(
  height: number,
  width: number,
  rng: Rng,
  options: AugmentOptions = DEFAULT_AUGMENT,
): CropBox {
  const area = height * width;
  const logRatio = [Math.log(options.ratio[0]), Math.log(options.ratio[1])] as const;
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniformIn(options.scale[0], options.scale[1]);
    const aspect = Math.exp(rng.uniformIn(logRatio[0], logRatio[1]));
    const cropWidth = Math.round(Math.sqrt(targetArea * aspect));
    const cropHeight = Math.round(Math.sqrt(targetArea / aspect));
    if (cropWidth > 0 && cropWidth <= width && cropHeight > 0 && cropHeight <= height) {
      return {
        top: rng.int(height - cropHeight + 1),
        left: rng.int(width - cropWidth + 1),
        height: cropHeight,
        width: cropWidth,
      };
    }
  }
  const inRatio = width / height;
  let cropWidth = width;
  let cropHeight = height;
  if (inRatio < options.ratio[0]) cropHeight = Math.round(width / options.ratio[0]);
  else if (inRatio > options.ratio[1]) cropWidth = Math.round(height * options.ratio[1]);
  return {
    top: Math.floor((height - cropHeight) / 2),
    left: Math.floor((width - cropWidth) / 2),
    height: cropHeight,
    width: cropWidth,
  };
}

/** Bilinear resample of `box` of `image` to outSize×outSize (align_corners = false), optionally mirrored. */
export function resizeCrop(
  image: PlanarImage,
  box: CropBox,
  outSize: number,
  flip: boolean,
  out?: Float32Array,
): Float32Array {
  return resizeBox(image, box, outSize, outSize, flip, out);
}

/**
 * Bilinear resample of `box` of `image` to outHeight×outWidth (align_corners = false), optionally
 * mirrored. `image.data` may be any typed array of the image's values (the training cache's
 * uint8 / uint16 records are resampled without a float copy). Self-contained (no closure, no
 * import): the training loader's worker thread runs this very function's source.
 */
export function resizeBox(
  image: { data: ArrayLike<number>; channels: number; height: number; width: number },
  box: CropBox,
  outHeight: number,
  outWidth: number,
  flip: boolean,
  out?: Float32Array,
): Float32Array {
  const { data, channels, height, width } = image;
  const result = out ?? new Float32Array(channels * outHeight * outWidth);
  const scaleY = box.height / outHeight;
  const scaleX = box.width / outWidth;
  for (let y = 0; y < outHeight; y++) {
    const sourceY = Math.min(height - 1, Math.max(0, box.top + (y + 0.5) * scaleY - 0.5));
    const y0 = Math.floor(sourceY);
    const y1 = Math.min(height - 1, y0 + 1);
    const fy = sourceY - y0;
    for (let x = 0; x < outWidth; x++) {
      const sourceX = Math.min(width - 1, Math.max(0, box.left + (x + 0.5) * scaleX - 0.5));
      const x0 = Math.floor(sourceX);
      const x1 = Math.min(width - 1, x0 + 1);
      const fx = sourceX - x0;
      const outX = flip ? outWidth - 1 - x : x;
      for (let c = 0; c < channels; c++) {
        const plane = c * height * width;
        const top = data[plane + y0 * width + x0]! * (1 - fx) + data[plane + y0 * width + x1]! * fx;
        const bottom = data[plane + y1 * width + x0]! * (1 - fx) + data[plane + y1 * width + x1]! * fx;
        result[c * outHeight * outWidth + y * outWidth + outX] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return result;
}

/** Random resized crop + horizontal flip → [C, outSize, outSize]. */
export function augment(
  image: PlanarImage,
  outSize: number,
  rng: Rng,
  options: AugmentOptions = DEFAULT_AUGMENT,
  out?: Float32Array,
): Float32Array {
  const box = sampleCropBox(image.height, image.width, rng, options);
  const flip = rng.uniform() < options.flipProbability;
  return resizeCrop(image, box, outSize, flip, out);
}
