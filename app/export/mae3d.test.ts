/**
 * A 3-D MAE's encoder exported: ONNX run by onnxruntime gives the studio's tokens and features
 * (to 1e-4) for volumes [N, C, D, H, W]; the safetensors + config.json written to disk rebuild
 * `VisionTransformer3d` from the config's args alone, load strictly and give the same tokens.
 */
import { spawnSync } from 'node:child_process';
import { runTorch, torchPython as python } from '../mae/torch-python.fixtures';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from '../mae/mae.fixtures';
import { Rng } from '../mae/rng';
import { validateMae3dConfig } from '../mae/volume3d/config3d';
import { createMae3d, disposeMae3d, encodeVolumes3d, type Mae3dModel } from '../mae/volume3d/mae3d';
import { mae3dEncoderOnnx, mae3dSafetensorsFiles } from './mae3d';

/** Thick-slice patches 2×4×4 on 4×8×12 volumes of two channels (2×2×3 = 12 tokens), two blocks. */
const CONFIG = validateMae3dConfig({
  volumeSize: [4, 8, 12],
  patchSize: [2, 4, 4],
  inChans: 2,
  embedDim: 18,
  depth: 2,
  numHeads: 3,
  decoderEmbedDim: 12,
  decoderDepth: 1,
  decoderNumHeads: 2,
  mlpRatio: 2,
  normPixLoss: true,
});
const SHAPE = [3, 2, 4, 8, 12];

let dir = '';
let model: Mae3dModel;
let voxels: Float32Array;
let tokens: Float32Array;
beforeAll(async () => {
  await useCpuBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae3d-export-'));
  model = createMae3d(CONFIG, 4);
  const rng = Rng.fromSeed(4, 9);
  for (const variable of model.params.values()) {
    variable.assign(
      tf.tensor(
        Float32Array.from({ length: variable.size }, () => 0.3 * rng.normal()),
        variable.shape,
      ),
    );
  }
  voxels = Float32Array.from({ length: SHAPE.reduce((a, b) => a * b, 1) }, () => rng.normal());
  const volumes = tf.tensor(voxels, SHAPE);
  const encoded = encodeVolumes3d(model, volumes);
  tokens = encoded.dataSync().slice() as Float32Array;
  tf.dispose([volumes, encoded]);
});
afterAll(() => {
  disposeMae3d(model);
  fs.rmSync(dir, { recursive: true, force: true });
});

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** The pooled features of our tokens [N, 1 + L, D]: the cls token or the patch mean. */
function pooled(pooling: 'cls' | 'mean'): Float32Array {
  const width = CONFIG.embedDim;
  const rows = tokens.length / SHAPE[0]! / width;
  return Float32Array.from({ length: SHAPE[0]! * width }, (_, k) => {
    const [n, d] = [Math.floor(k / width), k % width];
    if (pooling === 'cls') return tokens[n * rows * width + d]!;
    let sum = 0;
    for (let r = 1; r < rows; r++) sum += tokens[(n * rows + r) * width + d]!;
    return sum / (rows - 1);
  });
}

describe('3-D encoder export', () => {
  for (const pooling of ['cls', 'mean'] as const) {
    it(`ONNX gives the encoder's tokens and ${pooling}-pooled features for volumes`, async () => {
      const session = await ort.InferenceSession.create(mae3dEncoderOnnx(model, pooling));
      expect(session.inputNames).toEqual(['volumes']);
      const out = await session.run({ volumes: new ort.Tensor('float32', voxels, SHAPE) });
      expect(out.tokens!.dims).toEqual([3, 13, 18]);
      expect(maxDifference(out.tokens!.data as Float32Array, tokens)).toBeLessThan(1e-4);
      expect(maxDifference(out.features!.data as Float32Array, pooled(pooling))).toBeLessThan(1e-4);
    });
  }

  it.skipIf(!runTorch)(
    'safetensors + config.json rebuild VisionTransformer3d, load strictly, give our tokens',
    () => {
      for (const [name, bytes] of mae3dSafetensorsFiles(model)) fs.writeFileSync(path.join(dir, name), bytes);
      fs.writeFileSync(path.join(dir, 'volumes.json'), JSON.stringify({ voxels: Array.from(voxels), shape: SHAPE }));
      const script = `
import json, sys, torch
from mae3d_model import VisionTransformer3d
from tensor_files import read_safetensors
folder = sys.argv[1]
config = json.load(open(folder + "/config.json"))
encoder = VisionTransformer3d(**config["args"])
state, _ = read_safetensors(folder + "/model.safetensors")
encoder.load_state_dict(state, strict=True)
x = json.load(open(folder + "/volumes.json"))
with torch.no_grad():
    tokens = encoder(torch.tensor(x["voxels"]).reshape(x["shape"]))
print(json.dumps(tokens.flatten().tolist()))
`;
      const run = spawnSync(python ?? 'python3', ['-c', script, dir], {
        encoding: 'utf8',
        env: { ...process.env, PYTHONPATH: path.resolve('app/handoff/torch') },
      });
      expect(run.stderr).toBe('');
      const theirs = JSON.parse(run.stdout) as number[];
      expect(maxDifference(theirs, tokens)).toBeLessThan(1e-4);
    },
    30_000,
  );
});
