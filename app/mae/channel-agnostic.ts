/**
 * Channel-agnostic tokens (CA-MAE; Kraus et al. 2024, "Masked Autoencoders for Microscopy are
 * Scalable Learners of Cellular Biology", CVPR 2024), checked against their public reference code:
 *
 * - Every channel is its own token sequence: one patch embedding shared by all channels reads
 *   p·p values, so an image of C channels gives C·L tokens, channel-major (channel 0's L patches,
 *   then channel 1's, …). The encoder adds the same 2-D sin-cos table to every channel's patches
 *   and no channel identity, which is what lets a model trained on 5 channels embed 3 or 6.
 * - Masking draws over all C·L tokens at once (random; the reference's `transformer_random_masking`
 *   over the flattened sequence), so a patch may be hidden in one channel and seen in another.
 * - The decoder adds a learned embedding per channel (the reference's modality tokens) to its
 *   positions and predicts each token's p·p pixels.
 * - Images are self-standardised per image and channel first (the reference's
 *   `InstanceNorm2d(affine=False)`, biased variance, eps 1e-5), inside the model.
 * - An optional Fourier term (their `loss.py`: L1 between the magnitudes of the 2-D DFTs of the
 *   reconstructed and the target image, weight 0.01 in their config) is added to the MSE.
 *
 * Only plain TF.js ops (matMul, transpose, reshape, sqrt …) so every backend trains it; the DFT
 * is two matrix products with fixed cos/sin tables.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  keepCount,
  makeMasks,
  masksFromScores,
  type MaskingOptions,
  type MaskSet,
  type MaskStrategyName,
} from './masking';
import { get2dSincosPosEmbed } from './posEmbed';
import type { Rng } from './rng';

/** The reference's settings. */
export const DEFAULT_CHANNEL_AGNOSTIC = {
  standardiseEps: 1e-5, // torch InstanceNorm2d default
  fourierLossWeight: 0.01, // their config.yaml: "combine with fourier loss weighted at 0.01"
  magnitudeEps: 1e-8, // keeps the gradient of |F| finite where a frequency is exactly zero
} as const;

/** [B, C, H, W] → [B, C·L, p·p]: each channel's patches row-major, channel after channel. */
export function channelPatchify(imgs: tf.Tensor, patchSize: number): tf.Tensor {
  const [batchSize, channels, height, width] = imgs.shape as [number, number, number, number];
  if (imgs.rank !== 4) throw new Error(`channelPatchify expects [B, C, H, W], got ${JSON.stringify(imgs.shape)}`);
  if (height % patchSize !== 0 || width % patchSize !== 0)
    throw new Error(`image size ${height}×${width} must be divisible by the patch size ${patchSize}`);
  const rows = height / patchSize;
  const columns = width / patchSize;
  return tf.tidy(() => {
    const split = tf.reshape(imgs, [batchSize, channels, rows, patchSize, columns, patchSize]); // [B, C, h, p, w, p]
    const grouped = tf.transpose(split, [0, 1, 2, 4, 3, 5]); // [B, C, h, w, p, p]
    return tf.reshape(grouped, [batchSize, channels * rows * columns, patchSize * patchSize]); // [B, C*L, p*p]
  });
}

/** [B, C·L, p·p] → [B, C, H, W] for a square grid (the inverse of `channelPatchify`). */
export function channelUnpatchify(tokens: tf.Tensor, patchSize: number, channels: number): tf.Tensor {
  const [batchSize, numTokens, patchLength] = tokens.shape as [number, number, number];
  const side = Math.round(Math.sqrt(numTokens / channels));
  if (side * side * channels !== numTokens || patchLength !== patchSize * patchSize) {
    throw new Error(
      `channelUnpatchify: ${numTokens} tokens of ${patchLength} ` +
        `values are not ${channels} square grids of ${patchSize}² patches`,
    );
  }
  return tf.tidy(() => {
    const grouped = tf.reshape(tokens, [batchSize, channels, side, side, patchSize, patchSize]); // [B, C, h, w, p, p]
    const split = tf.transpose(grouped, [0, 1, 2, 4, 3, 5]); // [B, C, h, p, w, p]
    return tf.reshape(split, [batchSize, channels, side * patchSize, side * patchSize]); // [B, C, H, W]
  });
}

/** Tokens [B, C·L, W] in channel-major order → the standard patch layout [B, L, C·W] (channel, then value). */
export function tokensToPatches(tokens: tf.Tensor, channels: number): tf.Tensor {
  const [batchSize, numTokens, width] = tokens.shape as [number, number, number];
  const numPatches = numTokens / channels;
  return tf.tidy(() =>
    tf.reshape(tf.transpose(tf.reshape(tokens, [batchSize, channels, numPatches, width]), [0, 2, 1, 3]), [
      batchSize,
      numPatches,
      channels * width,
    ]),
  );
}

/** Per image and channel mean and biased variance: [B, C, 1, 1] each. */
export function imageChannelMoments(imgs: tf.Tensor): { mean: tf.Tensor; variance: tf.Tensor } {
  return tf.moments(imgs, [2, 3], true);
}

/**
 * Each image's channels shifted to mean 0 and scaled to variance 1 (biased; eps 1e-5), as
 * `InstanceNorm2d(affine=False)`.
 */
export function selfStandardise(imgs: tf.Tensor, eps: number = DEFAULT_CHANNEL_AGNOSTIC.standardiseEps): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = imageChannelMoments(imgs);
    return tf.div(tf.sub(imgs, mean), tf.sqrt(tf.add(variance, eps)));
  });
}

/**
 * The sin-cos table with its zero cls row, the L patch rows repeated for each of `channels`: [1 + C·L, width]
 * flattened.
 */
export function channelPosEmbed(width: number, gridSide: number, channels: number): Float32Array {
  const grid = get2dSincosPosEmbed(width, gridSide, false);
  const table = new Float32Array((1 + (channels * grid.length) / width) * width);
  for (let c = 0; c < channels; c++) table.set(grid, width + c * grid.length);
  return table;
}

/**
 * One-hot channel of every decoder row, [B·(1 + T), C]: the rows are cls then the tokens in
 * `order` (token ids, channel-major, T = C·L per sample); cls rows are all zero. Multiplied by
 * the channel embedding [C, Dd] it adds each row's channel (a matMul: its gradient is portable).
 */
export function channelOneHot(order: Int32Array, numTokens: number, channels: number): tf.Tensor2D {
  const batchSize = order.length / numTokens;
  const perChannel = numTokens / channels;
  const values = new Float32Array(batchSize * (1 + numTokens) * channels);
  for (let b = 0; b < batchSize; b++) {
    for (let i = 0; i < numTokens; i++)
      values[(b * (1 + numTokens) + 1 + i) * channels + Math.floor(order[b * numTokens + i]! / perChannel)] = 1;
  }
  return tf.tensor2d(values, [batchSize * (1 + numTokens), channels]);
}

/**
 * Masks over the C·L tokens of each image, the same count kept in every image. `random`: uniform
 * over all tokens, as the reference. `block` and `noise` draw their spatial pattern for every
 * channel on its own, so each channel hides its own L − Lkeep patches.
 */
export function channelAgnosticMasks(
  strategy: MaskStrategyName,
  options: MaskingOptions,
  channels: number,
  rng: Rng,
): MaskSet {
  const numPatches = options.gridSide * options.gridSide;
  const numTokens = channels * numPatches;
  if (strategy === 'random') {
    const scores = Array.from({ length: options.batchSize }, () =>
      Float64Array.from({ length: numTokens }, () => rng.uniform()),
    );
    return masksFromScores(scores, numTokens, keepCount(numTokens, options.maskRatio));
  }
  // sample b·C + c
  const perChannel = makeMasks(strategy, { ...options, batchSize: options.batchSize * channels }, rng);
  const scores = Array.from({ length: options.batchSize }, (_, b) => {
    const score = new Float64Array(numTokens);
    for (let c = 0; c < channels; c++) {
      // kept patches sort first in each channel
      for (let l = 0; l < numPatches; l++) {
        score[c * numPatches + l] = perChannel.restore[(b * channels + c) * numPatches + l]! / numPatches;
      }
    }
    return score;
  });
  const numKeep = channels * perChannel.numKeep;
  const masks = masksFromScores(scores, numTokens, numKeep);
  return masks;
}

/** cos and sin of 2π·j·k/n for the n-point DFT, [n, n] each (symmetric). */
function dftTables(n: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const cos = new Float32Array(n * n);
  const sin = new Float32Array(n * n);
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < n; k++) {
      const angle = (2 * Math.PI * ((j * k) % n)) / n;
      cos[j * n + k] = Math.cos(angle);
      sin[j * n + k] = Math.sin(angle);
    }
  }
  return { cos: tf.tensor2d(cos, [n, n]), sin: tf.tensor2d(sin, [n, n]) };
}

/**
 * |DFT₂| of every plane of imgs [B, C, H, W], returned transposed per plane as [B·C·W, H]
 * (the Fourier loss compares two such arrays, so the layout does not matter).
 * Re = Cₕ X C_w − Sₕ X S_w, Im = −(Sₕ X C_w + Cₕ X S_w).
 */
export function fourierMagnitude(imgs: tf.Tensor): tf.Tensor {
  const [batchSize, channels, height, width] = imgs.shape as [number, number, number, number];
  return tf.tidy(() => {
    const rowsTables = dftTables(height);
    const columnTables = width === height ? rowsTables : dftTables(width);
    const planes = tf.reshape(imgs, [batchSize * channels * height, width]);
    const flip = (x: tf.Tensor) =>
      tf.reshape(tf.transpose(tf.reshape(x, [batchSize * channels, height, width]), [0, 2, 1]), [
        batchSize * channels * width,
        height,
      ]);
    const xc = flip(tf.matMul(planes, columnTables.cos)); // (X C_w)ᵀ per plane
    const xs = flip(tf.matMul(planes, columnTables.sin)); // (X S_w)ᵀ
    const real = tf.sub(tf.matMul(xc, rowsTables.cos), tf.matMul(xs, rowsTables.sin)); // (Cₕ X C_w − Sₕ X S_w)ᵀ
    const imaginary = tf.add(tf.matMul(xc, rowsTables.sin), tf.matMul(xs, rowsTables.cos)); // −Imᵀ
    return tf.sqrt(tf.add(tf.add(tf.square(real), tf.square(imaginary)), DEFAULT_CHANNEL_AGNOSTIC.magnitudeEps));
  });
}

/** The reference Fourier loss, averaged: mean |‖DFT₂(pred)‖ − ‖DFT₂(target)‖| over every plane and frequency. */
export function fourierLoss(pred: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(fourierMagnitude(pred), fourierMagnitude(target)))) as tf.Scalar);
}

/**
 * Shuffled-order rows [B, T, W] → token order, as a product with a constant permutation matrix
 * (its gradient is another matMul; `gatherRows` must not carry one).
 */
export function unshuffleByMatMul(rows: tf.Tensor, masks: MaskSet): tf.Tensor {
  const { batchSize, numPatches, restore } = masks;
  const permutation = new Float32Array(batchSize * numPatches * numPatches);
  for (let b = 0; b < batchSize; b++) {
    for (let t = 0; t < numPatches; t++)
      permutation[(b * numPatches + t) * numPatches + restore[b * numPatches + t]!] = 1;
  }
  return tf.tidy(() => tf.matMul(tf.tensor3d(permutation, [batchSize, numPatches, numPatches]), rows));
}
