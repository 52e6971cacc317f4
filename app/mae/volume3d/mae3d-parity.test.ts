/**
 * 3-D MAE parity: ours against the PyTorch re-implementation (app/handoff/torch/mae3d_model.py)
 * on the same random weights, volumes and mask. The weights travel as `mae3dFullStateDict`
 * writes them and load with strict=True; the loss and the patch-embedding (Conv3d) gradient
 * must agree to 1e-4, and the encoder export (`mae3dEncoderStateDict` + the args of
 * `mae3dEncoderConfigJson`) rebuilds `VisionTransformer3d`, loads strictly and gives our tokens.
 * Torch runs in float64, so the error measured is ours (float32); MAE3D_PARITY_LOG=1 prints it.
 */
import { spawnSync } from 'node:child_process';
import { runTorch, torchPython as python } from '../torch-python.fixtures';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from '../mae.fixtures';
import { shuffleOrder } from '../masking';
import { Rng } from '../rng';
import { encodeSafetensors } from '../weights/safetensors';
import { patchLength3d, validateMae3dConfig, type Mae3dConfig } from './config3d';
import { createMae3d, disposeMae3d, encodeVolumes3d, forwardMae3d, randomMasking3d } from './mae3d';
import { mae3dEncoderConfigJson, mae3dEncoderStateDict, mae3dFullStateDict, mae3dModelArgs } from './mae3d-state';

const SCRIPT = `
import json, sys, torch
from mae3d_model import Mae3d, VisionTransformer3d
from tensor_files import read_safetensors
x = json.load(open(sys.argv[1]))
torch.set_default_dtype(torch.float64)
model = Mae3d(**x["args"]).double()
full, _ = read_safetensors(sys.argv[2])
model.load_state_dict(full, strict=True)
vols = torch.tensor(x["volumes"], dtype=torch.float64).reshape(x["shape"])
ids = torch.tensor(x["ids_shuffle"]).reshape(x["shape"][0], -1)
loss = model.loss(vols, ids, x["mask_ratio"])
loss.backward()
config = json.load(open(sys.argv[4]))
encoder = VisionTransformer3d(**config["args"]).double()
tensors, _ = read_safetensors(sys.argv[3])
encoder.load_state_dict(tensors, strict=True)
with torch.no_grad():
    tokens = encoder(vols)
print(json.dumps({"loss": float(loss), "grad": model.patch_embed.proj.weight.grad.flatten().tolist(),
                  "tokens": tokens.flatten().tolist()}))
`;

let dir = '';
beforeAll(async () => {
  await useCpuBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae3d-parity-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The largest |a − b| over the largest |b|. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let difference = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    difference = Math.max(difference, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return difference / scale;
}

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
  const data = grads[weight.name]!.dataSync(); // [P, D] → torch [D, C, pd, ph, pw]
  const ourGrad = Float32Array.from(
    { length: rows * width },
    (_, k) => data[(k % rows) * width + Math.floor(k / rows)]!,
  );
  const tokens = encodeVolumes3d(model, volumes);
  const ourTokens = tokens.dataSync().slice();
  tf.dispose([value, ...Object.values(grads), volumes, tokens]);

  const file = (name: string) => path.join(dir, `${name}-${seed}`);
  fs.writeFileSync(
    file('inputs'),
    JSON.stringify({
      args: mae3dModelArgs(config),
      volumes: Array.from(voxels),
      shape,
      ids_shuffle: Array.from(shuffleOrder(masks)),
      mask_ratio: maskRatio,
    }),
  );
  fs.writeFileSync(file('full'), encodeSafetensors(mae3dFullStateDict(model), { format: 'pt' }));
  fs.writeFileSync(file('encoder'), encodeSafetensors(mae3dEncoderStateDict(model), { format: 'pt' }));
  fs.writeFileSync(file('config'), JSON.stringify(mae3dEncoderConfigJson(config)));
  disposeMae3d(model);
  const run = spawnSync(
    python ?? 'python3',
    ['-c', SCRIPT, file('inputs'), file('full'), file('encoder'), file('config')],
    {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: path.resolve('app/handoff/torch') },
    },
  );
  expect(run.stderr).toBe('');
  const theirs = JSON.parse(run.stdout) as { loss: number; grad: number[]; tokens: number[] };
  const measured = {
    loss: Math.abs(loss - theirs.loss) / theirs.loss,
    grad: relativeError(ourGrad, theirs.grad),
    tokens: relativeError(ourTokens, theirs.tokens),
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
