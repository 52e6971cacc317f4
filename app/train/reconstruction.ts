/**
 * Reconstruction grids, as in the MAE paper's figures: for a fixed set of validation images,
 * one row each of original | masked input | reconstruction with the visible patches pasted back.
 * The prediction is brought back to pixels the way the reference's visualisation does: undo the
 * per-patch normalisation of the target (norm-pix loss) with the patch's own mean and unbiased
 * variance, then undo the dataset normalisation, so the picture looks like the image.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  channelPatchify,
  channelUnpatchify,
  DEFAULT_CHANNEL_AGNOSTIC,
  imageChannelMoments,
} from '../mae/channel-agnostic';
import type { MaskSet } from '../mae/masking';
import { forwardMae, unshufflePrediction, type MaeModel, type MaeTargets } from '../mae/model';
import { patchify, unpatchify } from '../mae/patchify';
import { reconstructTemporal } from './reconstruction-temporal';
import { writeGridPng } from './run-files';

/** Images a grid shows at most. */
export const RECONSTRUCTION_IMAGES = 4;
const GAP = 4;
/** Masked patches are drawn in this grey, the paper's convention. */
const MASK_GREY = 128;

/** Pixels of one reconstruction in [0, 1] units, planar [B, C, H, W]. */
export interface ReconstructionPixels {
  original: Float32Array;
  pasted: Float32Array;
  /** What the encoder saw when it differs from the original (deblurring: the blurred image). */
  input?: Float32Array;
  /** [B, L] 1 where masked; [B, C, L] for a CA-MAE model, whose channels are masked apart. */
  mask: Uint8Array;
  batchSize: number;
  channels: number;
  size: number;
  patchSize: number;
}

/**
 * Runs the model on normalised images and returns original and reconstruction in [0, 1] units.
 * With a deblurring recipe's `targets.pixels`, the original is the sharp image and `input` the
 * blurred one the encoder saw (the masked column shows it).
 */
export async function reconstruct(
  model: MaeModel,
  images: tf.Tensor4D,
  masks: MaskSet,
  mean: number[],
  std: number[],
  targets: MaeTargets = {},
): Promise<ReconstructionPixels> {
  const { patchSize, inChans, normPixLoss } = model.config;
  const [batchSize, channels, size] = images.shape;
  if (model.config.channelAgnostic) return reconstructChannels(model, images, masks, mean, std);
  if (model.config.temporal) {
    if (!targets.timestamps) throw new Error('a SatMAE temporal reconstruction needs the timestamps of every date');
    return reconstructTemporal(model, images, masks, targets.timestamps, mean, std); // a row per date
  }
  const sharp = targets.pixels ?? images;
  const [original, pasted, input] = tf.tidy(() => {
    const patches = patchify(sharp, patchSize); // [B, L, C*p*p]
    const prediction = forwardMae(model, images, masks, targets).pred;
    if (!prediction)
      throw new Error(
        'this model predicts no pixels (a feature-target recipe without the pixel target): ' +
          'there is no reconstruction to draw',
      );
    let pred = unshufflePrediction(prediction, masks); // [B, L, C*p*p]
    if (normPixLoss) pred = undoNormPix(pred, patches);
    const masked = tf.tensor3d(Float32Array.from(masks.mask), [batchSize, masks.numPatches, 1]); // [B, L, 1]
    const merged = tf.add(tf.mul(patches, tf.sub(1, masked)), tf.mul(pred, masked)); // [B, L, C*p*p]
    const scale = tf.tensor4d(std, [1, channels, 1, 1]);
    const shift = tf.tensor4d(mean, [1, channels, 1, 1]);
    const toUnits = (x: tf.Tensor) => tf.add(tf.mul(x, scale), shift); // [B, C, H, W] in [0, 1] units
    return [toUnits(sharp), toUnits(unpatchify(merged, patchSize, inChans)), toUnits(images)];
  });
  const result: ReconstructionPixels = {
    original: (await original.data()) as Float32Array, // async reads: webgpu has none synchronous in Node
    pasted: (await pasted.data()) as Float32Array,
    ...(targets.pixels && { input: (await input.data()) as Float32Array }),
    mask: masks.mask,
    batchSize,
    channels,
    size,
    patchSize,
  };
  tf.dispose([original, pasted, input]);
  return result;
}

/**
 * A norm-pix prediction back in the units of `patches` [B, T, W]: times each patch's own unbiased std, plus its mean.
 */
function undoNormPix(pred: tf.Tensor, patches: tf.Tensor): tf.Tensor {
  const patchLength = patches.shape[2]!;
  const { mean: patchMean, variance } = tf.moments(patches, -1, true); // [B, T, 1]
  const unbiased = tf.mul(variance, patchLength / Math.max(1, patchLength - 1));
  return tf.add(tf.mul(pred, tf.sqrt(tf.add(unbiased, 1e-6))), patchMean);
}

/**
 * CA-MAE: the model predicts self-standardised channel patches; each is pasted where that
 * channel was masked and the image's own per-channel mean and std are restored.
 */
async function reconstructChannels(
  model: MaeModel,
  images: tf.Tensor4D,
  masks: MaskSet,
  mean: number[],
  std: number[],
): Promise<ReconstructionPixels> {
  const { patchSize, inChans, normPixLoss } = model.config;
  const [batchSize, channels, size] = images.shape;
  const [original, pasted] = tf.tidy(() => {
    const { mean: imageMean, variance } = imageChannelMoments(images); // [B, C, 1, 1]
    const imageStd = tf.sqrt(tf.add(variance, DEFAULT_CHANNEL_AGNOSTIC.standardiseEps));
    const tokens = channelPatchify(tf.div(tf.sub(images, imageMean), imageStd), patchSize); // [B, C*L, p*p]
    let pred = unshufflePrediction(forwardMae(model, images, masks).pred!, masks); // [B, C*L, p*p]
    if (normPixLoss) pred = undoNormPix(pred, tokens);
    const masked = tf.tensor3d(Float32Array.from(masks.mask), [batchSize, masks.numPatches, 1]); // [B, C*L, 1]
    const merged = tf.add(tf.mul(tokens, tf.sub(1, masked)), tf.mul(pred, masked));
    // [B, C, H, W], normalised units
    const restored = tf.add(tf.mul(channelUnpatchify(merged, patchSize, inChans), imageStd), imageMean);
    const toUnits = (x: tf.Tensor) =>
      tf.add(tf.mul(x, tf.tensor4d(std, [1, channels, 1, 1])), tf.tensor4d(mean, [1, channels, 1, 1]));
    return [toUnits(images), toUnits(restored)];
  });
  const result: ReconstructionPixels = {
    original: (await original.data()) as Float32Array,
    pasted: (await pasted.data()) as Float32Array,
    mask: masks.mask,
    batchSize,
    channels,
    size,
    patchSize,
  };
  tf.dispose([original, pasted]);
  return result;
}

/** Per sample and channel, the 0.5 and 99.5 percentiles of the original: dark 16-bit scans become visible. */
function displayRange(values: Float32Array): [number, number] {
  const sorted = Float32Array.from(values).sort();
  const low = sorted[Math.floor(0.005 * (sorted.length - 1))]!;
  const high = sorted[Math.ceil(0.995 * (sorted.length - 1))]!;
  return high - low > 1e-6 ? [low, high] : [low, low + 1];
}

/** The grid as 8-bit RGB: rows are images, columns original | masked | reconstruction. */
export function gridPixels(recon: ReconstructionPixels): { pixels: Uint8Array; width: number; height: number } {
  const { batchSize, channels, size, patchSize } = recon;
  const side = size / patchSize;
  const width = 3 * size + 2 * GAP;
  const height = batchSize * size + (batchSize - 1) * GAP;
  const pixels = new Uint8Array(width * height * 3).fill(255);
  const plane = size * size;
  const shown = channels >= 3 ? [0, 1, 2] : channels === 2 ? [0, 1, 0] : [0, 0, 0];
  const perChannel = recon.mask.length === batchSize * channels * side * side; // CA-MAE masks every channel apart
  for (let b = 0; b < batchSize; b++) {
    const ranges = shown.map((c) =>
      displayRange(recon.original.subarray((b * channels + c) * plane, (b * channels + c + 1) * plane)),
    );
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const patch = Math.floor(y / patchSize) * side + Math.floor(x / patchSize);
        for (let k = 0; k < 3; k++) {
          const masked =
            recon.mask[perChannel ? (b * channels + shown[k]!) * side * side + patch : b * side * side + patch] === 1;
          const index = (b * channels + shown[k]!) * plane + y * size + x;
          const [low, high] = ranges[k]!;
          const byte = (v: number) => Math.round(255 * Math.min(1, Math.max(0, (v - low) / (high - low))));
          const row = b * (size + GAP) + y;
          const original = byte(recon.original[index]!);
          pixels[(row * width + x) * 3 + k] = original;
          pixels[(row * width + size + GAP + x) * 3 + k] = masked
            ? MASK_GREY
            : recon.input
              ? byte(recon.input[index]!)
              : original;
          pixels[(row * width + 2 * (size + GAP) + x) * 3 + k] = byte(recon.pasted[index]!);
        }
      }
    }
  }
  return { pixels, width, height };
}

/** Writes the grid of a step as PNG into `dir` and deletes older grids; returns the file. */
export async function writeReconstructionGrid(recon: ReconstructionPixels, dir: string, step: number): Promise<string> {
  const { pixels, width, height } = gridPixels(recon);
  return writeGridPng(pixels, { width, height }, dir, step);
}
