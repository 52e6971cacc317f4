/**
 * SatMAE temporal parity: our temporal MAE (temporal.ts) against a PyTorch re-implementation under
 * the names of SatMAE's `MaskedAutoencoderViT` (models_mae_temporal.py), app/handoff/torch/
 * satmae_temporal_model.py, on the same random weights, frames and timestamps, each side drawing
 * its mask from the same uniform noise as SatMAE's `random_masking` (one draw over T·L tokens, so
 * the dates hide different counts; or one draw over L locations with sameMask). The weights travel
 * in the official layout (`oursToOfficial`: Conv2d patch embedding, head rows (i, j, c)) with the
 * fixed position tables, loaded with strict=True; the loss and the patch-embedding gradient must
 * agree to 1e-4. Torch runs in float64, so the error measured is ours (float32);
 * SATMAE_PARITY_LOG=1 prints the errors of each case.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateMaeConfig, type MaeConfig } from './config';
import { groupedMasksFromNoise, groupMask } from './grouped-bands';
import { useCpuBackend } from './mae.fixtures';
import { createMae, disposeModel, forwardMae } from './model';
import { Rng } from './rng';
import { TIMESTAMP_PARTS, temporalPositionTables, timePartWidth } from './temporal';
import { runTorch, runTorchCase, scaledError } from './torch-python.fixtures';
import { oursToOfficial } from './weights/layouts';
import type { NamedTensor } from './weights/safetensors';

const FRAMES = 3; // SatMAE's fixed count

/** Three dates of 16×16 two-band images, 4×4 patches (L = 16, 48 tokens), one block each side. */
function tinyConfig(sameMask: boolean, normPixLoss: boolean): MaeConfig {
  return validateMaeConfig({
    imgSize: 16,
    patchSize: 4,
    inChans: 2,
    embedDim: 64,
    depth: 2,
    numHeads: 2,
    decoderEmbedDim: 64,
    decoderDepth: 1,
    decoderNumHeads: 2,
    mlpRatio: 2,
    normPixLoss,
    temporal: { frames: FRAMES, sameMask },
  });
}

const SCRIPT = `
import json, os, sys, torch
from satmae_temporal_model import MaskedAutoencoderViT
from tensor_files import read_safetensors
case = sys.argv[1]
x = json.load(open(os.path.join(case, "inputs.json")))
torch.set_default_dtype(torch.float64)
model = MaskedAutoencoderViT(**x["args"]).double()
state, _ = read_safetensors(os.path.join(case, "weights.safetensors"))
model.load_state_dict(state, strict=True)
imgs = torch.tensor(x["imgs"], dtype=torch.float64).reshape(x["shape"])
timestamps = torch.tensor(x["timestamps"], dtype=torch.float64).reshape(x["shape"][0], x["shape"][1], 3)
noise = torch.tensor(x["noise"], dtype=torch.float64).reshape(x["shape"][0], -1)
loss, _, mask = model(imgs, timestamps, mask_ratio=x["mask_ratio"], noise=noise)
loss.backward()
json.dump({"loss": float(loss), "grad": model.patch_embed.proj.weight.grad.flatten().tolist(),
           "mask": mask.flatten().tolist()}, open(os.path.join(case, "result.json"), "w"))
`;

beforeAll(async () => {
  await useCpuBackend();
});

/** The whole model in SatMAE's names and torch layouts, with its fixed position tables. */
function temporalStateDict(model: ReturnType<typeof createMae>): Map<string, NamedTensor> {
  const { config } = model;
  const state = new Map<string, NamedTensor>();
  for (const [name, variable] of model.params)
    state.set(name, oursToOfficial(name, variable.shape, variable.dataSync() as Float32Array, config));
  const tables = temporalPositionTables(config);
  for (const [name, table] of [
    ['pos_embed', tables.posEmbed],
    ['decoder_pos_embed', tables.decoderPosEmbed],
  ] as const) {
    state.set(name, { shape: [1, ...table.shape], data: table.dataSync() as Float32Array });
    table.dispose();
  }
  return state;
}

/** Runs ours and the PyTorch reference on one case; returns the errors measured. */
function compare(config: MaeConfig, seed: number) {
  const { sameMask } = config.temporal!;
  const model = createMae(config, seed);
  const rng = Rng.fromSeed(seed, 9);
  for (const variable of model.params.values()) {
    // random, not the reference init: every weight, bias and norm should matter
    const values = Float32Array.from({ length: variable.size }, () => 0.3 * rng.normal());
    variable.assign(tf.tensor(values, variable.shape));
  }
  const batchSize = 2;
  const maskRatio = 0.75;
  const numPatches = (config.imgSize / config.patchSize) ** 2;
  // the same uniform noise over T·L tokens (L locations with sameMask) masks both sides
  const noiseRng = Rng.fromSeed(seed, 3);
  const length = sameMask ? numPatches : FRAMES * numPatches;
  const noise = Array.from({ length: batchSize }, () => Float64Array.from({ length }, () => noiseRng.uniform()));
  const frames = Array.from({ length: FRAMES }, (_, t) => [t]);
  const masks = groupedMasksFromNoise(noise, { groups: frames, spatialMask: sameMask }, numPatches, maskRatio);
  const stacked = [batchSize, FRAMES * config.inChans, config.imgSize, config.imgSize] as const;
  const pixels = Float32Array.from({ length: stacked.reduce((a, b) => a * b) }, () => rng.normal());
  // [years since the first, month − 1, hour] per frame: different dates, months and hours
  const timestamps = Float32Array.from({ length: batchSize * FRAMES * TIMESTAMP_PARTS }, (_, k) => {
    const part = k % TIMESTAMP_PARTS;
    return part === 0 ? Math.floor(rng.uniform() * 4) : Math.floor(rng.uniform() * (part === 1 ? 12 : 24));
  });
  const imgs = tf.tensor4d(pixels, [...stacked]);
  const variable = model.params.get('patch_embed.proj.weight')!;
  const { value, grads } = tf.variableGrads(() => forwardMae(model, imgs, masks, { timestamps }).loss, [variable]);
  const loss = value.dataSync()[0]!;
  const ourGrad = grads[variable.name]!.dataSync() as Float32Array;
  const grad = oursToOfficial('patch_embed.proj.weight', variable.shape, ourGrad, config); // → [D, C, p, p]
  tf.dispose([value, ...Object.values(grads), imgs]);

  const { result: theirs, stderr } = runTorchCase<{ loss: number; grad: number[]; mask: number[] }>(
    { code: SCRIPT },
    {
      'inputs.json': {
        args: {
          img_size: config.imgSize,
          patch_size: config.patchSize,
          in_chans: config.inChans,
          embed_dim: config.embedDim,
          depth: config.depth,
          num_heads: config.numHeads,
          decoder_embed_dim: config.decoderEmbedDim,
          decoder_depth: config.decoderDepth,
          decoder_num_heads: config.decoderNumHeads,
          mlp_ratio: config.mlpRatio,
          norm_pix_loss: config.normPixLoss,
          same_mask: sameMask,
          frames: FRAMES,
          time_embed_dim: timePartWidth(config.embedDim),
          decoder_time_embed_dim: timePartWidth(config.decoderEmbedDim),
        },
        imgs: Array.from(pixels),
        shape: [batchSize, FRAMES, config.inChans, config.imgSize, config.imgSize],
        timestamps: Array.from(timestamps),
        noise: noise.flatMap((row) => Array.from(row)),
        mask_ratio: maskRatio,
      },
      'weights.safetensors': temporalStateDict(model),
    },
  );
  disposeModel(model);
  expect(stderr).toBe('');
  // tokens each date hides in each image (independent masks: not the same for every date)
  const hidden = frames.map((_, t) => {
    const mask = groupMask(masks, t, FRAMES);
    return Array.from({ length: batchSize }, (_, b) => mask.subarray(b * numPatches, (b + 1) * numPatches))
      .map((row) => row.reduce((a, v) => a + v, 0))
      .join(',');
  });
  const measured = {
    loss: Math.abs(loss - theirs.loss) / theirs.loss,
    grad: scaledError(grad.data, theirs.grad),
    maskMatchesTorch: theirs.mask.every((v, k) => v === masks.mask[k]),
    hidden,
  };
  if (process.env.SATMAE_PARITY_LOG) console.log(JSON.stringify({ ours: loss, theirs: theirs.loss, ...measured }));
  return measured;
}

describe.skipIf(!runTorch)("SatMAE temporal parity with a PyTorch re-implementation under SatMAE's names", () => {
  it('matches loss and patch-embedding gradient with independent masks over the T·L tokens', () => {
    const errors = compare(tinyConfig(false, true), 1);
    expect(errors.maskMatchesTorch).toBe(true);
    expect(new Set(errors.hidden).size).toBeGreaterThan(1); // the dates hide different counts
    expect(errors.loss).toBeLessThan(1e-4);
    expect(errors.grad).toBeLessThan(1e-4);
  }, 30_000);

  it('matches with sameMask (every date masked alike) and plain pixel targets', () => {
    const errors = compare(tinyConfig(true, false), 2);
    expect(errors.maskMatchesTorch).toBe(true);
    expect(new Set(errors.hidden).size).toBe(1); // every date masked alike
    expect(errors.loss).toBeLessThan(1e-4);
    expect(errors.grad).toBeLessThan(1e-4);
  }, 30_000);

  it('matches with sameMask and norm-pix targets', () => {
    const errors = compare(tinyConfig(true, true), 3);
    expect(errors.maskMatchesTorch).toBe(true);
    expect(errors.loss).toBeLessThan(1e-4);
    expect(errors.grad).toBeLessThan(1e-4);
  }, 30_000);
});
