/**
 * CA-MAE through the training services, on a real workspace of 5-channel uint16 TIFFs (one stain
 * per channel, as Cell Painting plates are exported): the dialog suggests it and says why, a tiny
 * run trains and draws its grid, the history and the model card name it and cite Kraus et al.,
 * and the exports write Recursion's channel-agnostic names and a channel-token graph.
 */
import fs from 'node:fs';
import { runTorch } from '../../mae/torch-python.fixtures';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTiff } from '../../data/formats/formats.fixtures';
import { exportRun } from '../../export/export-run';
import { scriptModel, writeHandoff } from '../../handoff/handoff';
import { forwardMae } from '../../mae/model';
import { readSafetensors } from '../../mae/weights/safetensors';
import { Studio } from '../../studio';
import { loadRunModel } from '../probe-model';
import { listReconstructionGrids, runFolder } from '../run-files';
import { randomImages, randomShuffle, runReference } from './parity.fixtures';

let dir: string;
let studio: Studio;
let projectId: number;
const STAINS = ['DNA', 'ER', 'RNA', 'AGP', 'Mito'];
const TINY = {
  imgSize: 32,
  patchSize: 8,
  depth: 1,
  decoder: '32x1',
  batchSize: 4,
  steps: 4,
  seed: 3,
  backend: 'cpu',
} as const;

/** A 32×32 5-channel uint16 field of view: round "nuclei" bright in one stain, texture in the others. */
function fieldOfView(seed: number): Uint8Array {
  const values = new Uint16Array(32 * 32 * 5);
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      const nucleus = (x - 8 - seed) ** 2 + (y - 16) ** 2 < 30 ? 1 : 0;
      for (let stain = 0; stain < 5; stain++) {
        values[(y * 32 + x) * 5 + stain] =
          200 +
          100 * stain +
          (stain === 0 ? 3000 * nucleus : Math.round(400 * (1 + Math.sin((x * (stain + 1) + y * seed) / 5))));
      }
    }
  }
  return writeTiff([{ width: 32, height: 32, bands: 5, sampleType: 'uint16', values, bandNames: STAINS }]);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-camae-'));
  for (const label of ['control', 'treated']) fs.mkdirSync(path.join(dir, 'plate', label), { recursive: true });
  for (let i = 0; i < 12; i++)
    fs.writeFileSync(path.join(dir, 'plate', i % 2 === 0 ? 'control' : 'treated', `well-${i}.tif`), fieldOfView(i));
  studio = new Studio(path.join(dir, 'ws'));
  projectId = studio.workspace.projects.create('Plate', 'microscopy').id;
  await studio.runImport('test', projectId, [path.join(dir, 'plate')]);
}, 120_000);
afterAll(async () => {
  await studio.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('CA-MAE in the studio', () => {
  it('is suggested for 5-channel microscopy, trains, names its paper and exports in Recursion names', async () => {
    const defaults = await studio.services.training.defaults(projectId);
    expect(defaults.recipe.domainRecipe).toBe('camae');
    const choice = defaults.domainRecipes.find((option) => option.suggested)!;
    expect(choice.why).toMatch(
      /^These 5-channel microscopy images have one stain per channel: CA-MAE tokenises each channel on its own/,
    );

    // Weights made for one token per patch cannot start a channel-token model: said on the field.
    const tiff = path.join(dir, 'plate', 'control', 'well-0.tif');
    const withInit = await studio.services.training.check(projectId, { ...TINY, domainRecipe: 'camae', init: tiff });
    expect(withInit.errors).toEqual([
      {
        field: 'init',
        message: expect.stringMatching(
          /^Weights file: a CA-MAE run cannot start from it: weights files \(timm, models_mae\.py\) embed all/,
        ),
      },
    ]);

    // The mask preview draws CA-MAE's masks: its own masking over 5 × 16 tokens, each channel apart.
    const image = studio.workspace.images.usable(projectId, 'path')[0]!;
    const preview = await studio.services.training.previewMask({
      imageId: image.id,
      strategy: 'random',
      maskRatio: 0.75,
      patchSize: 8,
      imgSize: 32,
      seed: 2,
      channels: 5,
    });
    expect(preview.channelMasks!.map((mask) => mask.length)).toEqual([16, 16, 16, 16, 16]);
    expect(preview.channelMasks!.flat().reduce((a, b) => a + b, 0)).toBe(60);
    expect(preview.mask).toHaveLength(16); // the plain per-patch mask is still there
    const blocks = await studio.services.training.previewMask({
      imageId: image.id,
      strategy: 'block',
      maskRatio: 0.75,
      patchSize: 8,
      imgSize: 32,
      seed: 2,
      channels: 5,
    });
    expect(blocks.channelMasks!.map((mask) => mask.reduce((a, b) => a + b, 0))).toEqual([12, 12, 12, 12, 12]);

    const run = await studio.services.training.start(projectId, { ...TINY, domainRecipe: 'camae' });
    await expect
      .poll(() => studio.workspace.runs.get(run.id).status, { timeout: 90_000, interval: 100 })
      .toMatch(/completed|failed/);
    const done = await studio.services.runs.get(run.id);
    expect(done.status).toBe('completed');
    expect(Number.isFinite(done.finalTrainLoss)).toBe(true);
    expect(Number.isFinite(done.finalValLoss)).toBe(true);
    expect(done.recipe!.domainRecipe).toMatchObject({
      name: 'camae',
      label: 'CA-MAE',
      reconstructs: true,
      citation: expect.stringMatching(/^Kraus et al\. 2024/),
    });
    expect(listReconstructionGrids(runFolder(studio.workspace.projectDir(projectId), run.id)).length).toBeGreaterThan(
      0,
    );

    // A linear probe and a short fine-tune read the encoder with every channel token, pooled.
    const { runId: probeId } = await studio.services.evaluation.probe(run.id, { method: 'linear', pooling: 'mean' });
    const { runId: finetuneId } = await studio.services.evaluation.finetune(run.id, { steps: 2, batchSize: 4 });
    for (const id of [probeId, finetuneId]) {
      await expect
        .poll(() => studio.workspace.runs.get(id).status, { timeout: 90_000, interval: 100 })
        .toMatch(/completed|failed/);
      expect(studio.workspace.runs.get(id).status, studio.workspace.runs.get(id).error ?? '').toBe('completed');
    }

    const card = (await studio.services.exports.preview(run.id, 'safetensors')).modelCard;
    expect(card).toContain(
      'An encoder pretrained on the data below with CA-MAE ' +
        '(Kraus et al. 2024), a Masked Autoencoder (He et al. 2021) recipe.',
    );
    expect(card).toContain('loss on per-patch normalised pixels of each self-standardised channel');
    // Exports: Recursion's channel-agnostic ViT names (encoder, whole model) and the channel-token graph.
    for (const format of ['safetensors', 'onnx', 'tfjs'] as const)
      await studio.services.exports.create(run.id, format, path.join(dir, `export-${format}`));
    expect(fs.existsSync(path.join(dir, 'export-onnx', 'model.onnx'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'export-tfjs', 'model.json'))).toBe(true);
    const encoder = (await readSafetensors(path.join(dir, 'export-safetensors', 'model.safetensors'))).tensors;
    expect(encoder.get('patch_embed.proj.weight')!.shape).toEqual([192, 1, 8, 8]);
    expect(encoder.get('pos_embed')!.shape).toEqual([1, 1 + 5 * 16, 192]);
    const usage = JSON.parse(fs.readFileSync(path.join(dir, 'export-safetensors', 'model_card.json'), 'utf8')).usage;
    expect(usage).toContain('channel_agnostic_vit');
    const full = path.join(dir, 'export-full');
    await exportRun(studio.workspace, run.id, 'safetensors', full, { full: true });
    const whole = (await readSafetensors(path.join(full, 'model.safetensors'))).tensors;
    expect(whole.get('encoder.vit_backbone.patch_embed.proj.weight')!.shape).toEqual([192, 1, 8, 8]);
    expect(whole.get('decoder.modality_tokens.4')!.shape).toEqual([1, 1, 32]);
    expect(JSON.parse(fs.readFileSync(path.join(full, 'config.json'), 'utf8')).unmapped.length).toBe(3);
    if (runTorch) {
      // The exported file, loaded strictly into the PyTorch CA-MAE, gives the run's own loss on a batch.
      const loaded = await loadRunModel(studio.workspace, run.id);
      const { ids, masks } = randomShuffle(2, 5 * 16, 20, 9);
      const pixels = randomImages([2, 5, 32, 32], 8).map((value) => 500 + 100 * value);
      const imgs = tf.tensor4d(pixels, [2, 5, 32, 32]);
      const ours = tf.tidy(() => forwardMae(loaded.model, imgs, masks).loss.dataSync()[0]!);
      const theirs = runReference(
        {
          recipe: 'camae',
          config: { ...scriptModel(loaded.model.config), fourier: loaded.model.config.fourierLossWeight ?? 0 },
          imgs: Array.from(pixels),
          shape: [2, 5, 32, 32],
          idsShuffle: ids,
          keep: 20,
        },
        { 'weights.safetensors': whole, 'encoder.safetensors': encoder },
      );
      expect(Math.abs(theirs.loss - ours) / ours).toBeLessThan(1e-4);
      imgs.dispose();
      loaded.dispose();
    }
    // The torchrun job's models_mae.py MAE has no channel tokens: it refuses the run and says where to go.
    await expect(writeHandoff(studio.workspace.root, run.id, path.join(dir, 'job'))).rejects.toThrow(
      `run ${run.id} is a CA-MAE run: the torchrun job trains the paper's MAE and the Deblurring MAE only; ` +
        'its tokens are one per channel and patch',
    );
  }, 180_000);
});
