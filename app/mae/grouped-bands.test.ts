import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateMaeConfig, type MaeConfig } from './config';
import { tokenCount } from './config';
import { groupedMasks, groupedMasksFromNoise, groupEmbedWidth, groupMask } from './grouped-bands';
import { useCpuBackend } from './mae.fixtures';
import { makeMasks } from './masking';
import { createMae, disposeModel, embedAllPatches, forwardEncoder, forwardMae } from './model';
import { paramSpecs } from './params';
import { patchify } from './patchify';
import { get1dSincosEmbed, get2dSincosPosEmbed } from './posEmbed';
import { Rng } from './rng';

beforeAll(useCpuBackend);

/** 16×16 six-band images, 4×4 patches (L = 16), three groups of two bands. */
const GROUPED: MaeConfig = validateMaeConfig({
  imgSize: 16,
  patchSize: 4,
  inChans: 6,
  embedDim: 32,
  depth: 1,
  numHeads: 2,
  decoderEmbedDim: 32,
  decoderDepth: 1,
  decoderNumHeads: 2,
  mlpRatio: 2,
  normPixLoss: true,
  groupedBands: {
    groups: [
      [0, 1],
      [2, 3],
      [4, 5],
    ],
    spatialMask: false,
  },
});

function images(seed: number, batchSize: number): tf.Tensor4D {
  const rng = Rng.fromSeed(seed);
  return tf.tensor4d(
    Float32Array.from({ length: batchSize * 6 * 16 * 16 }, () => rng.normal()),
    [batchSize, 6, 16, 16],
  );
}

describe('grouped-band tokens (SatMAE)', () => {
  it('makes G × L tokens, each group with its own patch embedding and prediction head', () => {
    expect(tokenCount(GROUPED)).toBe(3 * 16);
    const names = paramSpecs(GROUPED).map((spec) => `${spec.name} ${spec.shape.join('×')}`);
    expect(names).toContain('patch_embed.0.proj.weight 32×32'); // 2 bands × 4 × 4 → 32
    expect(names).toContain('decoder_pred.2.weight 32×32');
    expect(names.some((name) => name.startsWith('patch_embed.proj.'))).toBe(false);
    const model = createMae(GROUPED, 0);
    const imgs = images(1, 2);
    const all = embedAllPatches(model, imgs);
    expect(all.shape).toEqual([2, 1 + 3 * 16, 32]);
    const masks = groupedMasks(
      'random',
      { batchSize: 2, gridSide: 4, maskRatio: 0.75 },
      GROUPED.groupedBands!,
      Rng.fromSeed(2),
    );
    expect([masks.numPatches, masks.numKeep]).toEqual([48, 12]);
    const latent = forwardEncoder(model, patchify(imgs, 4), masks);
    expect(latent.shape).toEqual([2, 1 + 12, 32]);
    tf.dispose([all, imgs, latent]);
    disposeModel(model);
  });

  it('concatenates a fixed sin-cos group encoding to the spatial one', () => {
    const model = createMae(GROUPED, 0);
    const groupWidth = groupEmbedWidth(32);
    expect(groupWidth).toBe(8);
    const positions = get2dSincosPosEmbed(32 - groupWidth, 4, true);
    const groups = get1dSincosEmbed(groupWidth, 4);
    const table = model.posEmbed.arraySync();
    const decoderTable = model.decoderPosEmbed.arraySync();
    expect(table).toHaveLength(1 + 48);
    expect(table[0]!.every((value) => value === 0)).toBe(true);
    for (const [g, l] of [
      [0, 0],
      [1, 5],
      [2, 15],
    ] as const) {
      const row = table[1 + g * 16 + l]!;
      expect(row.slice(0, 24)).toEqual(Array.from(positions.subarray((1 + l) * 24, (2 + l) * 24)));
      expect(row.slice(24)).toEqual(Array.from(groups.subarray(g * 8, (g + 1) * 8)));
    }
    // Same patch in two groups: same position part, different group part.
    expect(table[1 + 3]!.slice(0, 24)).toEqual(table[1 + 16 + 3]!.slice(0, 24));
    expect(table[1 + 3]!.slice(24)).not.toEqual(table[1 + 16 + 3]!.slice(24));
    // The decoder's cls row carries the extra group (G), as SatMAE's decoder_channel_embed.
    expect(decoderTable[0]!.slice(24)).toEqual(Array.from(groups.subarray(3 * 8, 4 * 8)));
    // Fixed: not a trainable parameter.
    expect(paramSpecs(GROUPED).some((spec) => /pos_embed|channel/.test(spec.name))).toBe(false);
    disposeModel(model);
  });

  it("masks as SatMAE: one draw over all G·L tokens (the total fixed, each group's count varying), or shared", () => {
    const options = { batchSize: 4, gridSide: 4, maskRatio: 0.75 };
    const grouped = { groups: GROUPED.groupedBands!.groups, spatialMask: false };
    const counts = new Set<string>();
    for (let seed = 0; seed < 8; seed++) {
      const independent = groupedMasks('random', options, grouped, Rng.fromSeed(seed));
      expect([independent.numPatches, independent.numKeep]).toEqual([48, 12]); // int(3·16·0.25)
      const perGroup = [0, 1, 2].map((g) => groupMask(independent, g, 3));
      for (let b = 0; b < 4; b++) {
        const hidden = perGroup.map((mask) => mask.subarray(b * 16, (b + 1) * 16).reduce((a, v) => a + v, 0));
        expect(hidden.reduce((a, v) => a + v)).toBe(36); // 48 − 12 in every image
        counts.add(hidden.join(','));
        // keep lists exactly the unmasked tokens
        const kept = Array.from(independent.keep.subarray(b * 12, (b + 1) * 12));
        expect(kept.every((token) => independent.mask[b * 48 + token] === 0)).toBe(true);
      }
      // deterministic for a seed
      expect(groupedMasks('random', options, grouped, Rng.fromSeed(seed))).toEqual(independent);
    }
    // 32 images: the split of the 36 hidden tokens between the groups is not always 12/12/12
    expect(counts.size).toBeGreaterThan(3);
    // SatMAE's int(): 3·16·(1 − 0.7) = 14.4 keeps 14, where each group rounding its own 4.8 would keep 15
    expect(groupedMasks('random', { ...options, maskRatio: 0.7 }, grouped, Rng.fromSeed(1)).numKeep).toBe(14);
    // block (not in SatMAE): drawn per group, then one total for all groups as well
    const block = groupedMasks('block', { ...options, maskRatio: 0.7 }, grouped, Rng.fromSeed(3));
    expect(block.numKeep).toBe(14);
    for (let b = 0; b < 4; b++) expect(block.mask.subarray(b * 48, (b + 1) * 48).reduce((a, v) => a + v, 0)).toBe(34);
    const spatial = groupedMasks('block', options, { ...grouped, spatialMask: true }, Rng.fromSeed(5));
    const shared = [0, 1, 2].map((g) => groupMask(spatial, g, 3));
    expect(shared[1]).toEqual(shared[0]);
    expect(shared[2]).toEqual(shared[0]);
    expect(shared[0]).toEqual(makeMasks('block', options, Rng.fromSeed(5)).mask); // the strategy's own draw
    expect(spatial.numKeep).toBe(12);
  });

  it('draws from given noise as random_masking: the lowest G·L·(1 − r) noise values are kept', () => {
    const grouped = { groups: GROUPED.groupedBands!.groups, spatialMask: false };
    const noise = [Float64Array.from({ length: 48 }, (_, token) => (token * 37) % 48)];
    const masks = groupedMasksFromNoise(noise, grouped, 16, 0.75);
    expect(Array.from(masks.keep)).toEqual(
      Array.from({ length: 12 }, (_, rank) =>
        Array.from({ length: 48 }, (_, t) => t).find((t) => (t * 37) % 48 === rank),
      ),
    );
    expect(() => groupedMasksFromNoise(noise, { ...grouped, spatialMask: true }, 16, 0.75)).toThrow(
      'mask noise of image 0 must hold 16 values (tokens drawn over), got 48',
    );
  });

  it('trains: the loss is finite and falls over 30 steps on six-band images', () => {
    const model = createMae({ ...GROUPED, normPixLoss: false }, 3);
    const variables = [...model.params.values()];
    const optimizer = tf.train.adam(3e-3);
    // Structured six-band images: smooth gradients whose direction differs per group.
    const rng = Rng.fromSeed(9);
    const data = new Float32Array(8 * 6 * 16 * 16);
    for (let b = 0; b < 8; b++) {
      const phase = rng.uniform() * 6;
      for (let c = 0; c < 6; c++)
        for (let y = 0; y < 16; y++)
          for (let x = 0; x < 16; x++) {
            data[((b * 6 + c) * 16 + y) * 16 + x] = Math.sin(phase + (c < 2 ? x : c < 4 ? y : x + y) / 4) * (1 + c / 6);
          }
    }
    const imgs = tf.tensor4d(data, [8, 6, 16, 16]);
    const losses: number[] = [];
    const maskRng = Rng.fromSeed(4);
    for (let step = 0; step < 30; step++) {
      const masks = groupedMasks(
        'random',
        { batchSize: 8, gridSide: 4, maskRatio: 0.75 },
        GROUPED.groupedBands!,
        maskRng,
      );
      const loss = optimizer.minimize(() => forwardMae(model, imgs, masks).loss, true, variables)!;
      losses.push(loss.dataSync()[0]!);
      loss.dispose();
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    const mean = (values: number[]): number => values.reduce((a, b) => a + b) / values.length;
    expect(mean(losses.slice(-5))).toBeLessThan(0.7 * mean(losses.slice(0, 3)));
    imgs.dispose();
    optimizer.dispose();
    disposeModel(model);
  });

  it('refuses groups that name a band out of range, twice, or none', () => {
    const base = { ...GROUPED };
    expect(() => validateMaeConfig({ ...base, groupedBands: { groups: [[0, 6]], spatialMask: false } })).toThrow(
      'mae.groupedBands[0] must hold band indices 0..5, got 6',
    );
    expect(() => validateMaeConfig({ ...base, groupedBands: { groups: [[0, 1], [1]], spatialMask: false } })).toThrow(
      'mae.groupedBands[1] names band 1 already in group 0',
    );
    expect(() => validateMaeConfig({ ...base, groupedBands: { groups: [[0], []], spatialMask: false } })).toThrow(
      'mae.groupedBands[1] must name at least one band, got []',
    );
    expect(() => validateMaeConfig({ ...base, groupedBands: { groups: [], spatialMask: false } })).toThrow(
      'mae.groupedBands must list at least one group',
    );
  });
});
