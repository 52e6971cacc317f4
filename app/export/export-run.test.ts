/**
 * Exports as users take them elsewhere: the safetensors file has exactly timm's
 * `VisionTransformer` names and shapes for the preset, each format lands with its model card
 * and an `exports` row, the TF.js files reload from disk and match the encoder, a fine-tuned
 * classifier exports its logits, and nothing already on disk is overwritten.
 */
import { spawnSync } from 'node:child_process';
import { torchPython as python } from '../mae/torch-python.fixtures';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as converter from '@tensorflow/tfjs-converter';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAE_PRESETS } from '../mae/config';
import { createMae, disposeModel, forwardMae } from '../mae/model';
import { randomMasking, shuffleOrder } from '../mae/masking';
import { Rng } from '../mae/rng';
import { useCpuBackend } from '../mae/mae.fixtures';
import { decodeSafetensors, encodeSafetensors } from '../mae/weights/safetensors';
import { executeFinetune } from '../train/finetune-run';
import { planFinetune } from '../train/finetune-plan';
import { encodeFeatures } from '../train/probe-features';
import { loadRunModel } from '../train/probe-model';
import { pretrainedFixture, type PretrainedFixture } from '../train/probe.fixtures';
import { exportRun } from './export-run';
import { timmStateDict } from './timm';

/**
 * timm `VisionTransformer(patch_size=16, embed_dim=192, depth=12, num_heads=3, num_classes=0)`
 * — vit_tiny_patch16_224 — as its modules define it: PatchEmbed's Conv2d, the cls token, a
 * learned pos_embed over cls + 14×14 patches, 12 pre-norm Blocks (LayerNorm, Attention with a
 * fused qkv Linear with bias and a proj Linear, LayerNorm, Mlp fc1/fc2 at ratio 4), the final
 * LayerNorm; torch Linear weights are [out, in]; num_classes=0 makes the head an Identity.
 */
function timmVitTinyPatch16Table(): [string, number[]][] {
  const table: [string, number[]][] = [
    ['patch_embed.proj.weight', [192, 3, 16, 16]],
    ['patch_embed.proj.bias', [192]],
    ['cls_token', [1, 1, 192]],
    ['pos_embed', [1, 197, 192]],
  ];
  for (let i = 0; i < 12; i++) {
    table.push(
      [`blocks.${i}.norm1.weight`, [192]],
      [`blocks.${i}.norm1.bias`, [192]],
      [`blocks.${i}.attn.qkv.weight`, [576, 192]],
      [`blocks.${i}.attn.qkv.bias`, [576]],
      [`blocks.${i}.attn.proj.weight`, [192, 192]],
      [`blocks.${i}.attn.proj.bias`, [192]],
      [`blocks.${i}.norm2.weight`, [192]],
      [`blocks.${i}.norm2.bias`, [192]],
      [`blocks.${i}.mlp.fc1.weight`, [768, 192]],
      [`blocks.${i}.mlp.fc1.bias`, [768]],
      [`blocks.${i}.mlp.fc2.weight`, [192, 768]],
      [`blocks.${i}.mlp.fc2.bias`, [192]],
    );
  }
  table.push(['norm.weight', [192]], ['norm.bias', [192]]);
  return table;
}

let fixture: PretrainedFixture;
beforeAll(async () => {
  await useCpuBackend();
  fixture = await pretrainedFixture();
}, 120_000);
afterAll(() => fixture?.remove());

describe('safetensors for timm', () => {
  it("names and shapes every tensor exactly as timm's vit_tiny_patch16_224, and nothing else", () => {
    const model = createMae(MAE_PRESETS.maeVitTinyPatch16Dec512d8b(), 0);
    const parsed = decodeSafetensors(encodeSafetensors(timmStateDict(model, null), { format: 'pt' }));
    disposeModel(model);
    const names = [...parsed.tensors.keys()];
    expect(names.some((name) => name === 'mask_token' || name.startsWith('decoder_'))).toBe(false);
    expect(new Map([...parsed.tensors].map(([name, t]) => [name, t.shape]))).toEqual(
      new Map(timmVitTinyPatch16Table()),
    );
    expect(parsed.metadata).toEqual({ format: 'pt' });
  });

  it('writes config.json with the architecture, sizes, channels and normalisation, plus the model card', async () => {
    const out = path.join(fixture.dir, 'export-st');
    const result = await fixture.openAsync((w) => exportRun(w, fixture.runId, 'safetensors', out));
    expect(fs.readdirSync(out).sort()).toEqual([
      'MODEL_CARD.md',
      'config.json',
      'model.safetensors',
      'model_card.json',
    ]);
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      architecture: 'vit_tiny_patch16_224',
      num_classes: 0,
      model_args: {
        img_size: 32,
        patch_size: 8,
        in_chans: 1,
        embed_dim: 192,
        depth: 1,
        num_heads: 3,
        global_pool: 'avg',
        fc_norm: false,
      },
      pretrained_cfg: { input_size: [1, 32, 32] },
    });
    expect(config.pretrained_cfg.mean).toHaveLength(1);
    const tensors = decodeSafetensors(new Uint8Array(fs.readFileSync(path.join(out, 'model.safetensors')))).tensors;
    expect(tensors.get('patch_embed.proj.weight')!.shape).toEqual([192, 1, 8, 8]);
    expect(tensors.get('pos_embed')!.shape).toEqual([1, 17, 192]);
    expect(result.record).toMatchObject({
      runId: fixture.runId,
      format: 'safetensors',
      path: path.join(out, 'model.safetensors'),
    });
  });
});

describe('model cards and records', () => {
  it('summarise data, normalisation, recipe and losses without any file name, and list every export', async () => {
    const out = path.join(fixture.dir, 'export-onnx');
    await fixture.openAsync((w) => exportRun(w, fixture.runId, 'onnx', out));
    const markdown = fs.readFileSync(path.join(out, 'MODEL_CARD.md'), 'utf8');
    const json = fs.readFileSync(path.join(out, 'model_card.json'), 'utf8');
    for (const text of [markdown, json]) {
      expect(text).not.toContain(fixture.imageDir);
      expect(text).not.toMatch(/lesion-\d{3}\.png/);
    }
    const card = JSON.parse(json);
    expect(card.dataset).toMatchObject({
      project: 'Scans',
      domain: 'medical',
      channels: 1,
      trainImages: 18,
      valImages: 6,
    });
    expect(card.dataset.labels).toEqual([
      { label: 'ring-lesion', train: 9, val: 3 },
      { label: 'round-lesion', train: 9, val: 3 },
    ]);
    expect(card.losses.steps).toBe(12);
    expect(card.files.map((f: { name: string }) => f.name)).toEqual(['model.onnx']);
    expect(markdown).toContain('## Input normalisation');
    expect(fixture.open((w) => w.exports.list(fixture.projectId)).map((e) => e.format)).toContain('onnx');
  });

  it('refuses to overwrite files already in the destination', async () => {
    const out = path.join(fixture.dir, 'export-clash');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'model.onnx'), 'mine');
    await expect(fixture.openAsync((w) => exportRun(w, fixture.runId, 'onnx', out))).rejects.toThrow(
      /already holds model.onnx/,
    );
    expect(fs.readFileSync(path.join(out, 'model.onnx'), 'utf8')).toBe('mine');
  });
});

describe('TF.js and ONNX files', () => {
  it('reload from disk and give the encoder features of the run', async () => {
    const out = path.join(fixture.dir, 'export-tfjs');
    await fixture.openAsync((w) => exportRun(w, fixture.runId, 'tfjs', out));
    const modelJson = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8'));
    const weights = fs.readFileSync(path.join(out, modelJson.weightsManifest[0].paths[0]));
    const graph = await converter.loadGraphModel(
      tf.io.fromMemory({
        modelTopology: modelJson.modelTopology,
        weightSpecs: modelJson.weightsManifest[0].weights,
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
      }),
    );
    const loaded = await fixture.openAsync((w) => loadRunModel(w, fixture.runId));
    const input = tf.randomNormal([2, 1, 32, 32], 0, 1, 'float32', 11);
    const expected = encodeFeatures(loaded.model, input, 'mean');
    const features = graph.execute({ pixels: input }, 'features') as tf.Tensor;
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(features, expected))).dataSync()[0])).toBeLessThan(1e-4);
    tf.dispose([input, expected, features]);
    graph.dispose();
    loaded.dispose();
  });

  it("export a fine-tuned classifier whose ONNX logits match the run's own", async () => {
    const runId = fixture.open((w) =>
      planFinetune(w, fixture.runId, { steps: 2, warmupSteps: 1, batchSize: 4, evaluations: 1, backend: 'cpu' }),
    );
    await executeFinetune(fixture.workspaceDir, runId);
    const out = path.join(fixture.dir, 'export-classifier');
    await fixture.openAsync((w) => exportRun(w, runId, 'onnx', out));
    const loaded = await fixture.openAsync((w) => loadRunModel(w, runId));
    const input = tf.randomNormal([3, 1, 32, 32], 0, 1, 'float32', 12);
    const expected = tf.tidy(() =>
      tf.add(tf.matMul(encodeFeatures(loaded.model, input, 'mean'), loaded.head!.weight), loaded.head!.bias),
    );
    const session = await ort.InferenceSession.create(path.join(out, 'model.onnx'));
    const result = await session.run({
      pixels: new ort.Tensor('float32', input.dataSync() as Float32Array, [3, 1, 32, 32]),
    });
    expect(result.logits!.dims).toEqual([3, 2]);
    const difference = Math.max(
      ...Array.from(result.logits!.data as Float32Array, (value, i) => Math.abs(value - expected.dataSync()[i]!)),
    );
    expect(difference).toBeLessThan(1e-4);
    const card = JSON.parse(fs.readFileSync(path.join(out, 'model_card.json'), 'utf8'));
    expect(card.model.classes).toEqual(['ring-lesion', 'round-lesion']);
    expect(card.recipe.finetuning).toMatchObject({ steps: 2, layerDecay: 0.75 });
    tf.dispose([input, expected]);
    loaded.dispose();
  });
});

describe.skipIf(!python && process.env.CI !== 'true')('the whole MAE in the official names (--full)', () => {
  it("loads into models_mae.py's MaskedAutoencoderViT with strict=True and gives the run's loss", async () => {
    const out = path.join(fixture.dir, 'export-full');
    const result = await fixture.openAsync((w) => exportRun(w, fixture.runId, 'safetensors', out, { full: true }));
    expect(result.card.usage).toContain('strict=True');
    const { tensors } = decodeSafetensors(new Uint8Array(fs.readFileSync(path.join(out, 'model.safetensors'))));
    expect([...tensors.keys()].some((name) => name.startsWith('optimizer'))).toBe(false);
    expect(
      tensors.has('mask_token') && tensors.has('decoder_pred.weight') && tensors.has('blocks.0.attn.qkv.weight'),
    ).toBe(true);

    // Our loss on two images with a fixed mask, then PyTorch's on the same inputs from the exported file.
    const loaded = await fixture.openAsync((w) => loadRunModel(w, fixture.runId));
    const { imgSize, patchSize, inChans } = loaded.model.config;
    const masks = randomMasking({ batchSize: 2, gridSide: imgSize / patchSize, maskRatio: 0.75 }, Rng.fromSeed(3));
    const imgs = tf.randomNormal([2, inChans, imgSize, imgSize], 0, 1, 'float32', 13);
    const { loss, pred } = forwardMae(loaded.model, imgs, masks);
    const ours = loss.dataSync()[0]!;
    const inputs = path.join(out, 'inputs.json');
    fs.writeFileSync(
      inputs,
      JSON.stringify({
        imgs: Array.from(imgs.dataSync()),
        shuffle: Array.from(shuffleOrder(masks)),
        shape: imgs.shape,
      }),
    );
    tf.dispose([loss, pred, imgs]);
    loaded.dispose();
    const script = `
import json, sys, torch
from mae_model import Mae
from tensor_files import read_safetensors
a = json.load(open(sys.argv[1]))["args"]
model = Mae({"img": a["img_size"], "patch": a["patch_size"], "chans": a["in_chans"], "dim": a["embed_dim"],
             "depth": a["depth"], "heads": a["num_heads"], "dec_dim": a["decoder_embed_dim"],
             "dec_depth": a["decoder_depth"], "dec_heads": a["decoder_num_heads"], "mlp": a["mlp_ratio"],
             "norm_pix": a["norm_pix_loss"]})
tensors, _ = read_safetensors(sys.argv[2])
model.load_state_dict(tensors, strict=True)
x = json.load(open(sys.argv[3]))
imgs = torch.tensor(x["imgs"]).reshape(x["shape"])
shuffle = torch.tensor(x["shuffle"]).reshape(x["shape"][0], -1)
with torch.no_grad():
    print(float(model.loss(imgs, shuffle, 0.75)))
`;
    const run = spawnSync(
      python ?? 'python3',
      ['-c', script, path.join(out, 'config.json'), path.join(out, 'model.safetensors'), inputs],
      {
        encoding: 'utf8',
        env: { ...process.env, PYTHONPATH: path.resolve('app/handoff/torch') },
      },
    );
    expect(run.stderr).toBe('');
    const theirs = Number(run.stdout.trim());
    expect(Math.abs(theirs - ours) / ours).toBeLessThan(1e-4);
  });

  it('refuses --full for formats other than safetensors', async () => {
    await expect(
      fixture.openAsync((w) => exportRun(w, fixture.runId, 'onnx', path.join(fixture.dir, 'x'), { full: true })),
    ).rejects.toThrow(/safetensors only/);
  });
});
