/**
 * Grouped-band tokens (SatMAE, Cong et al. 2022, `models_mae_group_channels.py`): the bands of a
 * multispectral image are split into groups; each group has its own patch embedding, so an image
 * becomes G·L tokens (group-major: token g·L + l is group g at patch l). Each token's fixed
 * encoding is the 2-D sin-cos position (width D − Dg) concatenated with a 1-D sin-cos encoding of
 * its group (width Dg); the decoder's table has one more group row, for its cls token. Masks
 * are drawn per group (independent, each group the same ratio) or once for all groups
 * (`spatialMask`); each group has its own prediction head, and the loss is the mean over the
 * masked tokens of every group.
 *
 * With norm-pix loss the target is normalised over the whole patch (every band the groups
 * hold), as the reference's `forward_loss`. Given the same weights, images and mask, loss and
 * gradients equal those of a PyTorch re-implementation under the reference's names
 * (app/handoff/torch/satmae_model.py; satmae-state.test.ts measures it).
 *
 * Deliberate differences from the reference: independent masking keeps the same count in every
 * group (the reference draws Lkeep·G tokens over all groups, so the count per group varies: the
 * same loss for a given mask, another distribution of masks); the group width is D/4 rounded
 * down to a multiple of 4, where the reference takes it as an argument (256 of its 768 and 1024,
 * 128 of 512 for the decoder); each head is scored on its own bands, where the reference compares
 * its heads' outputs, concatenated in group order, with the target in band order (the same when
 * the groups list the bands in order and cover them all; otherwise a head is scored on other
 * bands); bands in no group are not seen at all (the reference needs every band in a group).
 *
 * As in masking.ts, the shuffled order puts kept tokens first and masked tokens last, here
 * sorted by group inside each part, so the masked tokens of group g are one contiguous slice of
 * the decoder's output and every head reads a slice (no scatter, every backend).
 */
import * as tf from '@tensorflow/tfjs-core';
import { gridSize, type GroupedBands, type MaeConfig } from './config';
import { makeMasks, shuffleOrder, type MaskingOptions, type MaskSet, type MaskStrategyName } from './masking';
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
 * Masks for G·L tokens: one draw of `strategy` per group (independent) or one shared by all
 * groups (`spatialMask`), each group keeping the same count. Shuffled order: kept tokens
 * group by group, then masked tokens group by group.
 */
export function groupedMasks(
  strategy: MaskStrategyName,
  options: MaskingOptions,
  grouped: GroupedBands,
  rng: Rng,
): MaskSet {
  const numGroups = grouped.groups.length;
  const first = makeMasks(strategy, options, rng);
  const perGroup = Array.from({ length: numGroups }, (_, g) =>
    g === 0 || grouped.spatialMask ? first : makeMasks(strategy, options, rng),
  );
  const { batchSize, numPatches, numKeep } = first;
  const numMasked = numPatches - numKeep;
  const tokens = numGroups * numPatches;
  const keep = new Int32Array(batchSize * numGroups * numKeep);
  const restore = new Int32Array(batchSize * tokens);
  const mask = new Uint8Array(batchSize * tokens);
  perGroup.forEach((masks, g) => {
    const shuffle = shuffleOrder(masks);
    for (let b = 0; b < batchSize; b++) {
      for (let i = 0; i < numPatches; i++) {
        const token = g * numPatches + shuffle[b * numPatches + i]!;
        const position = i < numKeep ? g * numKeep + i : numGroups * numKeep + g * numMasked + (i - numKeep);
        restore[b * tokens + token] = position;
        mask[b * tokens + token] = i < numKeep ? 0 : 1;
        if (i < numKeep) keep[b * numGroups * numKeep + position] = token;
      }
    }
  });
  return { batchSize, numPatches: tokens, numKeep: numGroups * numKeep, keep, restore, mask };
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
 * target patches [B, L, C·p·p] → mean over groups of each head's MSE on its masked tokens.
 * Every group masks the same count, so this equals SatMAE's sum over masked tokens / their count.
 */
export function groupedLoss(
  param: ParamLookup,
  config: MaeConfig,
  hidden: tf.Tensor,
  patches: tf.Tensor,
  masks: MaskSet,
): tf.Scalar {
  const { groups } = config.groupedBands!;
  const { batchSize } = masks;
  const numPatches = masks.numPatches / groups.length;
  const numKeep = masks.numKeep / groups.length;
  const numMasked = numPatches - numKeep;
  const shuffle = shuffleOrder(masks);
  return tf.tidy(() => {
    const source = config.normPixLoss ? normaliseWholePatch(patches, groups, config.patchSize) : patches;
    const losses = groups.map((group, g) => {
      const start = 1 + masks.numKeep + g * numMasked;
      const pred = linear(
        tf.slice(hidden, [0, start, 0], [-1, numMasked, -1]),
        param(`decoder_pred.${g}.weight`),
        param(`decoder_pred.${g}.bias`),
      ); // [B, Lm, c_g*p*p]
      const columns = groupColumns(source, group, config.patchSize); // [B, L, c_g*p*p]
      const width = columns.shape[2]!;
      const rows = new Int32Array(batchSize * numMasked);
      for (let b = 0; b < batchSize; b++) {
        for (let i = 0; i < numMasked; i++)
          rows[b * numMasked + i] = b * numPatches + shuffle[b * masks.numPatches + start - 1 + i]! - g * numPatches;
      }
      const target = tf.reshape(gatherRows(tf.reshape(columns, [batchSize * numPatches, width]), rows), [
        batchSize,
        numMasked,
        width,
      ]); // [B, Lm, c_g*p*p]
      return tf.mean(tf.squaredDifference(pred, target));
    });
    return tf.div(tf.addN(losses), groups.length) as tf.Scalar;
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
