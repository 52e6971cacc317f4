/**
 * Grouped-band tokens (SatMAE, Cong et al. 2022, `models_mae_group_channels.py`): the bands of a
 * multispectral image are split into groups; each group has its own patch embedding, so an image
 * becomes G·L tokens (group-major: token g·L + l is group g at patch l). Each token's fixed
 * encoding is the 2-D sin-cos position (width D − Dg) concatenated with a 1-D sin-cos encoding of
 * its group (width Dg); the decoder's table has one more group row, for its cls token. Masks
 * are drawn as the reference's: independent, one random permutation over all G·L tokens per
 * image keeping int(G·L·(1 − r)), so each group hides a count that varies from image to image;
 * or once for all groups (`spatialMask`). Each group has its own prediction head, and the loss is
 * the mean over the masked tokens of every group.
 *
 * With norm-pix loss the target is normalised over the whole patch (every band the groups
 * hold), as the reference's `forward_loss`. Given the same weights, images and mask, loss and
 * gradients equal those of a PyTorch re-implementation under the reference's names
 * (app/handoff/torch/satmae_model.py; satmae-state.test.ts measures it).
 *
 * Deliberate differences from the reference: the group width is D/4 rounded
 * down to a multiple of 4, where the reference takes it as an argument (256 of its 768 and 1024,
 * 128 of 512 for the decoder); each head is scored on its own bands, where the reference compares
 * its heads' outputs, concatenated in group order, with the target in band order (the same when
 * the groups list the bands in order and cover them all; otherwise a head is scored on other
 * bands); bands in no group are not seen at all (the reference needs every band in a group).
 *
 * As in masking.ts, the shuffled order puts kept tokens first and masked tokens last; the loss
 * reads the masked part with one fixed-shape slice (no scatter, every backend).
 */
import * as tf from '@tensorflow/tfjs-core';
import { gridSize, type GroupedBands, type MaeConfig } from './config';
import {
  keepCount,
  makeMasks,
  masksFromScores,
  shuffleOrder,
  type MaskingOptions,
  type MaskSet,
  type MaskStrategyName,
} from './masking';
import { gatherRows, linear, type ParamLookup } from './ops';
import { get1dSincosEmbed, get2dSincosPosEmbed } from './posEmbed';
import type { Rng } from './rng';

/**
 * Width of the group encoding in a token of `width`: a quarter, a multiple of 4 (so the position
 * part stays divisible by 4).
 */
export function groupEmbedWidth(width: number): number {
  return 4 * Math.floor(width / 16);
}

/**
 * The fixed encoder and decoder tables [1 + G·L, width] flattened: row 1 + g·L + l is
 * [2-D position of patch l (width − Dg) | group g (Dg)]. The encoder's cls row is zero; the
 * decoder's is [0 | group G], the extra group SatMAE reserves for it.
 */
export function groupedPositionTables(config: MaeConfig): { posEmbed: tf.Tensor2D; decoderPosEmbed: tf.Tensor2D } {
  const numGroups = config.groupedBands!.groups.length;
  const table = (width: number, clsGroup: boolean): tf.Tensor2D => {
    const { side, numPatches } = gridSize(config);
    const groupWidth = groupEmbedWidth(width);
    const positionWidth = width - groupWidth;
    const positions = get2dSincosPosEmbed(positionWidth, side, true); // [1+L, width-Dg]
    const groups = get1dSincosEmbed(groupWidth, numGroups + 1); // [G+1, Dg]
    const out = new Float32Array((1 + numGroups * numPatches) * width);
    if (clsGroup) out.set(groups.subarray(numGroups * groupWidth), positionWidth);
    for (let g = 0; g < numGroups; g++) {
      for (let l = 0; l < numPatches; l++) {
        const row = (1 + g * numPatches + l) * width;
        out.set(positions.subarray((1 + l) * positionWidth, (2 + l) * positionWidth), row);
        out.set(groups.subarray(g * groupWidth, (g + 1) * groupWidth), row + positionWidth);
      }
    }
    return tf.tensor2d(out, [1 + numGroups * numPatches, width]);
  };
  return { posEmbed: table(config.embedDim, false), decoderPosEmbed: table(config.decoderEmbedDim, true) };
}

/** Columns of a group's bands in patches [B, L, C·p·p] (layout (c, i, j)) → [B, L, c_g·p·p]. */
function groupColumns(patches: tf.Tensor, group: readonly number[], patchSize: number): tf.Tensor {
  const area = patchSize * patchSize;
  const parts = group.map((band) => tf.slice(patches, [0, 0, band * area], [-1, -1, area]));
  return parts.length === 1 ? parts[0]! : tf.concat(parts, 2);
}

/** Every group's tokens, group-major: patches [B, L, C·p·p] → [B, G·L, D] (positions not added). */
export function embedGroupTokens(param: ParamLookup, config: MaeConfig, patches: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const tokens = config.groupedBands!.groups.map((group, g) =>
      linear(
        groupColumns(patches, group, config.patchSize),
        param(`patch_embed.${g}.proj.weight`),
        param(`patch_embed.${g}.proj.bias`),
      ),
    ); // G × [B, L, D]
    return tokens.length === 1 ? tokens[0]! : tf.concat(tokens, 1);
  });
}

/**
 * The encoder's visible tokens, embedded: patches [B, L, C·p·p] and masks over G·L tokens →
 * [B, Lkeep, D] in the masks' kept order (positions not added). Only constants are gathered: each
 * group's band columns at the kept tokens' locations go through that group's embedding, and a 0/1
 * weight keeps each token's own group, so no gather sits on the gradient's path (its gradient is
 * a scatter that wasm lacks and the cpu kernel runs in time rows × output: 10 s a step at 64 px).
 * The same values as embedding all G·L tokens and gathering the kept ones (`embedGroupTokens`).
 */
export function embedKeptGroupTokens(
  param: ParamLookup,
  config: MaeConfig,
  patches: tf.Tensor,
  masks: MaskSet,
): tf.Tensor {
  const { groups } = config.groupedBands!;
  const { batchSize, numKeep, keep } = masks;
  const numPatches = masks.numPatches / groups.length;
  const rows = new Int32Array(batchSize * numKeep); // each kept token's patch, row of [B·L]
  const owner = new Int32Array(batchSize * numKeep); // and its group
  for (let k = 0; k < keep.length; k++) {
    const token = keep[k]!;
    rows[k] = Math.floor(k / numKeep) * numPatches + (token % numPatches);
    owner[k] = Math.floor(token / numPatches);
  }
  return tf.tidy(() => {
    const embedded = groups.map((group, g) => {
      const columns = groupColumns(patches, group, config.patchSize); // [B, L, c_g*p*p]
      const width = columns.shape[2]!;
      const visible = gatherRows(tf.reshape(columns, [batchSize * numPatches, width]), rows); // [B*Lkeep, c_g*p*p]
      const tokens = linear(visible, param(`patch_embed.${g}.proj.weight`), param(`patch_embed.${g}.proj.bias`));
      if (groups.length === 1) return tokens; // [B*Lkeep, D]
      const weight = tf.tensor2d(
        Float32Array.from(owner, (o) => (o === g ? 1 : 0)),
        [batchSize * numKeep, 1],
      );
      return tf.mul(tokens, weight); // [B*Lkeep, D], zero where the token is another group's
    });
    const sum = embedded.length === 1 ? embedded[0]! : tf.addN(embedded);
    return tf.reshape(sum, [batchSize, numKeep, config.embedDim]); // [B, Lkeep, D]
  });
}

/**
 * Visible tokens per image out of G·L: with `spatialMask`, G times the plain MAE's count over the
 * L locations; else SatMAE's `random_masking` over all G·L tokens at once, int(G·L·(1 − r))
 * (at least 1, at most G·L − 1), the same total for every image however the groups share it.
 */
export function groupedKeepCount(grouped: GroupedBands, numPatches: number, maskRatio: number): number {
  const numGroups = grouped.groups.length;
  if (grouped.spatialMask) return numGroups * keepCount(numPatches, maskRatio);
  if (!(maskRatio > 0 && maskRatio < 1)) throw new Error(`maskRatio must be in (0, 1), got ${maskRatio}`);
  const tokens = numGroups * numPatches;
  return Math.min(tokens - 1, Math.max(1, Math.floor(tokens * (1 - maskRatio))));
}

/**
 * Masks for G·L tokens from given noise, as SatMAE's `random_masking` (the lowest noise is kept):
 * `noise` holds one row per image, of G·L values (independent, token g·L + l) or of L values
 * (`spatialMask`, one draw for the locations, every group masked alike).
 */
export function groupedMasksFromNoise(
  noise: readonly Float64Array[],
  grouped: GroupedBands,
  numPatches: number,
  maskRatio: number,
): MaskSet {
  const numGroups = grouped.groups.length;
  const length = grouped.spatialMask ? numPatches : numGroups * numPatches;
  for (const [b, row] of noise.entries()) {
    if (row.length !== length)
      throw new Error(`mask noise of image ${b} must hold ${length} values (tokens drawn over), got ${row.length}`);
  }
  if (!grouped.spatialMask)
    return masksFromScores([...noise], length, groupedKeepCount(grouped, numPatches, maskRatio));
  return spreadOverGroups(masksFromScores([...noise], numPatches, keepCount(numPatches, maskRatio)), numGroups);
}

/**
 * Masks for G·L tokens. Independent (the default): `random` is SatMAE's draw, one permutation over
 * all G·L tokens per image keeping int(G·L·(1 − r)), so the count per group varies from image to
 * image; `block` and `noise` (not in SatMAE) draw per group and the G·L tokens are then ranked
 * together to keep the same total. `spatialMask`: one draw over the L locations, every group alike.
 */
export function groupedMasks(
  strategy: MaskStrategyName,
  options: MaskingOptions,
  grouped: GroupedBands,
  rng: Rng,
): MaskSet {
  const numGroups = grouped.groups.length;
  const numPatches = options.gridSide * options.gridSide;
  if (grouped.spatialMask) return spreadOverGroups(makeMasks(strategy, options, rng), numGroups);
  const tokens = numGroups * numPatches;
  const numKeep = groupedKeepCount(grouped, numPatches, options.maskRatio);
  if (strategy === 'random') {
    const noise = Array.from({ length: options.batchSize }, () =>
      Float64Array.from({ length: tokens }, () => rng.uniform()),
    );
    return masksFromScores(noise, tokens, numKeep);
  }
  // sample b·G + g; a token's rank in its group's draw, ties between groups broken at random
  const perGroup = makeMasks(strategy, { ...options, batchSize: options.batchSize * numGroups }, rng);
  const scores = Array.from({ length: options.batchSize }, (_, b) =>
    Float64Array.from(
      { length: tokens },
      (_, token) => perGroup.restore[b * tokens + token]! + rng.uniform(), // b·G·L + g·L + l
    ),
  );
  return masksFromScores(scores, tokens, numKeep);
}

/** One mask over L locations → the same mask for each of G groups (G·L tokens, group-major). */
function spreadOverGroups(masks: MaskSet, numGroups: number): MaskSet {
  const { batchSize, numPatches } = masks;
  const tokens = numGroups * numPatches;
  // a location's rank in the draw; every group of a kept location is kept, ordered by group
  const scores = Array.from({ length: batchSize }, (_, b) =>
    Float64Array.from({ length: tokens }, (_, token) => masks.restore[b * numPatches + (token % numPatches)]!),
  );
  return masksFromScores(scores, tokens, numGroups * masks.numKeep);
}

/** Group g's [B, L] mask (1 = masked) out of grouped masks over G·L tokens. */
export function groupMask(masks: MaskSet, group: number, numGroups: number): Uint8Array {
  const numPatches = masks.numPatches / numGroups;
  const out = new Uint8Array(masks.batchSize * numPatches);
  for (let b = 0; b < masks.batchSize; b++)
    out.set(
      masks.mask.subarray(b * masks.numPatches + group * numPatches, b * masks.numPatches + (group + 1) * numPatches),
      b * numPatches,
    );
  return out;
}

/**
 * The grouped loss: hidden [B, 1 + G·L, Dd] (decoder output, shuffled order, cls first) and the
 * target patches [B, L, C·p·p] → SatMAE's `forward_loss`: each masked token's mean squared error
 * on its group's bands (by its group's head), summed over every masked token and divided by their
 * count. The count per group varies from image to image, so every head reads all B·(G·L − Lkeep)
 * masked tokens and a 0/1 weight keeps those of its group (fixed shapes on every backend).
 */
export function groupedLoss(
  param: ParamLookup,
  config: MaeConfig,
  hidden: tf.Tensor,
  patches: tf.Tensor,
  masks: MaskSet,
): tf.Scalar {
  const { groups } = config.groupedBands!;
  const { batchSize, numKeep } = masks;
  const numPatches = masks.numPatches / groups.length;
  const numMasked = masks.numPatches - numKeep;
  const shuffle = shuffleOrder(masks);
  const rows = new Int32Array(batchSize * numMasked); // each masked token's patch, row of [B·L]
  const owner = new Int32Array(batchSize * numMasked); // and its group
  for (let b = 0; b < batchSize; b++) {
    for (let i = 0; i < numMasked; i++) {
      const token = shuffle[b * masks.numPatches + numKeep + i]!;
      rows[b * numMasked + i] = b * numPatches + (token % numPatches);
      owner[b * numMasked + i] = Math.floor(token / numPatches);
    }
  }
  return tf.tidy(() => {
    const source = config.normPixLoss ? normaliseWholePatch(patches, groups, config.patchSize) : patches;
    const masked = tf.slice(hidden, [0, 1 + numKeep, 0], [-1, numMasked, -1]); // [B, M, Dd]
    const sums = groups.map((group, g) => {
      // [B, M, c_g*p*p]
      const pred = linear(masked, param(`decoder_pred.${g}.weight`), param(`decoder_pred.${g}.bias`));
      const columns = groupColumns(source, group, config.patchSize); // [B, L, c_g*p*p]
      const width = columns.shape[2]!;
      const target = tf.reshape(gatherRows(tf.reshape(columns, [batchSize * numPatches, width]), rows), [
        batchSize,
        numMasked,
        width,
      ]); // [B, M, c_g*p*p]
      const perToken = tf.mean(tf.squaredDifference(pred, target), -1); // [B, M]
      const weight = tf.tensor2d(
        Float32Array.from(owner, (o) => (o === g ? 1 : 0)),
        [batchSize, numMasked],
      );
      return tf.sum(tf.mul(perToken, weight));
    });
    return tf.div(tf.addN(sums), batchSize * numMasked) as tf.Scalar;
  });
}

/**
 * Patches [B, L, C·p·p] normalised by each patch's mean and unbiased variance (eps 1e-6) over
 * the values of every band the groups hold — the reference's norm-pix target, one per patch
 * for all its groups. Bands in no group are transformed too but never read.
 */
function normaliseWholePatch(patches: tf.Tensor, groups: readonly (readonly number[])[], patchSize: number): tf.Tensor {
  return tf.tidy(() => {
    const seen = groupColumns(patches, [...groups.flat()], patchSize); // [B, L, S*p*p]
    const width = seen.shape[2]!;
    const { mean, variance } = tf.moments(seen, -1, true);
    const unbiased = tf.mul(variance, width / Math.max(1, width - 1));
    return tf.div(tf.sub(patches, mean), tf.sqrt(tf.add(unbiased, 1e-6)));
  });
}
