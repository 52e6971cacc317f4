import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { tokenCount, validateMaeConfig, type MaeConfig } from './config';
import { groupMask } from './grouped-bands';
import { useCpuBackend } from './mae.fixtures';
import { createMae, disposeModel, forwardMae, paramLookup } from './model';
import { masksForModel } from './model-masks';
import { paramSpecs } from './params';
import { Rng } from './rng';
import { embedAllFrames, framePatches, temporalMasks, timePartWidth, timestampEncoding } from './temporal';

beforeAll(useCpuBackend);

/** Three dates of 16×16 two-band images, 4×4 patches (L = 16). */
const TEMPORAL: MaeConfig = validateMaeConfig({
  imgSize: 16,
  patchSize: 4,
  inChans: 2,
  embedDim: 64,
  depth: 1,
  numHeads: 2,
  decoderEmbedDim: 64,
  decoderDepth: 1,
  decoderNumHeads: 2,
  mlpRatio: 2,
  normPixLoss: true,
  temporal: { frames: 3, sameMask: false },
});

function frames(seed: number, batchSize: number): tf.Tensor4D {
  const rng = Rng.fromSeed(seed);
  const size = batchSize * 3 * 2 * 16 * 16;
  return tf.tensor4d(
    Float32Array.from({ length: size }, () => rng.normal()),
    [batchSize, 6, 16, 16],
  );
}

describe('SatMAE temporal tokens', () => {
  it('makes T × L tokens with one shared patch embedding and head', () => {
    expect(tokenCount(TEMPORAL)).toBe(3 * 16);
    const names = paramSpecs(TEMPORAL).map((spec) => `${spec.name} ${spec.shape.join('×')}`);
    expect(names).toContain('patch_embed.proj.weight 32×64'); // 2 bands × 4 × 4 → 32, per frame
    expect(names).toContain('decoder_pred.weight 64×32');
  });

  it('puts frame t of the stacked channels at tokens t·L … t·L + L − 1', () => {
    const imgs = frames(1, 2);
    const tokens = framePatches(imgs, 3, 4);
    expect(tokens.shape).toEqual([2, 48, 32]);
    const values = tokens.arraySync() as number[][][];
    const pixels = imgs.arraySync() as number[][][][];
    // Frame 1 is channels 2–3: its first token starts with pixel (0, 0) of channel 2.
    expect(values[1]![16]![0]).toBeCloseTo(pixels[1]![2]![0]![0]!, 6);
    // The last token of frame 2 ends with pixel (15, 15) of channel 5.
    expect(values[0]![47]![31]).toBeCloseTo(pixels[0]![5]![15]![15]!, 6);
    tf.dispose([imgs, tokens]);
  });

  it('encodes year, month and hour with three sin-cos parts of an eighth of the width each', () => {
    expect(timePartWidth(1024)).toBe(128); // the reference: 3 × 128 of 1024
    expect(timePartWidth(512)).toBe(64); // the reference decoder: 3 × 64 of 512
    const encoding = timestampEncoding(Float32Array.from([3, 5, 10]), 64);
    expect(encoding).toHaveLength(24);
    // Part 1 (month 5), k = 1 of 4: sin(5 / 10000^(1/4)); its cos half starts 4 later.
    expect(encoding[8 + 1]).toBeCloseTo(Math.sin(5 / 10000 ** 0.25), 6);
    expect(encoding[8 + 4 + 1]).toBeCloseTo(Math.cos(5 / 10000 ** 0.25), 6);
    expect(encoding[16]).toBeCloseTo(Math.sin(10), 6); // hour 10, k = 0
  });

  it('masks each date independently, or every date alike with sameMask', () => {
    const options = { batchSize: 2, gridSide: 4, maskRatio: 0.75 };
    const apart = temporalMasks('random', options, { frames: 3, sameMask: false }, Rng.fromSeed(4));
    const alike = temporalMasks('random', options, { frames: 3, sameMask: true }, Rng.fromSeed(4));
    const counts = [0, 1, 2].map((t) => groupMask(apart, t, 3).reduce((sum, value) => sum + value, 0));
    // One draw over all 3·16 tokens of each sample, as the reference: 36 of 48 hidden per sample,
    // 72 in the batch, the share of each date varying.
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(72);
    expect(new Set(counts).size).toBeGreaterThan(1);
    expect(groupMask(apart, 0, 3)).not.toEqual(groupMask(apart, 1, 3));
    expect(groupMask(alike, 0, 3)).toEqual(groupMask(alike, 2, 3));
  });

  it("has a loss that depends on every frame's pixels and on the dates, and leaks nothing", () => {
    const model = createMae(TEMPORAL, 0);
    const imgs = frames(2, 2);
    const masks = masksForModel(TEMPORAL, 'random', { batchSize: 2, maskRatio: 0.75 }, Rng.fromSeed(3));
    const timestamps = Float32Array.from([0, 0, 10, 1, 5, 10, 2, 11, 10, 0, 3, 9, 0, 6, 9, 1, 2, 9]);
    const loss = (stamps: Float32Array, input: tf.Tensor = imgs): number => {
      const { loss: value } = forwardMae(model, input, masks, { timestamps: stamps });
      const result = value.dataSync()[0]!;
      value.dispose();
      return result;
    };
    const before = tf.memory().numTensors;
    const base = loss(timestamps);
    expect(tf.memory().numTensors).toBe(before);
    expect(Number.isFinite(base)).toBe(true);
    const shifted = timestamps.map((value, index) => (index % 3 === 0 ? value + 5 : value));
    expect(loss(shifted)).not.toBeCloseTo(base, 6);
    const changed = tf.tidy(() => tf.concat([tf.slice(imgs, [0, 0], [-1, 4]), tf.neg(tf.slice(imgs, [0, 4]))], 1));
    expect(loss(timestamps, changed)).not.toBeCloseTo(base, 6);
    expect(() => forwardMae(model, imgs, masks)).toThrow(/needs the timestamps/);
    tf.dispose([imgs, changed]);
    disposeModel(model);
  });

  it('refuses too few frames and narrow tokens, naming the field', () => {
    expect(() => validateMaeConfig({ ...TEMPORAL, temporal: { frames: 1, sameMask: false } })).toThrow(
      /mae.temporal.frames must be a whole number of dates from 2 to 16, got 1/,
    );
    expect(() => validateMaeConfig({ ...TEMPORAL, embedDim: 32 })).toThrow(/at least 64/);
  });
});

describe('SatMAE temporal encoder with every token visible (probes, embeddings, exports)', () => {
  it("reads a single image as a one-date series: its date's encoding changes the tokens", () => {
    const model = createMae(TEMPORAL, 4);
    const series = frames(3, 1); // [1, 3·2, 16, 16]
    const single = tf.slice(series, [0, 2, 0, 0], [1, 2, -1, -1]); // the second date alone
    const dates = Float32Array.from([0, 1, 10, 1, 6, 12, 2, 11, 8]);
    const tokens = embedAllFrames(paramLookup(model), TEMPORAL, series, dates); // [1, 1+3*16, 64]
    const alone = embedAllFrames(paramLookup(model), TEMPORAL, single, dates.slice(3, 6)); // [1, 1+16, 64]
    expect(tokens.shape).toEqual([1, 49, 64]);
    expect(alone.shape).toEqual([1, 17, 64]);
    // the second date's tokens are the same whether it comes alone or with the others
    const within = tf.slice(tokens, [0, 17, 0], [1, 16, -1]).dataSync();
    const apart = tf.slice(alone, [0, 1, 0], [1, 16, -1]).dataSync();
    expect(Math.max(...within.map((value, k) => Math.abs(value - apart[k]!)))).toBeLessThan(1e-6);
    const otherMonth = embedAllFrames(paramLookup(model), TEMPORAL, single, Float32Array.from([1, 0, 12]));
    const moved = tf.slice(otherMonth, [0, 1, 0], [1, 16, -1]).dataSync();
    expect(Math.max(...moved.map((value, k) => Math.abs(value - apart[k]!)))).toBeGreaterThan(0.1);
    expect(() => embedAllFrames(paramLookup(model), TEMPORAL, single, Float32Array.from([1, 0]))).toThrow(
      'temporal encoder expects 1×1×3 timestamps, got 2 values',
    );
    tf.dispose([series, single, tokens, alone, otherMonth]);
    disposeModel(model);
  });
});
