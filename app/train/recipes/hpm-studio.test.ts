/**
 * HPM through the training services, on a real workspace of RGB PNGs: the dialog offers it with
 * its paper and default share, the mask preview draws its masks and says how many it mines, a
 * tiny run trains with its loss predictor, the history and the model card name it and cite Wang
 * et al., the encoder exports as timm safetensors (the loss predictor is a decoder part), and the
 * torchrun hand-off refuses it in words.
 */
import fs from 'node:fs';
import { readSafetensorsHeader } from '../../mae/weights/safetensors.fixtures';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeHandoff } from '../../handoff/handoff';
import { Studio } from '../../studio';

let dir: string;
let studio: Studio;
let projectId: number;
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

/** A 32×32 RGB picture: a bright disc on a gradient, placed by `seed`. */
async function picture(seed: number): Promise<Buffer> {
  const pixels = Buffer.alloc(32 * 32 * 3);
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      const disc = (x - 8 - seed) ** 2 + (y - 16) ** 2 < 40 ? 150 : 0;
      for (let c = 0; c < 3; c++) pixels[(y * 32 + x) * 3 + c] = Math.min(255, x * 4 + c * 30 + disc);
    }
  }
  return sharp(pixels, { raw: { width: 32, height: 32, channels: 3 } })
    .png()
    .toBuffer();
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-hpm-'));
  for (const label of ['left', 'right']) fs.mkdirSync(path.join(dir, 'photos', label), { recursive: true });
  for (let i = 0; i < 12; i++)
    fs.writeFileSync(path.join(dir, 'photos', i % 2 === 0 ? 'left' : 'right', `photo-${i}.png`), await picture(i));
  studio = new Studio(path.join(dir, 'ws'));
  projectId = studio.workspace.projects.create('Photos', 'microscopy').id;
  await studio.runImport('test', projectId, [path.join(dir, 'photos')]);
}, 120_000);
afterAll(async () => {
  await studio.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('HPM through the studio', () => {
  it('is offered, previews its masks, trains, is named in history and card, and is not handed off', async () => {
    const defaults = await studio.services.training.defaults(projectId);
    const hpm = defaults.domainRecipes.find((choice) => choice.name === 'hpm')!;
    expect(hpm.citation).toMatch(/^Wang et al\. 2023, "Hard Patches Mining for Masked Image Modeling"/);
    expect(hpm.options).toEqual({ hardPatchShare: 0.5 });
    expect(defaults.recipe.hardPatchShare).toBe(0.5);

    const image = studio.workspace.images.usable(projectId, 'path')[0]!;
    const query = {
      imageId: image.id,
      strategy: 'random',
      maskRatio: 0.75,
      patchSize: 8,
      imgSize: 32,
      seed: 2,
    } as const;
    const preview = await studio.services.training.previewMask({ ...query, hardPatchShare: 0.5 });
    expect(preview.mask.reduce((a, b) => a + b, 0)).toBe(12);
    expect(preview.hardPatches).toEqual({ share: 0.5, count: 6, masked: 12 });
    await expect(studio.services.training.previewMask({ ...query, hardPatchShare: 0.5, channels: 3 })).rejects.toThrow(
      'hardPatchShare (HPM) masks one token per patch',
    );

    const refused = await studio.services.training.check(projectId, {
      ...TINY,
      domainRecipe: 'hpm',
      maskStrategy: 'block',
    });
    expect(refused.errors).toContainEqual({
      field: 'maskStrategy',
      message: expect.stringContaining('be random with HPM'),
    });

    const run = await studio.services.training.start(projectId, { ...TINY, domainRecipe: 'hpm', hardPatchShare: 0.4 });
    await expect
      .poll(() => studio.workspace.runs.get(run.id).status, { timeout: 90_000, interval: 100 })
      .toMatch(/completed|failed/);
    const done = await studio.services.runs.get(run.id);
    expect(done.status, studio.workspace.runs.get(run.id).error ?? '').toBe('completed');
    expect(Number.isFinite(done.finalTrainLoss)).toBe(true);
    expect(Number.isFinite(done.finalValLoss)).toBe(true);
    expect(done.recipe!.domainRecipe).toMatchObject({
      name: 'hpm',
      label: 'HPM (hard patches mining)',
      reconstructs: true,
      details: expect.stringContaining('a share growing from 0 to 0.4 over training'),
      citation: expect.stringMatching(/^Wang et al\. 2023/),
    });

    const card = (await studio.services.exports.preview(run.id, 'safetensors')).modelCard;
    expect(card).toContain(
      'An encoder pretrained on the data below with HPM (hard patches mining) ' +
        '(Wang et al. 2023), a Masked Autoencoder (He et al. 2021) recipe.',
    );
    expect(card).toContain(
      "loss on per-patch normalised pixels plus the loss predictor's relative (ranking) objective",
    );
    const exported = await studio.services.exports.create(run.id, 'safetensors', path.join(dir, 'export'));
    const header = readSafetensorsHeader(path.join(exported.dir, 'model.safetensors'));
    expect(Object.keys(header).filter((name) => name.startsWith('decoder'))).toEqual([]);
    expect(header['patch_embed.proj.weight']).toMatchObject({ shape: [192, 3, 8, 8] });

    await expect(writeHandoff(path.join(dir, 'ws'), run.id, path.join(dir, 'job'))).rejects.toThrow(
      `run ${run.id} is a HPM (hard patches mining) run: ` +
        "the torchrun job trains the paper's MAE and the Deblurring MAE only; ",
    );
  }, 180_000);
});
