/**
 * The input side of the Deblurring MAE (Kang et al. 2023, "Deblurring Masked Autoencoder is
 * Better Recipe for Ultrasound Image Recognition", MICCAI): the encoder sees each image blurred
 * by a Gaussian, the decoder regresses the sharp image's masked patches. The blur runs on the
 * host over each batch (plain numbers, no kernels), so every backend trains the same recipe.
 *
 * The filter is separable and matches `scipy.ndimage.gaussian_filter(x, sigma, mode='reflect',
 * truncate=4.0)` per channel: weights exp(−t²/2σ²) for t in [−r, r], r = ⌊4σ + 0.5⌋, normalised
 * to sum 1; outside the image the samples mirror about its edge (d c b a | a b c d | d c b a).
 */

/** The 1-D Gaussian weights for `sigma` (pixels), centre in the middle. */
export function gaussianKernel(sigma: number): Float64Array {
  if (!(sigma > 0) || !Number.isFinite(sigma))
    throw new Error(`blur sigma must be a positive number of pixels, got ${sigma}`);
  const radius = Math.floor(4 * sigma + 0.5);
  const weights = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let t = -radius; t <= radius; t++) {
    const weight = Math.exp((-0.5 * t * t) / (sigma * sigma));
    weights[t + radius] = weight;
    sum += weight;
  }
  return weights.map((weight) => weight / sum);
}

/** Index `i` mirrored into [0, n) the way scipy's 'reflect' mode does (the edge sample repeats). */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n;
  let k = ((i % period) + period) % period;
  if (k >= n) k = period - 1 - k;
  return k;
}

/**
 * Planar images [B, C, H, W] blurred per channel by a Gaussian of `sigma` pixels; returns a new
 * array (the input is the sharp target and stays as it is).
 */
export function gaussianBlur(
  images: Float32Array,
  shape: { batchSize: number; channels: number; height: number; width: number },
  sigma: number,
): Float32Array {
  const { batchSize, channels, height, width } = shape;
  if (images.length !== batchSize * channels * height * width) {
    throw new Error(
      `gaussianBlur: ${images.length} values do not make [${batchSize}, ${channels}, ${height}, ${width}]`,
    );
  }
  const kernel = gaussianKernel(sigma);
  const radius = (kernel.length - 1) / 2;
  const out = new Float32Array(images.length);
  const rows = new Float64Array(height * width); // one plane blurred along x
  for (let plane = 0; plane < batchSize * channels; plane++) {
    const offset = plane * height * width;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let sum = 0;
        for (let t = -radius; t <= radius; t++)
          sum += kernel[t + radius]! * images[offset + y * width + reflect(x + t, width)]!;
        rows[y * width + x] = sum;
      }
    }
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let sum = 0;
        for (let t = -radius; t <= radius; t++) sum += kernel[t + radius]! * rows[reflect(y + t, height) * width + x]!;
        out[offset + y * width + x] = sum;
      }
    }
  }
  return out;
}
