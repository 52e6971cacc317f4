/**
 * 3-D MAE parity: ours against the PyTorch re-implementation (app/handoff/torch/mae3d_model.py)
 * on the same random weights, volumes and mask. The weights travel as `mae3dFullStateDict`
 * writes them and load with strict=True; the loss and the patch-embedding (Conv3d) gradient
 * must agree to 1e-4, and the encoder export (`mae3dEncoderStateDict` + the args of
 * `mae3dEncoderConfigJson`) rebuilds `VisionTransformer3d`, loads strictly and gives our tokens.
 * Torch runs in float64, so the error measured is ours (float32); MAE3D_PARITY_LOG=1 prints it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from '../mae.fixtures';
import { shuffleOrder } from '../masking';
import { Rng } from '../rng';
import { runTorch, runTorchCase, scaledError, transposed } from '../torch-python.fixtures';
import { patchLength3d, validateMae3dConfig, type Mae3dConfig } from './config3d';
import { createMae3d, disposeMae3d, encodeVolumes3d, forwardMae3d, randomMasking3d } from './mae3d';
import { mae3dEncoderConfigJson, mae3dEncoderStateDict, mae3dFullStateDict, mae3dModelArgs } from './mae3d-state';

const SCRIPT = `
import json, os, sys, torch
from mae3d_model import Mae3d, VisionTransformer3d
from tensor_files import read_safetensors
case = sys.argv[1]
x = json.load(open(os.path.join(case, "inputs.json")))
torch.set_default_dtype(torch.float64)
model = Mae3d(**x["args"]).double()
full, _ = read_safetensors(os.path.join(case, "full.safetensors"))
model.load_state_dict(full, strict=True)
vols = torch.tensor(x["volumes"], dtype=torch.float64).reshape(x["shape"])
ids = torch.tensor(x["ids_shuffle"]).reshape(x["shape"][0], -1)
loss = model.loss(vols, ids, x["mask_ratio"])
loss.backward()
config = json.load(open(os.path.join(case, "config.json")))
encoder = VisionTransformer3d(**config["args"]).double()
tensors, _ = read_safetensors(os.path.join(case, "encoder.safetensors"))
encoder.load_state_dict(tensors, strict=True)
with torch.no_grad():
    tokens = encoder(vols)
json.dump({"loss": float(loss), "grad": model.patch_embed.proj.weight.grad.flatten().tolist(),
           "tokens": tokens.flatten().tolist()}, open(os.path.join(case, "result.json"), "w"))
`;

beforeAll(async () => {
  await useCpuBackend();
});

/** Runs ours and the PyTorch module on one case; returns the errors measured. */
function compare(config: Mae3dConfig, seed: number) {
  const model = createMae3d(config, seed);
  const rng = Rng.fromSeed(seed, 9);
  for (const variable of model.params.values()) {
    // random, not the reference init: every weight, bias and norm should matter
    variable.assign(
      tf.tensor(
        Float32Array.from({ length: variable.size }, () => 0.3 * rng.normal()),
        variable.shape,
      ),
    );
  }
  const batchSize = 2;
  const maskRatio = 0.75;
  const masks = randomMasking3d(config, batchSize, maskRatio, Rng.fromSeed(seed, 3));
  const shape = [batchSize, config.inChans, ...config.volumeSize];
  const voxels = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
  const volumes = tf.tensor(voxels, shape);
  const weight = model.params.get('patch_embed.proj.weight')!;
  const { value, grads } = tf.variableGrads(() => {
    const { loss, pred } = forwardMae3d(model, volumes, masks);
    pred.dispose();
    return loss;
  }, [weight]);
  const loss = value.dataSync()[0]!;
  const rows = patchLength3d(config);
  const width = config.embedDim;
  const ourGrad = transposed(grads[weight.name]!.dataSync(), rows, width); // [P, D] → torch [D, C, pd, ph, pw]
  const tokens = encodeVolumes3d(model, volumes);
  const ourTokens = tokens.dataSync().slice();
  tf.dispose([value, ...Object.values(grads), volumes, tokens]);

  const { result: theirs, stderr } = runTorchCase<{ loss: number; grad: number[]; tokens: number[] }>(
    { code: SCRIPT },
    {
      'inputs.json': {
        args: mae3dModelArgs(config),
        volumes: Array.from(voxels),
        shape,
        ids_shuffle: Array.from(shuffleOrder(masks)),
        mask_ratio: maskRatio,
      },
      'full.safetensors': mae3dFullStateDict(model),
      'encoder.safetensors': mae3dEncoderStateDict(model),
      'config.json': mae3dEncoderConfigJson(config),
    },
  );
  disposeMae3d(model);
  expect(stderr).toBe('');
  const measured = {
    loss: Math.abs(loss - theirs.loss) / theirs.loss,
    grad: scaledError(ourGrad, theirs.grad),
    tokens: scaledError(ourTokens, theirs.tokens),
  };
  if (process.env.MAE3D_PARITY_LOG) console.log(JSON.stringify({ ours: loss, theirs: theirs.loss, ...measured }));
  return measured;
}

function tinyConfig(overrides: Partial<Mae3dConfig>): Mae3dConfig {
  return validateMae3dConfig({
    volumeSize: [8, 8, 8],
    patchSize: [4, 4, 4],
    inChans: 1,
    embedDim: 24,
    depth: 2,
    numHeads: 2,
    decoderEmbedDim: 16,
    decoderDepth: 1,
    decoderNumHeads: 2,
    mlpRatio: 2,
    normPixLoss: true,
    ...overrides,
  });
}

describe.skipIf(!runTorch)('3-D MAE parity with a PyTorch re-implementation (Conv3d patches)', () => {
  it('matches loss, Conv3d gradient and encoder tokens with cubic patches and norm-pix', () => {
    const errors = compare(tinyConfig({}), 1);
    expect(errors.loss).toBeLessThan(1e-4);
    expect(errors.grad).toBeLessThan(1e-4);
    expect(errors.tokens).toBeLessThan(1e-4);
  }, 30_000);

  it('matches with non-cubic patches (2×4×3 on 4×8×12, two channels) and plain pixel targets', () => {
    const errors = compare(
      tinyConfig({ volumeSize: [4, 8, 12], patchSize: [2, 4, 3], inChans: 2, normPixLoss: false }),
      2,
    );
    expect(errors.loss).toBeLessThan(1e-4);
    expect(errors.grad).toBeLessThan(1e-4);
    expect(errors.tokens).toBeLessThan(1e-4);
  }, 30_000);
});
