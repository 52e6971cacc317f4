import { spawnSync } from 'node:child_process';
import { runTorch, torchPython as python } from '../torch-python.fixtures';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateMaeConfig, type MaeConfig } from '../config';
import type { MaskSet } from '../masking';
import { createMae, disposeModel, forwardEncoder, forwardMae } from '../model';
import { patchify } from '../patchify';
import { useCpuBackend } from '../mae.fixtures';
import { loadInitWeights } from './init';

interface Expected {
  config: {
    img: number;
    patch: number;
    chans: number;
    dim: number;
    depth: number;
    heads: number;
    dec_dim: number;
    dec_depth: number;
    dec_heads: number;
    mlp: number;
  };
  maskRatio: number;
  imgs: number[];
  idsShuffle: number[];
  loss: number;
  features: number[];
  grey: number[];
  greyFeatures: number[];
}

let dir = '';
let expected: Expected;

function configFor(channels: number): MaeConfig {
  const c = expected.config;
  return validateMaeConfig({
    imgSize: c.img,
    patchSize: c.patch,
    inChans: channels,
    embedDim: c.dim,
    depth: c.depth,
    numHeads: c.heads,
    decoderEmbedDim: c.dec_dim,
    decoderDepth: c.dec_depth,
    decoderNumHeads: c.dec_heads,
    mlpRatio: c.mlp,
    normPixLoss: true,
  });
}

/** The reference mask from ids_shuffle: keep the first Lkeep, restore = argsort. */
function maskFromShuffle(ids: number[], batchSize: number, numPatches: number, numKeep: number): MaskSet {
  const keep = new Int32Array(batchSize * numKeep);
  const restore = new Int32Array(batchSize * numPatches);
  const mask = new Uint8Array(batchSize * numPatches);
  for (let b = 0; b < batchSize; b++) {
    for (let i = 0; i < numPatches; i++) {
      const patch = ids[b * numPatches + i]!;
      restore[b * numPatches + patch] = i;
      mask[b * numPatches + patch] = i < numKeep ? 0 : 1;
      if (i < numKeep) keep[b * numKeep + i] = patch;
    }
  }
  return { batchSize, numPatches, numKeep, keep, restore, mask };
}

/** Every patch visible, in order: the encoder as a feature extractor. */
function allVisible(batchSize: number, numPatches: number): MaskSet {
  const identity = Int32Array.from({ length: batchSize * numPatches }, (_, k) => k % numPatches);
  return {
    batchSize,
    numPatches,
    numKeep: numPatches,
    keep: identity,
    restore: identity.slice(),
    mask: new Uint8Array(batchSize * numPatches),
  };
}

function maxRelativeError(actual: ArrayLike<number>, wanted: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < wanted.length; i++)
    worst = Math.max(worst, Math.abs(actual[i]! - wanted[i]!) / Math.max(1, Math.abs(wanted[i]!)));
  return worst;
}

describe.skipIf(!runTorch)('loadInitWeights (fixtures written by PyTorch)', () => {
  beforeAll(async () => {
    await useCpuBackend();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-init-'));
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'torch-fixtures.py');
    const run = spawnSync(python ?? 'python3', [script, dir], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`fixture generator failed (install python3-torch): ${run.stderr}`);
    expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Expected;
  }, 60_000);

  it('reads an official *_full.pth without running its pickle and reproduces the torch loss', () => {
    const config = configFor(3);
    const model = createMae(config, 1);
    const report = loadInitWeights(model, path.join(dir, 'official_full.pth'));
    expect(report.layout).toBe('official');
    expect(report.fresh).toEqual([]);
    expect(report.unused.map((u) => u.name).sort()).toEqual(['decoder_pos_embed', 'pos_embed']);
    const numPatches = (config.imgSize / config.patchSize) ** 2;
    const masks = maskFromShuffle(
      expected.idsShuffle,
      2,
      numPatches,
      Math.round(numPatches * (1 - expected.maskRatio)),
    );
    const imgs = tf.tensor4d(expected.imgs, [2, 3, config.imgSize, config.imgSize]);
    const { loss, pred } = forwardMae(model, imgs, masks);
    expect(Math.abs(loss.dataSync()[0]! - expected.loss) / expected.loss).toBeLessThan(1e-4);
    tf.dispose([loss, pred, imgs]);
    disposeModel(model);
  });

  it('gives the same encoder features as torch from each layout (official, HF ViTMAE, timm)', () => {
    const config = configFor(3);
    const numPatches = (config.imgSize / config.patchSize) ** 2;
    for (const [file, layout, fresh] of [
      ['official_encoder.pth', 'timm', true], // encoder-only MAE files use timm's ViT names
      ['hf.safetensors', 'hf-vitmae', false],
      ['timm.safetensors', 'timm', true],
    ] as const) {
      const model = createMae(config, 2);
      const report = loadInitWeights(model, path.join(dir, file));
      expect(report.layout).toBe(layout);
      // Encoder-only files leave the decoder fresh, and say so name by name.
      expect(report.fresh.some((f) => f.name === 'decoder_pred.weight')).toBe(fresh);
      const imgs = tf.tensor4d(expected.imgs, [2, 3, config.imgSize, config.imgSize]);
      const features = tf.tidy(() =>
        forwardEncoder(model, patchify(imgs, config.patchSize), allVisible(2, numPatches)),
      );
      expect(maxRelativeError(features.dataSync(), expected.features), file).toBeLessThan(1e-4);
      tf.dispose([features, imgs]);
      disposeModel(model);
    }
  });

  it('lists what a timm file holds that the MAE cannot use', () => {
    const model = createMae(configFor(3), 3);
    const report = loadInitWeights(model, path.join(dir, 'timm.safetensors'));
    expect(report.unused).toEqual(
      expect.arrayContaining([
        { name: 'head.weight', reason: 'no parameter of this name in the MAE' },
        { name: 'pos_embed', reason: expect.stringContaining('regenerated') },
      ]),
    );
    disposeModel(model);
  });

  it('adapts RGB weights to one channel so a grey image embeds as its RGB copy did', () => {
    const config = configFor(1);
    const model = createMae(config, 4);
    const report = loadInitWeights(model, path.join(dir, 'official_full.pth'));
    expect(report.adapted).toEqual(['patch_embed.proj.weight: 3 → 1 channels (summed)']);
    expect(report.fresh.map((f) => f.name).sort()).toEqual(['decoder_pred.bias', 'decoder_pred.weight']);
    const numPatches = (config.imgSize / config.patchSize) ** 2;
    const grey = tf.tensor4d(expected.grey, [1, 1, config.imgSize, config.imgSize]);
    const features = tf.tidy(() => forwardEncoder(model, patchify(grey, config.patchSize), allVisible(1, numPatches)));
    expect(maxRelativeError(features.dataSync(), expected.greyFeatures)).toBeLessThan(1e-4);
    tf.dispose([features, grey]);
    disposeModel(model);
  });

  it('refuses an encoder of another width or patch size, naming what the file holds', () => {
    const model = createMae({ ...configFor(3), patchSize: 8 }, 5);
    expect(() => loadInitWeights(model, path.join(dir, 'official_full.pth'))).toThrow(/patch 4 \(run: 8\)/);
    disposeModel(model);
  });

  it('refuses files that are not checkpoints, naming the file', () => {
    const bogus = path.join(dir, 'notes.pth');
    fs.writeFileSync(bogus, 'not a checkpoint at all');
    const model = createMae(configFor(3), 6);
    expect(() => loadInitWeights(model, bogus)).toThrow(/notes\.pth is neither a PyTorch checkpoint/);
    const truncated = path.join(dir, 'truncated.pth');
    const whole = fs.readFileSync(path.join(dir, 'official_full.pth'));
    fs.writeFileSync(truncated, whole.subarray(0, whole.length - 100));
    expect(() => loadInitWeights(model, truncated)).toThrow(/truncated\.pth/);
    disposeModel(model);
  });
});
