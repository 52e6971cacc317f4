/**
 * SatMAE's temporal MAE (Cong et al. 2022, NeurIPS; their `models_mae_temporal.py`): a sample is
 * T images of one place taken at T dates. Each frame is patchified and embedded by the one shared
 * patch embedding, so a sample is T·L tokens (frame-major: token t·L + l is frame t at patch l).
 * Each token's fixed encoding is the 2-D sin-cos position of its patch (width D − Dt)
 * concatenated with the encoding of its frame's timestamp (width Dt): three 1-D sin-cos
 * encodings of equal width, of the year (counted from the run's first year), the month (0–11)
 * and the hour. The encoder's cls token has no encoding; the decoder's cls row is zero. Masks are
 * drawn per frame (independent across time) or once for all frames (`sameMask`); one head
 * predicts every token's C·p·p pixels and the loss is the mean over the masked tokens of all
 * frames.
 *
 * Independent masking draws over all T·L tokens at once, as the reference (and SatMAE's band
 * groups, `groupedMasks`): the total kept is fixed, the count per frame varies. Deliberate
 * differences from the reference, none visible in the shapes: each timestamp part gets D/8
 * rounded down to a multiple of 8 (the reference fixes 128 of 1024 and 64 of 512 — the same
 * eighth); T is any count ≥ 2 (the reference hard-codes 3); with `sameMask` each frame keeps
 * round(L·(1 − r)) (`keepCount`; the reference int(L·(1 − r)), and its encoder then keeps
 * int(T·L·(1 − r)) tokens, which disagrees with its own per-frame draw unless L·(1 − r) is whole —
 * the two are equal for r = 0.75 on 14×14 and 16×16 grids). Layout only: our head's rows are
 * (c, i, j), the reference's `patchify` (i, j, c) (`oursToOfficial` maps them). Parity: loss and
 * patch-embedding gradient agree with app/handoff/torch/satmae_temporal_model.py (the reference's
 * maths under its names) to 1e-4 — measured 5e-8 and 2e-7 (temporal-state.test.ts).
 *
 * As in masking.ts, the shuffled order puts kept tokens first and masked tokens last (here frame
 * by frame inside each part), so the masked predictions are the decoder's last tokens.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gridSize, type MaeConfig, type TemporalFrames } from './config';
import { groupedMasks } from './grouped-bands';
import { shuffleOrder, type MaskingOptions, type MaskSet, type MaskStrategyName } from './masking';
import { gatherRows, layerNorm, linear, repeatToken, type ParamLookup } from './ops';
import { patchify } from './patchify';
import { get2dSincosPosEmbed, sincos1d } from './posEmbed';
import type { Rng } from './rng';
import { block } from './vit';

/** Values per frame timestamp: years since the run's first year, month − 1 (0–11), hour (0–23). */
export const TIMESTAMP_PARTS = 3;

/** Width of each timestamp part's encoding in a token of `width`: an eighth, a multiple of 8. */
export function timePartWidth(width: number): number {
  return 8 * Math.floor(width / 64);
}

/** The fixed spatial tables [1 + L, D − Dt] and [1 + L, Dd − Ddt] (cls rows zero) the model keeps. */
export function temporalPositionTables(config: MaeConfig): { posEmbed: tf.Tensor2D; decoderPosEmbed: tf.Tensor2D } {
  const { side, numPatches } = gridSize(config);
  const table = (width: number) => {
    const positionWidth = width - TIMESTAMP_PARTS * timePartWidth(width);
    return tf.tensor2d(get2dSincosPosEmbed(positionWidth, side, true), [1 + numPatches, positionWidth]);
  };
  return { posEmbed: table(config.embedDim), decoderPosEmbed: table(config.decoderEmbedDim) };
}

/**
 * Each frame's timestamp encoding: timestamps [B, T, 3] → [B·T, 3·w] flattened, w =
 * `timePartWidth(width)`: [sin-cos(year) | sin-cos(month) | sin-cos(hour)], as the reference.
 */
export function timestampEncoding(timestamps: Float32Array, width: number): Float32Array {
  const partWidth = timePartWidth(width);
  const frames = timestamps.length / TIMESTAMP_PARTS;
  const out = new Float32Array(frames * TIMESTAMP_PARTS * partWidth);
  for (let frame = 0; frame < frames; frame++) {
    for (let part = 0; part < TIMESTAMP_PARTS; part++) {
      const offset = (frame * TIMESTAMP_PARTS + part) * partWidth;
      sincos1d(partWidth, timestamps[frame * TIMESTAMP_PARTS + part]!, out, offset);
    }
  }
  return out;
}

/**
 * The encodings of tokens in the order `tokens` lists them: row k of sample b is
 * [2-D position of patch tokens[b, k] mod L | timestamp of its frame] → [B, K, width].
 * `spatial` is the [1 + L, width − Dt] table (row 0 cls).
 */
function tokenEncodings(
  spatial: Float32Array,
  time: Float32Array,
  tokens: Int32Array,
  batchSize: number,
  frames: number,
  numPatches: number,
  width: number,
): tf.Tensor {
  const timeWidth = TIMESTAMP_PARTS * timePartWidth(width);
  const positionWidth = width - timeWidth;
  const perSample = tokens.length / batchSize;
  const out = new Float32Array(tokens.length * width);
  for (let b = 0; b < batchSize; b++) {
    for (let k = 0; k < perSample; k++) {
      const token = tokens[b * perSample + k]!;
      const frame = Math.floor(token / numPatches);
      const row = (b * perSample + k) * width;
      const patch = token - frame * numPatches;
      out.set(spatial.subarray((1 + patch) * positionWidth, (2 + patch) * positionWidth), row);
      out.set(
        time.subarray((b * frames + frame) * timeWidth, (b * frames + frame + 1) * timeWidth),
        row + positionWidth,
      );
    }
  }
  return tf.tensor3d(out, [batchSize, perSample, width]);
}

/**
 * Masks for T·L tokens: one draw of `strategy` per frame (independent across time) or one shared
 * by every frame (`sameMask`), each frame keeping the same count. The frames are laid out as
 * SatMAE's band groups are (frame-major, kept tokens frame by frame, then masked ones), so
 * grouped-bands.ts draws them.
 */
export function temporalMasks(
  strategy: MaskStrategyName,
  options: MaskingOptions,
  temporal: TemporalFrames,
  rng: Rng,
): MaskSet {
  const frames = Array.from({ length: temporal.frames }, (_, t) => [t]);
  return groupedMasks(strategy, options, { groups: frames, spatialMask: temporal.sameMask }, rng);
}

/** Frames stacked as channels [B, T·C, H, W] → tokens [B, T·L, C·p·p], frame-major. */
export function framePatches(imgs: tf.Tensor, frames: number, patchSize: number): tf.Tensor {
  const [batchSize, channels, height, width] = imgs.shape as [number, number, number, number];
  const perFrame = channels / frames;
  return tf.tidy(() => {
    const stacked = tf.reshape(imgs, [batchSize * frames, perFrame, height, width]); // [B*T, C, H, W]
    const patches = patchify(stacked, patchSize); // [B*T, L, C*p*p]
    return tf.reshape(patches, [batchSize, frames * patches.shape[1]!, patches.shape[2]!]); // [B, T*L, C*p*p]
  });
}

/**
 * Every token of every frame embedded with its encoding, nothing masked (probes, embeddings,
 * exports): frames [B, T·C, H, W] (any T ≥ 1: a single image is a one-date series) and their
 * timestamps [B, T, 3] → [cls; T·L tokens] [B, 1 + T·L, D], ready for the encoder blocks. The cls
 * token gets no encoding, as in the MAE and in the reference's ViT (whose cls row is zero).
 */
export function embedAllFrames(
  param: ParamLookup,
  config: MaeConfig,
  imgs: tf.Tensor,
  timestamps: Float32Array,
): tf.Tensor {
  const [batchSize, channels, height, width] = imgs.shape as [number, number, number, number];
  const frames = channels / config.inChans;
  if (!Number.isInteger(frames) || frames < 1 || height !== config.imgSize || width !== config.imgSize)
    throw new Error(
      `temporal encoder expects frames [B, T·${config.inChans}, ${config.imgSize}, ${config.imgSize}], ` +
        `got [${imgs.shape.join(', ')}]`,
    );
  if (timestamps.length !== batchSize * frames * TIMESTAMP_PARTS)
    throw new Error(`temporal encoder expects ${batchSize}×${frames}×3 timestamps, got ${timestamps.length} values`);
  const { side, numPatches } = gridSize(config);
  const tokens = frames * numPatches;
  const embedDim = config.embedDim;
  const order = new Int32Array(batchSize * tokens).map((_, k) => k % tokens); // every token in order
  const spatial = get2dSincosPosEmbed(embedDim - TIMESTAMP_PARTS * timePartWidth(embedDim), side, true);
  const time = timestampEncoding(timestamps, embedDim);
  return tf.tidy(() => {
    const patches = framePatches(imgs, frames, config.patchSize); // [B, T*L, C*p*p]
    const x = linear(patches, param('patch_embed.proj.weight'), param('patch_embed.proj.bias')); // [B, T*L, D]
    const encoded = tf.add(x, tokenEncodings(spatial, time, order, batchSize, frames, numPatches, embedDim));
    return tf.concat([repeatToken(param('cls_token'), batchSize, 1), encoded], 1); // [B, 1+T*L, D]
  });
}

/** Rows b·T·L + ids[b, i] of a [B·T·L, …] table, for `count` ids per sample. */
function sampleRows(ids: Int32Array, count: number, tokens: number): Int32Array {
  return ids.map((id, k) => Math.floor(k / count) * tokens + id);
}

/** What a temporal forward pass needs besides the weights. */
export interface TemporalInput {
  config: MaeConfig;
  /** Frames stacked as channels [B, T·C, H, W], normalised. */
  imgs: tf.Tensor;
  /** [B, T, 3]: years since the run's first year, month − 1, hour. */
  timestamps: Float32Array;
  masks: MaskSet;
}

/**
 * The temporal MAE's loss: embed the kept tokens of every frame, encode, decode all T·L tokens
 * in shuffled order with their encodings, predict the masked ones' pixels → mean squared error
 * against their (norm-pix) patches. Returns the loss and the masked predictions [B, Tm, C·p·p].
 */
export function forwardTemporal(param: ParamLookup, input: TemporalInput): { loss: tf.Scalar; pred: tf.Tensor } {
  const { config, imgs, timestamps, masks } = input;
  const frames = config.temporal!.frames;
  const { batchSize, numPatches: tokens, numKeep, keep } = masks;
  const { side, numPatches } = gridSize(config);
  const expected = [batchSize, frames * config.inChans, config.imgSize, config.imgSize];
  if (imgs.shape.join() !== expected.join())
    throw new Error(`temporal MAE expects frames [${expected.join(', ')}], got [${imgs.shape.join(', ')}]`);
  if (timestamps.length !== batchSize * frames * TIMESTAMP_PARTS)
    throw new Error(`temporal MAE expects ${batchSize}×${frames}×3 timestamps, got ${timestamps.length} values`);
  if (tokens !== frames * numPatches)
    throw new Error(`masks cover ${tokens} tokens, frames give ${frames * numPatches}`);
  const shuffle = shuffleOrder(masks); // [B, T*L]: kept first, then masked
  const spatial = (width: number) => get2dSincosPosEmbed(width - TIMESTAMP_PARTS * timePartWidth(width), side, true);
  return tf.tidy(() => {
    const patches = framePatches(imgs, frames, config.patchSize); // [B, T*L, C*p*p]
    const patchLength = patches.shape[2]!;
    const rows = tf.reshape(patches, [batchSize * tokens, patchLength]); // [B*T*L, C*p*p]
    // Encoder: the kept patches only, embedded by the one shared projection.
    const visible = tf.reshape(gatherRows(rows, sampleRows(keep, numKeep, tokens)), [batchSize, numKeep, patchLength]);
    let x = linear(visible, param('patch_embed.proj.weight'), param('patch_embed.proj.bias')); // [B, Tkeep, D]
    const width = config.embedDim;
    const encodings = tokenEncodings(
      spatial(width),
      timestampEncoding(timestamps, width),
      keep,
      batchSize,
      frames,
      numPatches,
      width,
    );
    x = tf.add(x, encodings); // [B, Tkeep, D]
    x = tf.concat([repeatToken(param('cls_token'), batchSize, 1), x], 1); // [B, 1+Tkeep, D]
    for (let i = 0; i < config.depth; i++) x = block(x, param, `blocks.${i}`, config.numHeads);
    x = layerNorm(x, param('norm.weight'), param('norm.bias')); // [B, 1+Tkeep, D]

    // Decoder: every token in shuffled order; the cls row's encoding is zero.
    const decoderWidth = config.decoderEmbedDim;
    let y = linear(x, param('decoder_embed.weight'), param('decoder_embed.bias')); // [B, 1+Tkeep, Dd]
    y = tf.concat([y, repeatToken(param('mask_token'), batchSize, tokens - numKeep)], 1); // [B, 1+T*L, Dd]
    const decoderEncodings = tokenEncodings(
      spatial(decoderWidth),
      timestampEncoding(timestamps, decoderWidth),
      shuffle,
      batchSize,
      frames,
      numPatches,
      decoderWidth,
    ); // [B, T*L, Dd]
    y = tf.add(y, tf.concat([tf.zeros([batchSize, 1, decoderWidth]), decoderEncodings], 1)); // [B, 1+T*L, Dd]
    for (let i = 0; i < config.decoderDepth; i++) y = block(y, param, `decoder_blocks.${i}`, config.decoderNumHeads);
    y = layerNorm(y, param('decoder_norm.weight'), param('decoder_norm.bias'));
    const hidden = tf.slice(y, [0, 1 + numKeep, 0], [-1, -1, -1]); // [B, Tm, Dd], masked tokens
    const pred = linear(hidden, param('decoder_pred.weight'), param('decoder_pred.bias')); // [B, Tm, C*p*p]

    // Targets: the masked tokens' patches, in the same shuffled order, normalised per patch.
    const masked = shuffle.filter((_, k) => k % tokens >= numKeep);
    let target = tf.reshape(gatherRows(rows, sampleRows(masked, tokens - numKeep, tokens)), [
      batchSize,
      tokens - numKeep,
      patchLength,
    ]); // [B, Tm, C*p*p]
    if (config.normPixLoss) {
      const { mean, variance } = tf.moments(target, -1, true);
      const unbiased = tf.mul(variance, patchLength / Math.max(1, patchLength - 1));
      target = tf.div(tf.sub(target, mean), tf.sqrt(tf.add(unbiased, 1e-6)));
    }
    // Every sample masks the same count, so the mean equals the reference's (loss·mask).sum()/mask.sum().
    return { loss: tf.mean(tf.squaredDifference(pred, target)) as tf.Scalar, pred };
  });
}
