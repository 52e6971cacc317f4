/**
 * A SatMAE (grouped-band) pretraining run of four-band GeoTIFFs exported through the service:
 * `safetensors --full` loads with strict=True into the PyTorch re-implementation of SatMAE's
 * `MaskedAutoencoderGroupChannelViT` (app/handoff/torch/satmae_model.py, SatMAE's names) and
 * gives the studio's loss on the same images and mask; the encoder export loads strictly into
 * `GroupChannelsVisionTransformer` and gives the studio's cls features, and a cls-pooled
 * fine-tuned classifier its logits (a mean-pooled one is refused); ONNX is written too. The
 * torchrun hand-off refuses the run and says why.
 */
import { spawnSync } from 'node:child_process';
import { torchPython as python } from '../mae/torch-python.fixtures';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTiff } from '../data/formats/formats.fixtures';
import { writeHandoff } from '../handoff/handoff';
import { groupedMasks } from '../mae/grouped-bands';
import { shuffleOrder } from '../mae/masking';
import { forwardMae } from '../mae/model';
import { Rng } from '../mae/rng';
import { Studio } from '../studio';
import { encodeFeatures } from '../train/probe-features';
import { loadRunModel } from '../train/probe-model';

const SCRIPT = `
import json, sys, torch
from satmae_model import MaskedAutoencoderGroupChannelViT, GroupChannelsVisionTransformer
from tensor_files import read_safetensors
full_dir, encoder_dir, inputs = sys.argv[1:4]
x = json.load(open(inputs))
imgs = torch.tensor(x["imgs"]).reshape(x["shape"])
ids = torch.tensor(x["ids_shuffle"]).reshape(x["shape"][0], -1)
model = MaskedAutoencoderGroupChannelViT(**json.load(open(full_dir + "/config.json"))["args"])
model.load_state_dict(read_safetensors(full_dir + "/model.safetensors")[0], strict=True)
args = json.load(open(encoder_dir + "/config.json"))["args"]
args.pop("qkv_bias")
encoder = GroupChannelsVisionTransformer(**args)
encoder.load_state_dict(read_safetensors(encoder_dir + "/model.safetensors")[0], strict=True)
with torch.no_grad():
    loss, _, _ = model(imgs, ids, x["mask_ratio"])
    features = encoder.forward_features(imgs)
print(json.dumps({"loss": float(loss), "features": features.flatten().tolist()}))
`;

let dir: string;
let studio: Studio;
let runId: number;

/** A 32×32 four-band uint16 tile with named bands, as GDAL writes Sentinel-2 exports. */
function tile(seed: number): Uint8Array {
  const values = new Uint16Array(32 * 32 * 4);
  for (let y = 0; y < 32; y++)
    for (let x = 0; x < 32; x++)
      for (let band = 0; band < 4; band++)
        values[(y * 32 + x) * 4 + band] = Math.round(
          800 * (band + 1) * (1 + 0.3 * Math.sin((x * (seed + 1) + y * band) / 5)),
        );
  const bandNames = ['B2 blue', 'B3 green', 'B4 red', 'B8 NIR'];
  return writeTiff([{ width: 32, height: 32, bands: 4, sampleType: 'uint16', values, bandNames }]);
}

/** Waits for a run's process to finish and leave (expect.poll works only inside a test). */
async function finished(id: number): Promise<void> {
  const deadline = Date.now() + 90_000;
  const running = async () =>
    !/completed|failed/.test(studio.workspace.runs.get(id).status) ||
    (await studio.services.training.active()).some((active) => active.id === id);
  while ((await running()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-satmae-export-'));
  for (const label of ['field', 'water']) fs.mkdirSync(path.join(dir, 'tiles', label), { recursive: true });
  for (let i = 0; i < 8; i++)
    fs.writeFileSync(path.join(dir, 'tiles', i % 2 ? 'water' : 'field', `tile-${i}.tif`), tile(i));
  studio = new Studio(path.join(dir, 'ws'));
  const projectId = studio.workspace.projects.create('Tiles', 'remote-sensing').id;
  await studio.runImport('test', projectId, [path.join(dir, 'tiles')]);
  const run = await studio.services.training.start(projectId, {
    imgSize: 32,
    patchSize: 8,
    depth: 1,
    decoder: '32x1',
    batchSize: 4,
    steps: 2,
    seed: 3,
    backend: 'cpu',
    domainRecipe: 'satmae',
    bandGroups: [['B4 red', 'B2 blue'], ['B8'], ['B3 green']],
  });
  runId = run.id;
  await finished(runId);
}, 120_000);
afterAll(async () => {
  await studio.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("SatMAE exports under SatMAE's names", () => {
  it('writes the encoder, the whole MAE and the ONNX graph, and says where each loads', async () => {
    expect(studio.workspace.runs.get(runId).status).toBe('completed');
    const encoder = await studio.services.exports.create(runId, 'safetensors', path.join(dir, 'encoder'));
    const encoderConfig = JSON.parse(fs.readFileSync(path.join(encoder.dir, 'config.json'), 'utf8'));
    expect(encoderConfig).toMatchObject({
      architecture: 'GroupChannelsVisionTransformer',
      args: { channel_groups: [[2, 0], [3], [1]], in_chans: 4, global_pool: false, num_classes: 0 },
    });
    const full = await studio.services.exports.create(runId, 'safetensors', path.join(dir, 'full'), { full: true });
    const fullConfig = JSON.parse(fs.readFileSync(path.join(full.dir, 'config.json'), 'utf8'));
    expect(fullConfig).toMatchObject({
      architecture: 'MaskedAutoencoderGroupChannelViT',
      args: { spatial_mask: false },
    });
    const card = (await studio.services.exports.preview(runId, 'safetensors', { full: true })).modelCard;
    expect(card).toContain('MaskedAutoencoderGroupChannelViT(');
    expect(card).toContain("load_state_dict(load_file('model.safetensors'), strict=True)");
    const onnx = await studio.services.exports.create(runId, 'onnx', path.join(dir, 'onnx'));
    expect(onnx.files.map((file) => file.name)).toContain('model.onnx');
  }, 60_000);

  it('is refused by the torchrun hand-off, which says where the whole model goes instead', async () => {
    await expect(writeHandoff(studio.workspace.root, runId, path.join(dir, 'job'))).rejects.toThrow(
      "its band groups need SatMAE's MaskedAutoencoderGroupChannelViT, which the job does not train " +
        '(export --format safetensors --full writes the whole model under its names',
    );
    expect(fs.existsSync(path.join(dir, 'job'))).toBe(false);
  });

  it.skipIf(!python && process.env.CI !== 'true')(
    "loads strictly into SatMAE's classes and gives the studio's loss and features",
    async () => {
      const fullDir = path.join(dir, 'full-for-torch');
      const encoderDir = path.join(dir, 'encoder-for-torch');
      await studio.services.exports.create(runId, 'safetensors', fullDir, { full: true });
      await studio.services.exports.create(runId, 'safetensors', encoderDir);
      const loaded = await loadRunModel(studio.workspace, runId);
      const { config } = loaded.model;
      const masks = groupedMasks(
        'random',
        { batchSize: 2, gridSide: config.imgSize / config.patchSize, maskRatio: 0.75 },
        config.groupedBands!,
        Rng.fromSeed(7, 3),
      );
      const imgs = tf.randomNormal([2, config.inChans, config.imgSize, config.imgSize], 0, 1, 'float32', 11);
      const { loss } = forwardMae(loaded.model, imgs, masks);
      const ours = loss.dataSync()[0]!;
      const features = encodeFeatures(loaded.model, imgs, 'cls');
      const ourFeatures = features.dataSync().slice();
      const inputs = path.join(dir, 'inputs.json');
      fs.writeFileSync(
        inputs,
        JSON.stringify({
          imgs: Array.from(imgs.dataSync()),
          shape: imgs.shape,
          ids_shuffle: Array.from(shuffleOrder(masks)),
          mask_ratio: 0.75,
        }),
      );
      tf.dispose([loss, imgs, features]);
      loaded.dispose();
      const run = spawnSync(python ?? 'python3', ['-c', SCRIPT, fullDir, encoderDir, inputs], {
        encoding: 'utf8',
        env: { ...process.env, PYTHONPATH: path.resolve('app/handoff/torch') },
      });
      expect(run.stderr).toBe('');
      const theirs = JSON.parse(run.stdout) as { loss: number; features: number[] };
      expect(Math.abs(theirs.loss - ours) / ours).toBeLessThan(1e-4);
      const worst = Math.max(...theirs.features.map((value, i) => Math.abs(value - ourFeatures[i]!)));
      expect(worst).toBeLessThan(1e-4);
    },
    60_000,
  );

  it.skipIf(!python && process.env.CI !== 'true')(
    "exports a cls-pooled SatMAE classifier whose head gives the studio's logits; refuses a mean-pooled one",
    async () => {
      const { runId: classifierId } = await studio.services.evaluation.finetune(runId, {
        steps: 2,
        batchSize: 4,
        pooling: 'cls',
      });
      await finished(classifierId);
      expect(studio.workspace.runs.get(classifierId).status).toBe('completed');
      const out = path.join(dir, 'classifier');
      await studio.services.exports.create(classifierId, 'safetensors', out);
      const loaded = await loadRunModel(studio.workspace, classifierId);
      const { config } = loaded.model;
      const imgs = tf.randomNormal([2, config.inChans, config.imgSize, config.imgSize], 0, 1, 'float32', 5);
      const logits = tf.tidy(() =>
        tf.add(tf.matMul(encodeFeatures(loaded.model, imgs, 'cls'), loaded.head!.weight), loaded.head!.bias),
      );
      const ours = logits.dataSync().slice();
      const inputs = path.join(dir, 'classifier-inputs.json');
      fs.writeFileSync(inputs, JSON.stringify({ imgs: Array.from(imgs.dataSync()), shape: imgs.shape }));
      tf.dispose([imgs, logits]);
      loaded.dispose();
      const script = `
import json, sys, torch
from satmae_model import GroupChannelsVisionTransformer
from tensor_files import read_safetensors
args = json.load(open(sys.argv[1] + "/config.json"))["args"]
args.pop("qkv_bias")
model = GroupChannelsVisionTransformer(**args)
model.load_state_dict(read_safetensors(sys.argv[1] + "/model.safetensors")[0], strict=True)
x = json.load(open(sys.argv[2]))
with torch.no_grad():
    print(json.dumps(model(torch.tensor(x["imgs"]).reshape(x["shape"])).flatten().tolist()))
`;
      const run = spawnSync(python ?? 'python3', ['-c', script, out, inputs], {
        encoding: 'utf8',
        env: { ...process.env, PYTHONPATH: path.resolve('app/handoff/torch') },
      });
      expect(run.stderr).toBe('');
      const theirs = JSON.parse(run.stdout) as number[];
      expect(theirs).toHaveLength(ours.length);
      expect(Math.max(...theirs.map((value, i) => Math.abs(value - ours[i]!)))).toBeLessThan(1e-4);

      const { runId: meanId } = await studio.services.evaluation.finetune(runId, { steps: 1, batchSize: 4 });
      await finished(meanId);
      await expect(studio.services.exports.create(meanId, 'safetensors', path.join(dir, 'mean'))).rejects.toThrow(
        `run ${meanId} is a SatMAE classifier on mean-pooled tokens; ` +
          "SatMAE's GroupChannelsVisionTransformer feeds its head the cls token",
      );
    },
    180_000,
  );
});
