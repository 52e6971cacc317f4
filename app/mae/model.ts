/**
 * Masked Autoencoder with a ViT backbone (He et al. 2021), step for step as the reference
 * `models_mae.py`: patch embedding → + fixed sin-cos positions → keep the visible patches →
 * prepend cls → encoder blocks → norm; decoder embed → append mask tokens → positions →
 * decoder blocks → norm → predict C·p·p pixels per patch; MSE on the masked patches.
 *
 * One deliberate difference, invisible in the loss: the reference unshuffles the decoder
 * sequence with `ids_restore` before adding positions. Attention without relative bias is
 * permutation-equivariant, so we keep the shuffled order (cls, visible..., masked...) and
 * gather the *position table* in that order instead. The output for each patch is identical;
 * the masked predictions are simply the last L − Lkeep tokens, so the loss needs neither a
 * scatter nor a gather gradient (see ops.ts). `unshufflePrediction` restores patch order for display.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  channelOneHot,
  channelPatchify,
  channelPosEmbed,
  channelUnpatchify,
  fourierLoss,
  selfStandardise,
  unshuffleByMatMul,
} from './channel-agnostic';
import { gridSize, tokenCount, validateMaeConfig, type MaeConfig } from './config';
import { embedGroupTokens, embedKeptGroupTokens, groupedLoss, groupedPositionTables } from './grouped-bands';
import { hardPatchesLoss } from './hard-patches';
import { featureLoss, forwardLoss, maskedTargets, normalisePerPatch } from './model-loss';
import { shuffleOrder, type MaskSet } from './masking';
import { gatherRows, layerNorm, linear, repeatToken, type ParamLookup } from './ops';
import { initParams } from './params';
import { patchify } from './patchify';
import { get2dSincosPosEmbed } from './posEmbed';
import { embedAllFrames, forwardTemporal, temporalPositionTables } from './temporal';
import { block } from './vit';

/** A built MAE: trainable variables plus the fixed position tables. */
export interface MaeModel {
  config: MaeConfig;
  /** Trainable variables by reference name (see params.ts for layouts). */
  params: Map<string, tf.Variable>;
  /** Fixed encoder positions [1 + L, D]; row 0 (cls) is zero. */
  posEmbed: tf.Tensor2D;
  /** Fixed decoder positions [1 + L, Dd]; row 0 (cls) is zero. */
  decoderPosEmbed: tf.Tensor2D;
}

/** Builds a model with seeded reference initialisation. Dispose with `disposeModel`. */
export function createMae(config: MaeConfig, seed: number): MaeModel {
  validateMaeConfig(config);
  return { config, params: initParams(config, seed), ...positionTables(config) };
}

/**
 * The fixed position tables of a config: [1 + T, D] and [1 + T, Dd], T = L, or C·L with
 * channel-agnostic tokens; grouped bands add each token's group (grouped-bands.ts).
 */
function positionTables(config: MaeConfig): Pick<MaeModel, 'posEmbed' | 'decoderPosEmbed'> {
  if (config.groupedBands) return groupedPositionTables(config);
  if (config.temporal) return temporalPositionTables(config); // spatial part only: timestamps come per sample
  const { side } = gridSize(config);
  const table = (width: number) =>
    config.channelAgnostic ? channelPosEmbed(width, side, config.inChans) : get2dSincosPosEmbed(width, side, true);
  const rows = 1 + tokenCount(config);
  return {
    posEmbed: tf.tensor2d(table(config.embedDim), [rows, config.embedDim]),
    decoderPosEmbed: tf.tensor2d(table(config.decoderEmbedDim), [rows, config.decoderEmbedDim]),
  };
}

/**
 * The model's tokens of images [B, C, H, W]: [B, L, C·p·p], or self-standardised [B, C·L, p·p]
 * with channel-agnostic tokens.
 */
export function imageTokens(model: MaeModel, imgs: tf.Tensor): tf.Tensor {
  const { channelAgnostic, patchSize } = model.config;
  return channelAgnostic ? tf.tidy(() => channelPatchify(selfStandardise(imgs), patchSize)) : patchify(imgs, patchSize);
}

/** Frees every tensor the model owns. */
export function disposeModel(model: MaeModel): void {
  for (const variable of model.params.values()) variable.dispose();
  model.posEmbed.dispose();
  model.decoderPosEmbed.dispose();
}

/** The model's parameters by reference name; a missing one throws, naming it. */
export function paramLookup(model: MaeModel): ParamLookup {
  return (name) => {
    const value = model.params.get(name);
    if (!value) throw new Error(`MAE parameter ${name} is missing`);
    return value;
  };
}

/**
 * Every patch embedded, no masking (probes, fine-tuning): imgs [B, C, H, W] → cls + patch
 * tokens with their positions [B, 1 + L, D], ready for the encoder blocks. Channel-agnostic
 * tokens: [B, 1 + C·L, D] for any C (the model's own channel count or another). SatMAE temporal:
 * frames [B, T·C, H, W] with their `timestamps` [B, T, 3] → [B, 1 + T·L, D] (temporal.ts).
 */
export function embedAllPatches(model: MaeModel, imgs: tf.Tensor, timestamps?: Float32Array): tf.Tensor {
  const param = paramLookup(model);
  if (model.config.temporal) {
    if (!timestamps)
      throw new Error("a SatMAE temporal encoder embeds dated series; images without dates can't be embedded");
    return embedAllFrames(param, model.config, imgs, timestamps); // [B, 1+T*L, D], any T (a single image: T = 1)
  }
  const { embedDim, channelAgnostic } = model.config;
  return tf.tidy(() => {
    const patches = imageTokens(model, imgs); // [B, L, C*p*p] (CA-MAE: [B, C*L, p*p])
    const channels = imgs.shape[1]!;
    // CA-MAE embeds any channel count: the same grid positions, repeated for each channel it is given.
    const positions =
      channelAgnostic && channels !== model.config.inChans
        ? tf.tensor2d(channelPosEmbed(embedDim, gridSize(model.config).side, channels), [
            1 + patches.shape[1]!,
            embedDim,
          ])
        : model.posEmbed;
    // [B, T, D] + [T, D]; T = L, G·L with grouped bands, C·L with channel-agnostic tokens
    const x = tf.add(embedTokens(model, patches), tf.slice(positions, [1, 0], [-1, embedDim]));
    const cls = tf.add(param('cls_token'), tf.slice(model.posEmbed, [0, 0], [1, -1])); // [1, 1, D]
    return tf.concat([repeatToken(cls, imgs.shape[0]!, 1), x], 1); // [B, 1+T, D]
  });
}

/**
 * Every token's embedding, positions not added: patches [B, L, C·p·p] → [B, L, D], or
 * [B, G·L, D] with grouped bands.
 */
function embedTokens(model: MaeModel, patches: tf.Tensor): tf.Tensor {
  const param = paramLookup(model);
  if (model.config.groupedBands) return embedGroupTokens(param, model.config, patches);
  return linear(patches, param('patch_embed.proj.weight'), param('patch_embed.proj.bias'));
}

/** Flat row indices b·L + ids[b, i] (+ `offset`), for gathering from a [B·L, ...] table. */
function flatIndices(ids: Int32Array, rowsPerSample: number, stride: number, offset = 0): Int32Array {
  return ids.map((id, k) => Math.floor(k / rowsPerSample) * stride + id + offset);
}

/**
 * Encoder on the visible patches only. `patches` [B, L, C·p·p] → latent [B, 1 + Lkeep, D].
 */
export function forwardEncoder(model: MaeModel, patches: tf.Tensor, masks: MaskSet): tf.Tensor {
  const param = paramLookup(model);
  const { batchSize, numPatches, numKeep, keep } = masks;
  const patchLength = patches.shape[2]!;
  return tf.tidy(() => {
    let x: tf.Tensor;
    if (model.config.groupedBands) {
      // Grouped bands: the visible tokens of every group (numPatches counts tokens, G·L).
      x = embedKeptGroupTokens(param, model.config, patches, masks); // [B, Tkeep, D]
    } else {
      const rows = tf.reshape(patches, [batchSize * numPatches, patchLength]); // [B*L, C*p*p]
      const visible = tf.reshape(gatherRows(rows, flatIndices(keep, numKeep, numPatches)), [
        batchSize,
        numKeep,
        patchLength,
      ]); // [B, Lkeep, C*p*p]
      x = linear(visible, param('patch_embed.proj.weight'), param('patch_embed.proj.bias')); // [B, Lkeep, D]
    }
    const positions = gatherRows(
      model.posEmbed,
      keep.map((id) => id + 1),
    ); // [B*Lkeep, D], skipping the cls row
    x = tf.add(x, tf.reshape(positions, [batchSize, numKeep, model.config.embedDim])); // [B, Lkeep, D]
    const cls = tf.add(param('cls_token'), tf.slice(model.posEmbed, [0, 0], [1, -1])); // [1, 1, D]
    x = tf.concat([repeatToken(cls, batchSize, 1), x], 1); // [B, 1+Lkeep, D]
    for (let i = 0; i < model.config.depth; i++) x = block(x, param, `blocks.${i}`, model.config.numHeads);
    return layerNorm(x, param('norm.weight'), param('norm.bias'));
  });
}

/**
 * Decoder over all patches, in shuffled order. latent [B, 1 + Lkeep, D] → pred [B, L, C·p·p]
 * where row i of sample b predicts patch ids_shuffle[b, i] (visible first, then masked).
 */
export function forwardDecoder(model: MaeModel, latent: tf.Tensor, masks: MaskSet): tf.Tensor {
  const param = paramLookup(model);
  return tf.tidy(() => {
    const x = decoderHidden(model, latent, masks); // [B, 1+L, Dd]
    const pred = linear(x, param('decoder_pred.weight'), param('decoder_pred.bias')); // [B, 1+L, C*p*p]
    return tf.slice(pred, [0, 1, 0], [-1, -1, -1]); // [B, L, C*p*p], cls removed
  });
}

/**
 * The decoder's tokens after its final norm, in shuffled order with cls first:
 * latent [B, 1 + Lkeep, D] → [B, 1 + L, Dd]. Every prediction head reads them.
 */
function decoderHidden(model: MaeModel, latent: tf.Tensor, masks: MaskSet): tf.Tensor {
  return decoderBlocks(model, decoderTokens(model, latent, masks));
}

/** The decoder blocks and final norm: tokens [B, 1 + L, Dd] → [B, 1 + L, Dd]. */
function decoderBlocks(model: MaeModel, tokens: tf.Tensor): tf.Tensor {
  const param = paramLookup(model);
  return tf.tidy(() => {
    let x = tokens;
    for (let i = 0; i < model.config.decoderDepth; i++)
      x = block(x, param, `decoder_blocks.${i}`, model.config.decoderNumHeads);
    return layerNorm(x, param('decoder_norm.weight'), param('decoder_norm.bias')); // [B, 1+L, Dd]
  });
}

/**
 * The decoder's input tokens, in shuffled order with cls first: latent [B, 1 + Lkeep, D] →
 * decoder embedding, mask tokens appended, positions added → [B, 1 + L, Dd] (what HPM's loss
 * predictor reads too).
 */
export function decoderTokens(model: MaeModel, latent: tf.Tensor, masks: MaskSet): tf.Tensor {
  const param = paramLookup(model);
  const { batchSize, numPatches, numKeep } = masks;
  const width = model.config.decoderEmbedDim;
  const shuffle = shuffleOrder(masks);
  return tf.tidy(() => {
    let x = linear(latent, param('decoder_embed.weight'), param('decoder_embed.bias')); // [B, 1+Lkeep, Dd]
    if (numKeep < numPatches) {
      const maskTokens = repeatToken(param('mask_token'), batchSize, numPatches - numKeep); // [B, L-Lkeep, Dd]
      x = tf.concat([x, maskTokens], 1); // [B, 1+L, Dd]: cls, visible, masked (shuffled order)
    }
    const order = new Int32Array(batchSize * (1 + numPatches)); // cls row 0, then 1 + ids_shuffle
    for (let b = 0; b < batchSize; b++) {
      for (let i = 0; i < numPatches; i++) order[b * (1 + numPatches) + 1 + i] = 1 + shuffle[b * numPatches + i]!;
    }
    // [B, 1+L, Dd]
    x = tf.add(x, tf.reshape(gatherRows(model.decoderPosEmbed, order), [batchSize, 1 + numPatches, width]));
    if (model.config.channelAgnostic) {
      // + each token's channel
      const channels = channelOneHot(shuffle, numPatches, model.config.inChans); // [B*(1+T), C]
      const embedded = tf.matMul(channels, param('decoder_channel_embed'));
      x = tf.add(x, tf.reshape(embedded, [batchSize, 1 + numPatches, width]));
    }
    return x;
  });
}

/**
 * What a domain recipe regresses instead of the input's own pixels. Deblurring MAE: `pixels`,
 * the sharp images whose patches are the target while the encoder sees the blurred input.
 * FG-MAE: `features`, one per feature head, per patch [B, L, width] in patch order; their
 * losses are added to the pixel loss (when the model has a pixel head), as the FG-MAE reference sums them.
 */
export interface MaeTargets {
  /** Images [B, C, H, W] whose patches the pixel head regresses; default: the input. */
  pixels?: tf.Tensor;
  /** Per-patch features by head name, [B, L, width]. */
  features?: Record<string, tf.Tensor>;
  /** SatMAE temporal: each frame's [years since the first, month − 1, hour], [B, T, 3] (temporal.ts). */
  timestamps?: Float32Array;
}

/**
 * Images [B, C, H, W] (normalised) and masks → { loss, pred [B, L, C·p·p] in shuffled order }
 * (no pred for a model without a pixel head). `targets` are a domain recipe's (see
 * `MaeTargets`); without them this is the reference MAE exactly.
 */
export function forwardMae(
  model: MaeModel,
  imgs: tf.Tensor,
  masks: MaskSet,
  targets: MaeTargets = {},
): { loss: tf.Scalar; pred?: tf.Tensor } {
  if (model.config.temporal) {
    if (!targets.timestamps) throw new Error('a SatMAE temporal model needs the timestamps of every frame');
    // Its predictions are of the masked tokens only: no full-image prediction to show.
    const { loss, pred } = forwardTemporal(paramLookup(model), {
      config: model.config,
      imgs,
      timestamps: targets.timestamps,
      masks,
    });
    pred.dispose();
    return { loss };
  }
  const { imgSize, inChans, patchSize } = model.config;
  const [, channels, height, width] = imgs.shape;
  if (channels !== inChans || height !== imgSize || width !== imgSize) {
    throw new Error(`MAE expects images [B, ${inChans}, ${imgSize}, ${imgSize}], got ${JSON.stringify(imgs.shape)}`);
  }
  if (masks.batchSize !== imgs.shape[0] || masks.numPatches !== tokenCount(model.config)) {
    throw new Error(
      `masks are for ${masks.batchSize}×${masks.numPatches} patches, ` +
        `images give ${imgs.shape[0]}×${tokenCount(model.config)}`,
    );
  }
  if (model.config.channelAgnostic) return forwardChannelAgnostic(model, imgs, masks);
  if (targets.pixels && !sameShape(targets.pixels.shape, imgs.shape)) {
    throw new Error(
      `pixel targets must have the images' shape ${JSON.stringify(imgs.shape)}, ` +
        `got ${JSON.stringify(targets.pixels.shape)}`,
    );
  }
  const heads = model.config.featureHeads ?? [];
  for (const head of heads) {
    const feature = targets.features?.[head.name];
    if (!feature || !sameShape(feature.shape, [masks.batchSize, masks.numPatches, head.width])) {
      throw new Error(
        `feature head ${head.name} needs targets [${masks.batchSize}, ${masks.numPatches}, ${head.width}], ` +
          `got ${feature ? JSON.stringify(feature.shape) : 'none'}`,
      );
    }
  }
  return tf.tidy(() => {
    const patches = patchify(imgs, patchSize); // [B, L, C*p*p]
    const latent = forwardEncoder(model, patches, masks); // [B, 1+Lkeep, D]
    if (model.config.groupedBands) {
      // SatMAE: one head per band group on its masked tokens; no full-image prediction to show.
      const targetPatches = targets.pixels ? patchify(targets.pixels, patchSize) : patches;
      return {
        loss: groupedLoss(paramLookup(model), model.config, decoderHidden(model, latent, masks), targetPatches, masks),
      };
    }
    if (model.config.lossPredictorWeight !== undefined) {
      // HPM: the MSE plus the loss predictor's relative objective (hard-patches.ts)
      const tokens = decoderTokens(model, latent, masks); // [B, 1+L, Dd]
      const param = paramLookup(model);
      const hidden = decoderBlocks(model, tokens); // [B, 1+L, Dd]
      const pred = tf.slice(
        linear(hidden, param('decoder_pred.weight'), param('decoder_pred.bias')),
        [0, 1, 0],
        [-1, -1, -1],
      );
      const predMasked = tf.slice(pred, [0, masks.numKeep, 0], [-1, -1, -1]); // [B, L-Lkeep, C*p*p]
      const target = maskedTargets(model, patches, masks); // [B, L-Lkeep, C*p*p]
      return { loss: hardPatchesLoss(param, model.config, tokens, predMasked, target, masks.numKeep), pred };
    }
    if (heads.length === 0) {
      const pred = forwardDecoder(model, latent, masks); // [B, L, C*p*p], shuffled
      const targetPatches = targets.pixels ? patchify(targets.pixels, patchSize) : patches; // [B, L, C*p*p]
      return { loss: forwardLoss(model, targetPatches, pred, masks), pred };
    }
    const hidden = decoderHidden(model, latent, masks); // [B, 1+L, Dd]
    const losses = heads.map((head) =>
      featureLoss(model, paramLookup(model), hidden, head.name, targets.features![head.name]!, masks),
    );
    let pred: tf.Tensor | undefined;
    if (model.config.pixelHead !== false) {
      const param = paramLookup(model);
      pred = tf.slice(
        linear(hidden, param('decoder_pred.weight'), param('decoder_pred.bias')),
        [0, 1, 0],
        [-1, -1, -1],
      ); // [B, L, C*p*p]
      losses.unshift(forwardLoss(model, targets.pixels ? patchify(targets.pixels, patchSize) : patches, pred, masks));
    }
    return pred ? { loss: tf.addN(losses) as tf.Scalar, pred } : { loss: tf.addN(losses) as tf.Scalar };
  });
}

/**
 * CA-MAE: self-standardised channel tokens, MSE on the masked tokens, plus the Fourier term
 * between the whole predicted image (every token) and its target when `fourierLossWeight` > 0.
 */
function forwardChannelAgnostic(
  model: MaeModel,
  imgs: tf.Tensor,
  masks: MaskSet,
): { loss: tf.Scalar; pred: tf.Tensor } {
  const { patchSize, inChans, normPixLoss, fourierLossWeight = 0 } = model.config;
  return tf.tidy(() => {
    const tokens = imageTokens(model, imgs); // [B, C*L, p*p]
    const pred = forwardDecoder(model, forwardEncoder(model, tokens, masks), masks); // [B, C*L, p*p], shuffled
    const loss = forwardLoss(model, tokens, pred, masks);
    if (fourierLossWeight === 0) return { loss, pred };
    // [B, C, H, W]
    const target = channelUnpatchify(normPixLoss ? normalisePerPatch(tokens) : tokens, patchSize, inChans);
    const image = channelUnpatchify(unshuffleByMatMul(pred, masks), patchSize, inChans); // [B, C, H, W]
    return { loss: tf.add(loss, tf.mul(fourierLoss(image, target), fourierLossWeight)) as tf.Scalar, pred };
  });
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, i) => size === b[i]);
}

/** Shuffled-order predictions [B, L, C·p·p] → patch order (ids_restore), for previews only. */
export function unshufflePrediction(pred: tf.Tensor, masks: MaskSet): tf.Tensor {
  const { batchSize, numPatches, restore } = masks;
  const patchLength = pred.shape[2]!;
  return tf.tidy(() => {
    const rows = tf.reshape(pred, [batchSize * numPatches, patchLength]); // [B*L, C*p*p]
    const unshuffled = gatherRows(rows, flatIndices(restore, numPatches, numPatches)); // [B*L, C*p*p]
    return tf.reshape(unshuffled, [batchSize, numPatches, patchLength]); // [B, L, C*p*p]
  });
}

/**
 * The same weights at a new image size (e.g. fine-tuning at 384 after pretraining at 224):
 * the fixed sin-cos tables are regenerated, which is exact. (For learned tables loaded from
 * elsewhere use `interpolatePosEmbed`.) The returned model shares `params` with `model`.
 */
export function withImageSize(model: MaeModel, imgSize: number): MaeModel {
  const config = validateMaeConfig({ ...model.config, imgSize });
  return { config, params: model.params, ...positionTables(config) };
}
