/**
 * SatMAE parity: our grouped-band MAE against a PyTorch re-implementation under SatMAE's names
 * (app/handoff/torch/satmae_model.py), on the same random weights and images, each side drawing
 * its mask from the same uniform noise as SatMAE's `random_masking` (so the groups' counts differ,
 * and a wrong draw rule on either side fails the test). The weights
 * travel as the whole-MAE export writes them (`satmaeFullStateDict`), loaded with strict=True;
 * the loss and each group's patch-embedding gradient must agree to 1e-4, and the encoder export
 * (`satmaeEncoderStateDict`) loads strictly into `GroupChannelsVisionTransformer` and gives our
 * tokens. Torch runs in float64, so the error measured is ours (float32); SATMAE_PARITY_LOG=1
 * prints the errors of each case.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateMaeConfig, type GroupedBands, type MaeConfig } from './config';
import { groupedMasksFromNoise, groupMask } from './grouped-bands';
import { useCpuBackend } from './mae.fixtures';
import type { MaskSet } from './masking';
import { createMae, disposeModel, forwardEncoder, forwardMae } from './model';
import { patchify } from './patchify';
import { Rng } from './rng';
import { satmaeEncoderArgs, satmaeEncoderStateDict, satmaeFullStateDict, satmaeModelArgs } from './satmae-state';
import { runTorch, runTorchCase, scaledError, transposed } from './torch-python.fixtures';

/** 16×16 six-band images, 4×4 patches (L = 16), two blocks; group widths 8 of 32 and 4 of 16. */
function tinyConfig(groupedBands: GroupedBands, normPixLoss: boolean): MaeConfig {
  return validateMaeConfig({
    imgSize: 16,
    patchSize: 4,
    inChans: 6,
    embedDim: 32,
    depth: 2,
    numHeads: 2,
    decoderEmbedDim: 16,
    decoderDepth: 1,
    decoderNumHeads: 2,
    mlpRatio: 2,
    normPixLoss,
    groupedBands,
  });
}

const SCRIPT = `
import json, os, sys, torch
from satmae_model import MaskedAutoencoderGroupChannelViT, GroupChannelsVisionTransformer
from tensor_files import read_safetensors
case = sys.argv[1]
x = json.load(open(os.path.join(case, "inputs.json")))
torch.set_default_dtype(torch.float64)
model = MaskedAutoencoderGroupChannelViT(**x["args"]).double()
full, _ = read_safetensors(os.path.join(case, "full.safetensors"))
model.load_state_dict(full, strict=True)
imgs = torch.tensor(x["imgs"], dtype=torch.float64).reshape(x["shape"])
noise = torch.tensor(x["noise"], dtype=torch.float64).reshape(x["shape"][0], -1)
loss, _, _ = model(imgs, mask_ratio=x["mask_ratio"], noise=noise)
loss.backward()
grads = [model.patch_embed[g].proj.weight.grad.flatten().tolist() for g in range(len(model.patch_embed))]
encoder = GroupChannelsVisionTransformer(**x["encoder_args"]).double()
tensors, _ = read_safetensors(os.path.join(case, "encoder.safetensors"))
encoder.load_state_dict(tensors, strict=True)
with torch.no_grad():
    tokens = encoder.norm(encoder.forward_tokens(imgs))
    features = encoder.forward_features(imgs)
json.dump({"loss": float(loss), "grads": grads, "tokens": tokens.flatten().tolist(),
           "features": features.flatten().tolist()}, open(os.path.join(case, "result.json"), "w"))
`;

beforeAll(async () => {
  await useCpuBackend();
});

/** Every patch visible, in token order: the encoder as a feature extractor. */
function allVisible(batchSize: number, tokens: number): MaskSet {
  const keep = Int32Array.from({ length: batchSize * tokens }, (_, k) => k % tokens);
  return {
    batchSize,
    numPatches: tokens,
    numKeep: tokens,
    keep,
    restore: keep.slice(),
    mask: new Uint8Array(keep.length),
  };
}

/** Runs ours and the PyTorch reference on one case; returns the errors measured. */
function compare(config: MaeConfig, seed: number) {
  const grouped = config.groupedBands!;
  const model = createMae(config, seed);
  const rng = Rng.fromSeed(seed, 9);
  for (const variable of model.params.values()) {
    // random, not the reference init: every weight, bias and norm should matter
    const values = Float32Array.from({ length: variable.size }, () => 0.3 * rng.normal());
    variable.assign(tf.tensor(values, variable.shape));
  }
  const batchSize = 2;
  const maskRatio = 0.75;
  const side = config.imgSize / config.patchSize;
  // the same uniform noise drawn over G·L tokens (L locations with spatial_mask) masks both sides
  const noiseRng = Rng.fromSeed(seed, 3);
  const length = grouped.spatialMask ? side * side : grouped.groups.length * side * side;
  const noise = Array.from({ length: batchSize }, () => Float64Array.from({ length }, () => noiseRng.uniform()));
  const masks = groupedMasksFromNoise(noise, grouped, side * side, maskRatio);
  const shape = [batchSize, config.inChans, config.imgSize, config.imgSize];
  const pixels = Float32Array.from({ length: batchSize * config.inChans * config.imgSize ** 2 }, () => rng.normal());
  const imgs = tf.tensor4d(pixels, shape as [number, number, number, number]);
  const variables = grouped.groups.map((_, g) => model.params.get(`patch_embed.${g}.proj.weight`)!);
  const { value, grads } = tf.variableGrads(() => forwardMae(model, imgs, masks).loss, variables);
  const loss = value.dataSync()[0]!;
  const ourGrads = variables.map((variable) => {
    const [rows, width] = variable.shape as [number, number]; // [c_g*p*p, D] → torch [D, c_g, p, p]
    return transposed(grads[variable.name]!.dataSync(), rows, width);
  });
  const tokens = tf.tidy(() =>
    forwardEncoder(model, patchify(imgs, config.patchSize), allVisible(batchSize, 16 * grouped.groups.length)),
  );
  const ourTokens = tokens.dataSync().slice();
  tf.dispose([value, ...Object.values(grads), imgs, tokens]);

  // tokens each group hides in each image (independent masks: not the same for every group)
  const hidden = grouped.groups.map((_, g) => {
    const mask = groupMask(masks, g, grouped.groups.length);
    return Array.from({ length: batchSize }, (_, b) => mask.subarray(b * side * side, (b + 1) * side * side))
      .map((row) => row.reduce((a, v) => a + v, 0))
      .join(',');
  });
  const { result: theirs, stderr } = runTorchCase<{
    loss: number;
    grads: number[][];
    tokens: number[];
    features: number[];
  }>(
    { code: SCRIPT },
    {
      'inputs.json': {
        args: satmaeModelArgs(config),
        encoder_args: satmaeEncoderArgs(config, 0),
        imgs: Array.from(pixels),
        shape,
        noise: noise.flatMap((row) => Array.from(row)),
        mask_ratio: maskRatio,
      },
      'full.safetensors': satmaeFullStateDict(model),
      'encoder.safetensors': satmaeEncoderStateDict(model),
    },
  );
  disposeModel(model);
  expect(stderr).toBe('');
  const features = Array.from({ length: batchSize * config.embedDim }, (_, k) => {
    const b = Math.floor(k / config.embedDim);
    return ourTokens[b * (ourTokens.length / batchSize) + (k % config.embedDim)]!; // the cls token
  });
  const measured = {
    loss: Math.abs(loss - theirs.loss) / theirs.loss,
    grads: ourGrads.map((grad, g) => scaledError(grad, theirs.grads[g]!)),
    tokens: scaledError(ourTokens, theirs.tokens),
    features: scaledError(features, theirs.features),
    hidden,
  };
  if (process.env.SATMAE_PARITY_LOG) console.log(JSON.stringify({ ours: loss, theirs: theirs.loss, ...measured }));
  return measured;
}

describe.skipIf(!runTorch)("SatMAE parity with a PyTorch re-implementation under SatMAE's names", () => {
  it('matches loss, gradients and tokens with groups in band order, both drawing the mask from one noise', () => {
    const errors = compare(
      tinyConfig(
        {
          groups: [
            [0, 1, 2],
            [3, 4, 5],
          ],
          spatialMask: false,
        },
        true,
      ),
      1,
    );
    expect(new Set(errors.hidden).size).toBeGreaterThan(1); // the groups hide different counts
    expect(errors.loss).toBeLessThan(1e-4);
    for (const error of errors.grads) expect(error).toBeLessThan(1e-4);
    expect(errors.tokens).toBeLessThan(1e-4);
    expect(errors.features).toBeLessThan(1e-4);
  }, 30_000);

  it('matches with groups out of band order and a band left out (Sentinel-2 style)', () => {
    const errors = compare(
      tinyConfig(
        {
          groups: [
            [1, 2, 3],
            [0, 4],
          ],
          spatialMask: false,
        },
        true,
      ),
      2,
    );
    expect(new Set(errors.hidden).size).toBeGreaterThan(1);
    expect(errors.loss).toBeLessThan(1e-4);
    for (const error of errors.grads) expect(error).toBeLessThan(1e-4);
    expect(errors.tokens).toBeLessThan(1e-4);
  }, 30_000);

  it('matches with spatial_mask (every group masked alike) and plain pixel targets', () => {
    const errors = compare(
      tinyConfig(
        {
          groups: [
            [0, 1],
            [2, 3],
            [4, 5],
          ],
          spatialMask: true,
        },
        false,
      ),
      3,
    );
    expect(new Set(errors.hidden).size).toBe(1); // every group masked alike
    expect(errors.loss).toBeLessThan(1e-4);
    for (const error of errors.grads) expect(error).toBeLessThan(1e-4);
    expect(errors.tokens).toBeLessThan(1e-4);
  }, 30_000);
});
