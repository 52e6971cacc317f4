/**
 * The 3-D Masked Autoencoder: a volume [B, C, D, H, W] is cut into cuboid patches
 * (`patchify3d`), each patch's C·pd·ph·pw values are embedded by one linear map (a Conv3d with
 * stride = kernel), fixed 3-D sin-cos positions are added (`get3dSincosPosEmbed`), and from there
 * on tokens are tokens: the 2-D MAE's encoder, decoder, masking and loss run unchanged on the
 * L = D'·H'·W' tokens (app/mae/model.ts). The loss is the MSE on the masked patches, on
 * per-patch normalised values with `normPixLoss`.
 *
 * How the 2-D code is reused: at token level a 3-D model is exactly a 2-D one whose "image" has
 * 1×1 patches of P = C·pd·ph·pw channels — the same parameters under the same names and shapes
 * (`patch_embed.proj.weight` [P, D], `decoder_pred.weight` [Dd, P]). `tokenView` builds that
 * view, sharing the variables, with the 3-D position tables; the token-level functions of
 * model.ts and model-loss.ts (`forwardEncoder`, `forwardDecoder`, `forwardLoss`,
 * `unshufflePrediction`) never read the image geometry, so they serve the 3-D model as they are.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MaeConfig } from '../config';
import { masksFromScores, keepCount, type MaskSet } from '../masking';
import { disposeModel, forwardDecoder, forwardEncoder, unshufflePrediction, type MaeModel } from '../model';
import { forwardLoss } from '../model-loss';
import { initParams } from '../params';
import type { Rng } from '../rng';
import { gridSize3d, patchLength3d, tokenCount3d, validateMae3dConfig, type Mae3dConfig } from './config3d';
import { patchify3d, unpatchify3d } from './patchify3d';
import { get3dSincosPosEmbed } from './posEmbed3d';

/** A built 3-D MAE: trainable variables by reference name plus the fixed 3-D position tables. */
export interface Mae3dModel {
  config: Mae3dConfig;
  /** Trainable variables (layouts as app/mae/params.ts with p·p·C replaced by P = C·pd·ph·pw). */
  params: Map<string, tf.Variable>;
  /** Fixed encoder positions [1 + L, D]; row 0 (cls) is zero. */
  posEmbed: tf.Tensor2D;
  /** Fixed decoder positions [1 + L, Dd]; row 0 (cls) is zero. */
  decoderPosEmbed: tf.Tensor2D;
}

/**
 * The token-level 2-D config of a 3-D one: 1×1 patches of P channels (see the file comment).
 * Not passed through `validateMaeConfig`: its 2-D position rule (widths divisible by 4) does not
 * apply, the 3-D table has its own (`validateMae3dConfig`).
 */
function tokenConfig(config: Mae3dConfig): MaeConfig {
  return {
    imgSize: 1,
    patchSize: 1,
    inChans: patchLength3d(config),
    embedDim: config.embedDim,
    depth: config.depth,
    numHeads: config.numHeads,
    decoderEmbedDim: config.decoderEmbedDim,
    decoderDepth: config.decoderDepth,
    decoderNumHeads: config.decoderNumHeads,
    mlpRatio: config.mlpRatio,
    normPixLoss: config.normPixLoss,
  };
}

/** The 2-D model.ts view of a 3-D model (shares its variables and tables; never dispose it). */
export function tokenView(model: Mae3dModel): MaeModel {
  return {
    config: tokenConfig(model.config),
    params: model.params,
    posEmbed: model.posEmbed,
    decoderPosEmbed: model.decoderPosEmbed,
  };
}

/** Builds a 3-D MAE with the reference initialisation, seeded. Dispose with `disposeMae3d`. */
export function createMae3d(config: Mae3dConfig, seed: number): Mae3dModel {
  validateMae3dConfig(config);
  const grid = gridSize3d(config);
  const rows = 1 + tokenCount3d(config);
  return {
    config,
    params: initParams(tokenConfig(config), seed),
    posEmbed: tf.tensor2d(get3dSincosPosEmbed(config.embedDim, grid, true), [rows, config.embedDim]),
    decoderPosEmbed: tf.tensor2d(get3dSincosPosEmbed(config.decoderEmbedDim, grid, true), [
      rows,
      config.decoderEmbedDim,
    ]),
  };
}

/** Frees every tensor the model owns. */
export function disposeMae3d(model: Mae3dModel): void {
  disposeModel(tokenView(model));
}

/**
 * The paper's per-sample random masking over the L = D'·H'·W' tokens of each volume: argsort
 * of uniform noise, round(L·(1 − ratio)) kept (the 2-D `randomMasking` on a 3-D grid).
 */
export function randomMasking3d(config: Mae3dConfig, batchSize: number, maskRatio: number, rng: Rng): MaskSet {
  const numPatches = tokenCount3d(config);
  const numKeep = keepCount(numPatches, maskRatio);
  const scores = Array.from({ length: batchSize }, () =>
    Float64Array.from({ length: numPatches }, () => rng.uniform()),
  );
  return masksFromScores(scores, numPatches, numKeep);
}

function checkVolumes(model: Mae3dModel, volumes: tf.Tensor): void {
  const { inChans, volumeSize } = model.config;
  const expected = [inChans, ...volumeSize];
  if (volumes.rank !== 5 || expected.some((size, i) => volumes.shape[i + 1] !== size)) {
    throw new Error(`3-D MAE expects volumes [B, ${expected.join(', ')}], got ${JSON.stringify(volumes.shape)}`);
  }
}

function checkMasks(model: Mae3dModel, volumes: tf.Tensor, masks: MaskSet): void {
  if (masks.batchSize !== volumes.shape[0] || masks.numPatches !== tokenCount3d(model.config)) {
    throw new Error(
      `masks are for ${masks.batchSize}×${masks.numPatches} patches, ` +
        `volumes give ${volumes.shape[0]}×${tokenCount3d(model.config)}`,
    );
  }
}

/**
 * Volumes [B, C, D, H, W] (normalised) and masks → { loss, pred [B, L, P] in the decoder's
 * shuffled order (visible first, then masked) }: the reference MAE step in 3-D.
 */
export function forwardMae3d(
  model: Mae3dModel,
  volumes: tf.Tensor,
  masks: MaskSet,
): { loss: tf.Scalar; pred: tf.Tensor } {
  checkVolumes(model, volumes);
  checkMasks(model, volumes, masks);
  const view = tokenView(model);
  return tf.tidy(() => {
    const patches = patchify3d(volumes, model.config.patchSize); // [B, L, P]
    const pred = forwardDecoder(view, forwardEncoder(view, patches, masks), masks); // [B, L, P], shuffled
    return { loss: forwardLoss(view, patches, pred, masks), pred };
  });
}

/** Every patch visible, in token order: the encoder as a feature extractor. */
export function allVisible(batchSize: number, numPatches: number): MaskSet {
  const keep = Int32Array.from({ length: batchSize * numPatches }, (_, k) => k % numPatches);
  return { batchSize, numPatches, numKeep: numPatches, keep, restore: keep.slice(), mask: new Uint8Array(keep.length) };
}

/**
 * The encoder's tokens of whole volumes (no masking), after its final norm: [B, 1 + L, D],
 * cls first, then the patches in `patchify3d` order. Probes read the cls token or the patch mean.
 */
export function encodeVolumes3d(model: Mae3dModel, volumes: tf.Tensor): tf.Tensor {
  checkVolumes(model, volumes);
  return tf.tidy(() =>
    forwardEncoder(
      tokenView(model),
      patchify3d(volumes, model.config.patchSize),
      allVisible(volumes.shape[0]!, tokenCount3d(model.config)),
    ),
  );
}

/**
 * What the model shows for masked volumes: [B, C, D, H, W] with every visible patch the input
 * and every masked patch the prediction — brought back to the input's scale with the patch's own
 * mean and standard deviation when the model regresses normalised pixels (as the paper's figures).
 */
export function reconstructVolumes3d(model: Mae3dModel, volumes: tf.Tensor, masks: MaskSet): tf.Tensor {
  const { patchSize, inChans, normPixLoss } = model.config;
  const { pred } = forwardMae3d(model, volumes, masks);
  const result = tf.tidy(() => {
    const patches = patchify3d(volumes, patchSize); // [B, L, P]
    let predicted = unshufflePrediction(pred, masks); // [B, L, P], patch order
    if (normPixLoss) {
      const { mean, variance } = tf.moments(patches, -1, true);
      const patchLength = patches.shape[2]!;
      const std = tf.sqrt(tf.add(tf.mul(variance, patchLength / Math.max(1, patchLength - 1)), 1e-6));
      predicted = tf.add(tf.mul(predicted, std), mean);
    }
    const masked = tf.tensor3d(Float32Array.from(masks.mask), [masks.batchSize, masks.numPatches, 1]); // 1 = masked
    const mixed = tf.add(tf.mul(predicted, masked), tf.mul(patches, tf.sub(1, masked)));
    return unpatchify3d(mixed, patchSize, gridSize3d(model.config), inChans);
  });
  pred.dispose();
  return result;
}
