/**
 * A SatMAE temporal pretraining run (the built-in image series: 4-band 16-bit TIFFs named by
 * date, one folder per place) exported through the service: the encoder under models_vit_temporal
 * .py's names loads strictly into our PyTorch re-implementation of SatMAE's temporal
 * `VisionTransformer` (app/handoff/torch/satmae_temporal_model.py) and gives the studio's tokens
 * for the same frames and timestamps; `--full` loads strictly into `MaskedAutoencoderViT` and
 * gives the studio's loss for the same mask. ONNX and TF.js are refused, saying why, and so is the
 * torchrun hand-off (its job trains models_mae.py on single images).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSeriesSample } from '../data/synthetic/series';
import { writeHandoff } from '../handoff/handoff';
import { shuffleOrder } from '../mae/masking';
import { forwardMae } from '../mae/model';
import { Rng } from '../mae/rng';
import { temporalMasks } from '../mae/temporal';
import { runTorch, torchPython as python } from '../mae/torch-python.fixtures';
import { Studio } from '../studio';
import { encodeAllPatches } from '../train/probe-features';
import { loadRunModel } from '../train/probe-model';

const SCRIPT = `
import json, sys, torch
from satmae_temporal_model import MaskedAutoencoderViT, VisionTransformer
from tensor_files import read_safetensors
full_dir, encoder_dir, inputs = sys.argv[1:4]
x = json.load(open(inputs))
imgs = torch.tensor(x["imgs"]).reshape(x["shape"])
timestamps = torch.tensor(x["timestamps"]).reshape(x["shape"][0], x["shape"][1], 3)
ids = torch.tensor(x["ids_shuffle"]).reshape(x["shape"][0], -1)
config = json.load(open(full_dir + "/config.json"))
model = MaskedAutoencoderViT(**config["args"], **config["constants"])
model.load_state_dict(read_safetensors(full_dir + "/model.safetensors")[0], strict=True)
config = json.load(open(encoder_dir + "/config.json"))
constants = config["constants"]
encoder = VisionTransformer(**config["args"], frames=constants["frames"], time_embed_dim=constants["time_embed_dim"])
encoder.load_state_dict(read_safetensors(encoder_dir + "/model.safetensors")[0], strict=True)
with torch.no_grad():
    loss, _, _ = model(imgs, timestamps, mask_ratio=x["mask_ratio"], mask=ids)
    tokens = encoder.norm(encoder.forward_tokens(imgs, timestamps))
    features = encoder.forward_features(imgs, timestamps)
print(json.dumps({"loss": float(loss), "tokens": tokens.flatten().tolist(), "features": features.flatten().tolist()}))
`;

let dir: string;
let studio: Studio;
let runId: number;

/** Waits for a run's process to finish and leave (expect.poll works only inside a test). */
async function finished(id: number): Promise<void> {
  const deadline = Date.now() + 90_000;
  const running = async () =>
    !/completed|failed/.test(studio.workspace.runs.get(id).status) ||
    (await studio.services.training.active()).some((active) => active.id === id);
  while ((await running()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-temporal-export-'));
  await writeSeriesSample(path.join(dir, 'series'), { places: 3, dates: 3, seed: 4 });
  studio = new Studio(path.join(dir, 'ws'));
  const projectId = studio.workspace.projects.create('Series', 'remote-sensing').id;
  await studio.runImport('test', projectId, [path.join(dir, 'series')]);
  const run = await studio.services.training.start(projectId, {
    domainRecipe: 'satmae-temporal',
    imgSize: 32,
    patchSize: 8,
    depth: 1,
    decoder: '64x1',
    batchSize: 2,
    steps: 2,
    seed: 3,
    backend: 'cpu',
  });
  runId = run.id;
  await finished(runId);
}, 120_000);
afterAll(async () => {
  await studio.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

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

describe("SatMAE temporal exports under SatMAE's names", () => {
  it('writes the encoder and the whole MAE with the timestamps explained; refuses ONNX and TF.js', async () => {
    expect(studio.workspace.runs.get(runId).status).toBe('completed');
    const encoder = await studio.services.exports.create(runId, 'safetensors', path.join(dir, 'encoder'));
    const config = JSON.parse(fs.readFileSync(path.join(encoder.dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      architecture: 'VisionTransformer',
      source: 'github.com/sustainlab-group/SatMAE models_vit_temporal.py',
      args: { in_chans: 4, embed_dim: 192, num_classes: 0, global_pool: false },
      constants: { frames: 3, time_embed_dim: 24, decoder_time_embed_dim: 8 },
      loads_into_satmae_unchanged: false, // ViT-Tiny: 24-wide date encodings, SatMAE's code fixes 128
      base_year: expect.any(Number),
    });
    expect(config.timestamps).toContain('year - base_year, month - 1, hour');
    const card = (await studio.services.exports.preview(runId, 'safetensors', { full: true })).modelCard;
    expect(card).toContain('from models_mae_temporal import MaskedAutoencoderViT');
    expect(card).toContain("SatMAE's code hard-codes 3 dates");
    await expect(studio.services.exports.create(runId, 'onnx', path.join(dir, 'onnx'))).rejects.toThrow(
      `run ${runId} is a SatMAE (temporal) run: its encoder adds sin-cos encodings of each date's timestamp, ` +
        'which the ONNX encoder graph (pixels only, no sine or cosine) cannot express yet',
    );
    expect(fs.existsSync(path.join(dir, 'onnx'))).toBe(false);
    await expect(studio.services.exports.create(runId, 'tfjs', path.join(dir, 'tfjs'))).rejects.toThrow(
      'which the TF.js encoder graph (pixels only, no sine or cosine) cannot express yet',
    );
  }, 60_000);

  it('is refused by the torchrun hand-off, which says where the whole model goes instead', async () => {
    await expect(writeHandoff(studio.workspace.root, runId, path.join(dir, 'job'))).rejects.toThrow(
      "its samples are several dates of one place, each with a timestamp encoding, which the job's " +
        'models_mae.py MAE (one image per sample) does not read (export --format safetensors --full writes',
    );
    expect(fs.existsSync(path.join(dir, 'job'))).toBe(false);
  });

  it.skipIf(!runTorch)(
    "loads strictly into SatMAE's temporal classes and gives the studio's tokens and loss",
    async () => {
      const fullDir = path.join(dir, 'full-for-torch');
      const encoderDir = path.join(dir, 'encoder-for-torch');
      await studio.services.exports.create(runId, 'safetensors', fullDir, { full: true });
      await studio.services.exports.create(runId, 'safetensors', encoderDir);
      const loaded = await loadRunModel(studio.workspace, runId);
      const { config } = loaded.model;
      const frames = config.temporal!.frames;
      const masks = temporalMasks(
        'random',
        { batchSize: 2, gridSide: config.imgSize / config.patchSize, maskRatio: 0.75 },
        config.temporal!,
        Rng.fromSeed(7, 3),
      );
      const shape = [2, frames * config.inChans, config.imgSize, config.imgSize];
      const imgs = tf.randomNormal(shape, 0, 1, 'float32', 11);
      // different years, months and hours per date
      const timestamps = Float32Array.from([0, 3, 10, 1, 7, 11, 2, 11, 9, 0, 0, 0, 1, 5, 14, 3, 8, 23]);
      const { loss } = forwardMae(loaded.model, imgs, masks, { timestamps });
      const ours = loss.dataSync()[0]!;
      const tokens = encodeAllPatches(loaded.model, imgs, timestamps);
      const ourTokens = tokens.dataSync().slice();
      fs.writeFileSync(
        path.join(dir, 'inputs.json'),
        JSON.stringify({
          imgs: Array.from(imgs.dataSync()),
          shape: [2, frames, config.inChans, config.imgSize, config.imgSize],
          timestamps: Array.from(timestamps),
          ids_shuffle: Array.from(shuffleOrder(masks)),
          mask_ratio: 0.75,
        }),
      );
      tf.dispose([loss, imgs, tokens]);
      loaded.dispose();
      const run = spawnSync(python ?? 'python3', ['-c', SCRIPT, fullDir, encoderDir, path.join(dir, 'inputs.json')], {
        encoding: 'utf8',
        env: { ...process.env, PYTHONPATH: path.resolve('app/handoff/torch') },
      });
      expect(run.stderr).toBe('');
      const theirs = JSON.parse(run.stdout) as { loss: number; tokens: number[]; features: number[] };
      expect(theirs.tokens).toHaveLength(ourTokens.length); // [2, 1 + 3·16, 192]
      expect(relativeError(ourTokens, theirs.tokens)).toBeLessThan(1e-5);
      const cls = Array.from({ length: 2 }, (_, b) => [...ourTokens.subarray(b * 49 * 192, b * 49 * 192 + 192)]);
      expect(relativeError(cls.flat(), theirs.features)).toBeLessThan(1e-5);
      expect(Math.abs(theirs.loss - ours) / ours).toBeLessThan(1e-5);
    },
    60_000,
  );
});
