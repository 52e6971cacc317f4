/**
 * Domain recipes through the training services, on a real workspace of 4-band GeoTIFFs whose
 * band descriptions name them (as GDAL writes Sentinel-2 exports): the dialog's suggestion and
 * its reason, field errors naming missing bands, the plan's bands found by name, and tiny runs of
 * each recipe in a training process that end with a finite loss.
 */
import fs from 'node:fs';
import { readSafetensorsHeader } from '../../mae/weights/safetensors.fixtures';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDicom, writeTiff } from '../../data/formats/formats.fixtures';
import { exportRun } from '../../export/export-run';
import { writeHandoff } from '../../handoff/handoff';
import { Studio } from '../../studio';
import { buildPretrainPlan } from '../pretrain-plan';
import { recipeSummary } from '../recipe';
import { costKey } from '../run-time';
import { listReconstructionGrids, runFolder } from '../run-files';

let dir: string;
let studio: Studio;
let projectId: number;
const BANDS = ['B2 blue', 'B3 green', 'B4 red', 'B8 NIR'];
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

/** A 32×32 4-band uint16 tile: vegetation (high NIR) or water (low NIR), with texture. */
function tile(kind: 'field' | 'water', seed: number): Uint8Array {
  const reflectance = kind === 'field' ? [500, 900, 600, 3500] : [700, 600, 400, 150];
  const values = new Uint16Array(32 * 32 * 4);
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      const texture = 1 + 0.2 * Math.sin((x * (seed + 1) + y * 3) / 4);
      for (let band = 0; band < 4; band++) values[(y * 32 + x) * 4 + band] = Math.round(reflectance[band]! * texture);
    }
  }
  return writeTiff([{ width: 32, height: 32, bands: 4, sampleType: 'uint16', values, bandNames: BANDS }]);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-recipes-'));
  for (const kind of ['field', 'water'] as const) {
    fs.mkdirSync(path.join(dir, 'tiles', kind), { recursive: true });
    for (let i = 0; i < 8; i++) fs.writeFileSync(path.join(dir, 'tiles', kind, `${kind}-${i}.tif`), tile(kind, i));
  }
  studio = new Studio(path.join(dir, 'ws'));
  projectId = studio.workspace.projects.create('Tiles', 'remote-sensing').id;
  await studio.runImport('test', projectId, [path.join(dir, 'tiles')]);
}, 120_000);
afterAll(async () => {
  await studio.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function finished(runId: number): Promise<void> {
  await expect
    .poll(() => studio.workspace.runs.get(runId).status, { timeout: 90_000, interval: 100 })
    .toMatch(/completed|failed/);
  await expect
    .poll(async () => (await studio.services.training.active()).some((run) => run.id === runId), { timeout: 10_000 })
    .toBe(false);
}

describe('domain recipes in the studio', () => {
  it('suggests FG-MAE for named multispectral bands, with the indices those bands allow and why', async () => {
    const defaults = await studio.services.training.defaults(projectId);
    expect(defaults.recipe.domainRecipe).toBe('fgmae');
    expect(defaults.recipe.featureTargets).toEqual(['hog', 'ndvi', 'ndwi']);
    const fgmae = defaults.domainRecipes.find((choice) => choice.name === 'fgmae')!;
    expect(fgmae.suggested).toBe(true);
    expect(fgmae.why).toMatch(
      /^These 4-band images name their bands, so FG-MAE can regress HOG and NDVI, NDWI per patch/,
    );
    expect(fgmae.citation).toMatch(/^Wang et al\. 2023/);
    expect(fgmae.targets!.find((target) => target.target === 'ndvi')).toEqual({
      target: 'ndvi',
      available: true,
      reason: 'From nir "B8 NIR" and red "B4 red".',
    });
    expect(fgmae.targets!.find((target) => target.target === 'ndbi')!.available).toBe(false);
    expect(defaults.domainRecipes.filter((choice) => choice.suggested)).toHaveLength(1);
  });

  it('suggests the deblurring MAE for ultrasound DICOMs, by their modality', async () => {
    const folder = path.join(dir, 'scans');
    fs.mkdirSync(folder, { recursive: true });
    for (let i = 0; i < 6; i++) {
      const values = Array.from({ length: 32 * 32 }, (_, k) => (k * (i + 3)) % 251);
      fs.writeFileSync(
        path.join(folder, `scan-${i}.dcm`),
        writeDicom({ rows: 32, columns: 32, bitsAllocated: 8, photometric: 'MONOCHROME2', values, modality: 'US' }),
      );
    }
    const scans = studio.workspace.projects.create('Scans', 'medical').id;
    await studio.runImport('test', scans, [folder]);
    expect(studio.workspace.images.modalities(scans)).toEqual([{ modality: 'US', count: 6 }]);
    const defaults = await studio.services.training.defaults(scans);
    expect(defaults.recipe.domainRecipe).toBe('deblur');
    expect(defaults.domainRecipes.find((choice) => choice.suggested)!.why).toMatch(
      /^These are ultrasound scans: Kang et al\. found/,
    );
  });

  it('says which bands an index lacks, and checks the blur in its own words', async () => {
    const ndbi = await studio.services.training.check(projectId, {
      ...TINY,
      domainRecipe: 'fgmae',
      featureTargets: ['hog', 'ndbi'],
    });
    expect(ndbi.errors).toEqual([
      {
        field: 'featureTargets',
        message:
          'NDBI needs bands named swir and nir in the channel plan; missing: ' +
          'swir (the bands are named "B2 blue", "B3 green", "B4 red", "B8 NIR")',
      },
    ]);
    const blur = await studio.services.training.check(projectId, { ...TINY, domainRecipe: 'deblur', blurSigma: 20 });
    expect(blur.errors).toEqual([{ field: 'blurSigma', message: 'Blur σ can be at most 16 pixels' }]);
    const empty = await studio.services.training.check(projectId, {
      ...TINY,
      domainRecipe: 'fgmae',
      featureTargets: [],
    });
    expect(empty.errors[0]).toMatchObject({
      field: 'featureTargets',
      message: expect.stringMatching(/^Feature targets is empty/),
    });
    // Options of a recipe not chosen are ignored: the plain MAE checks fine with them set.
    expect(
      (
        await studio.services.training.check(projectId, {
          ...TINY,
          domainRecipe: 'mae',
          blurSigma: 2,
          featureTargets: ['ndbi'],
        })
      ).ok,
    ).toBe(true);
  });

  it('plans NDVI from the bands named red and nir, and the history names the recipe and its paper', () => {
    const plan = buildPretrainPlan(studio.workspace, projectId, {
      ...TINY,
      domainRecipe: 'fgmae',
      featureTargets: ['ndvi', 'hog'],
    });
    expect(plan.recipe.domainRecipe).toMatchObject({
      name: 'fgmae',
      targets: ['hog', 'ndvi'],
      bands: { red: { channel: 2, name: 'B4 red' }, nir: { channel: 3, name: 'B8 NIR' } },
    });
    expect(plan.recipe.model.featureHeads).toEqual([
      { name: 'hog', width: 4 * 4 * 9 },
      { name: 'indices', width: 64 },
    ]);
    expect(recipeSummary(plan).domainRecipe).toEqual({
      name: 'fgmae',
      label: 'FG-MAE',
      details: 'masked patches regressed as HOG + NDVI (red = "B4 red", nir = "B8 NIR")',
      citation: expect.stringMatching(/^Wang et al\. 2023, "Feature Guided Masked Autoencoder/),
      reconstructs: false,
    });
    const plain = buildPretrainPlan(studio.workspace, projectId, TINY);
    expect(plain.recipe.domainRecipe).toBeUndefined();
    // A warm-up measured for one recipe is not reused for another (the blur, HOG cost host time).
    const deblur = buildPretrainPlan(studio.workspace, projectId, { ...TINY, domainRecipe: 'deblur' });
    expect(costKey(projectId, deblur)).not.toBe(costKey(projectId, plain));
    expect(costKey(projectId, buildPretrainPlan(studio.workspace, projectId, { ...TINY, domainRecipe: 'mae' }))).toBe(
      costKey(projectId, plain),
    );
    expect(recipeSummary(plain).domainRecipe).toMatchObject({
      name: 'mae',
      citation: expect.stringMatching(/^He et al\. 2021/),
    });
  });

  it("previews the deblurring MAE's input: the same mask over the picture blurred by its filter", async () => {
    const image = studio.workspace.images.usable(projectId, 'path')[0]!;
    const query = {
      imageId: image.id,
      strategy: 'random' as const,
      maskRatio: 0.75,
      patchSize: 8,
      imgSize: 32,
      seed: 1,
    };
    const sharpPreview = await studio.services.training.previewMask(query);
    const blurred = await studio.services.training.previewMask({ ...query, blurSigma: 2 });
    expect(blurred.mask).toEqual(sharpPreview.mask);
    expect(blurred.blurSigma).toBe(2);
    /** Mean squared difference of horizontally neighbouring pixels: what a blur takes away. */
    const roughness = async (dataUrl: string) => {
      const { data, info } = await sharp(Buffer.from(dataUrl.split(',')[1]!, 'base64'))
        .raw()
        .toBuffer({ resolveWithObject: true });
      let sum = 0;
      for (let i = info.channels; i < data.length; i++) sum += (data[i]! - data[i - info.channels]!) ** 2;
      return sum / data.length;
    };
    expect(await roughness(blurred.dataUrl)).toBeLessThan(0.5 * (await roughness(sharpPreview.dataUrl)));
  });

  it('trains FG-MAE (features only: no grid) and deblurring MAE (sharp image grid) to a finite loss', async () => {
    const fgmae = await studio.services.training.start(projectId, {
      ...TINY,
      domainRecipe: 'fgmae',
      featureTargets: ['hog', 'ndvi'],
    });
    await finished(fgmae.id);
    const fgmaeRun = await studio.services.runs.get(fgmae.id);
    expect(fgmaeRun.status).toBe('completed');
    expect(Number.isFinite(fgmaeRun.finalTrainLoss)).toBe(true);
    expect(Number.isFinite(fgmaeRun.finalValLoss)).toBe(true);
    expect(listReconstructionGrids(runFolder(studio.workspace.projectDir(projectId), fgmae.id))).toEqual([]);

    const deblur = await studio.services.training.start(projectId, { ...TINY, domainRecipe: 'deblur', blurSigma: 1.5 });
    await finished(deblur.id);
    const deblurRun = await studio.services.runs.get(deblur.id);
    expect(deblurRun.status).toBe('completed');
    expect(deblurRun.recipe!.domainRecipe!.details).toBe(
      'encoder sees the image blurred by a Gaussian of σ 1.5 px; masked patches regressed as the sharp image',
    );
    expect(
      listReconstructionGrids(runFolder(studio.workspace.projectDir(projectId), deblur.id)).length,
    ).toBeGreaterThan(0);

    // The model card names the recipe and cites its paper; the encoder export holds no decoder head.
    const card = (await studio.services.exports.preview(deblur.id, 'safetensors')).modelCard;
    expect(card).toContain(
      'An encoder pretrained on the data below with Deblurring MAE ' +
        '(Kang et al. 2023), a Masked Autoencoder (He et al. 2021) recipe.',
    );
    expect(card).toContain(
      'Deblurring MAE: encoder sees the image blurred by a Gaussian of σ 1.5 px; masked patches ' +
        'regressed as the sharp image. After Kang et al. 2023, "Deblurring Masked Autoencoder',
    );
    expect(card).toContain('loss on per-patch normalised sharp pixels');
    const fgmaeCard = (await studio.services.exports.preview(fgmae.id, 'safetensors')).modelCard;
    expect(fgmaeCard).toContain(
      'FG-MAE: masked patches regressed as HOG + NDVI (red = "B4 red", nir = "B8 NIR"). After Wang et al. 2023',
    );
    const exported = await studio.services.exports.create(fgmae.id, 'safetensors', path.join(dir, 'export-fgmae'));
    const header = readSafetensorsHeader(path.join(exported.dir, 'model.safetensors'));
    expect(Object.keys(header).filter((name) => name.startsWith('decoder'))).toEqual([]);
    expect(header['patch_embed.proj.weight']).toMatchObject({ shape: [192, 4, 8, 8] });
    // The torchrun job continues a Deblurring MAE run (handoff.test.ts) but not FG-MAE: it says why.
    const full = await exportRun(studio.workspace, fgmae.id, 'safetensors', path.join(dir, 'export-fgmae-full'), {
      full: true,
    });
    expect(full.card.usage).toContain('strict=False');
    expect(full.card.usage).toContain('unexpected = its feature heads decoder_pred_hog.weight/.bias');
    const fullHeader = readSafetensorsHeader(path.join(full.dir, 'model.safetensors'));
    expect(fullHeader['decoder_pred_hog.weight']).toBeDefined();
    expect(fullHeader.mask_token).toBeDefined();
    await expect(writeHandoff(studio.workspace.root, fgmae.id, path.join(dir, 'job-fgmae'))).rejects.toThrow(
      `run ${fgmae.id} is a FG-MAE run: the torchrun job trains the paper's MAE and the Deblurring MAE only; ` +
        'its decoder regresses HOG and spectral-index targets',
    );
  }, 180_000);

  it('SatMAE: groups by name, names a bad group, trains without grids; exports it, card cites it', async () => {
    const bad = await studio.services.training.check(projectId, {
      ...TINY,
      domainRecipe: 'satmae',
      bandGroups: [['B2 blue', 'B13']],
    });
    const badMessage =
      'Band groups[0] names no band of these images: "B13" ' +
      '(bands: B2 blue (0), B3 green (1), B4 red (2), B8 NIR (3))';
    expect(bad.errors).toEqual([{ field: 'bandGroups', message: badMessage }]);
    const twice = await studio.services.training.check(projectId, {
      ...TINY,
      domainRecipe: 'satmae',
      bandGroups: [[0, 1], [1]],
    });
    expect(twice.errors[0]).toMatchObject({
      field: 'bandGroups',
      message: 'Band groups[1] names 1 (band 1) already in group 0; each band belongs to one group at most',
    });
    const plan = buildPretrainPlan(studio.workspace, projectId, {
      ...TINY,
      domainRecipe: 'satmae',
      bandGroups: [['B2 blue', 'B3 green', 'B4 red'], ['B8']],
    });
    expect(plan.recipe.model.groupedBands).toEqual({ groups: [[0, 1, 2], [3]], spatialMask: false });
    const run = await studio.services.training.start(projectId, {
      ...TINY,
      domainRecipe: 'satmae',
      bandGroups: [['B2 blue', 'B3 green', 'B4 red'], ['B8']],
    });
    await finished(run.id);
    const record = await studio.services.runs.get(run.id);
    expect(record.status).toBe('completed');
    expect(Number.isFinite(record.finalTrainLoss)).toBe(true);
    expect(Number.isFinite(record.finalValLoss)).toBe(true);
    expect(record.recipe!.domainRecipe).toMatchObject({
      label: 'SatMAE (grouped bands)',
      details:
        '2 band groups (B2 blue, B3 green, B4 red) (B8 NIR), each its own tokens and prediction head; ' +
        'masks drawn per group',
      citation: expect.stringMatching(/^Cong et al\. 2022, "SatMAE/),
      reconstructs: false,
    });
    expect(listReconstructionGrids(runFolder(studio.workspace.projectDir(projectId), run.id))).toEqual([]);
    const card = (await studio.services.exports.preview(run.id, 'safetensors')).modelCard;
    expect(card).toContain('SatMAE (grouped bands): 2 band groups (B2 blue, B3 green, B4 red) (B8 NIR)');
    // Exports embed each group on its own (app/export/satmae-export.test.ts loads them into SatMAE's classes).
    const exported = await studio.services.exports.create(run.id, 'onnx', path.join(dir, 'export-satmae'));
    expect(exported.files.map((file) => file.name)).toContain('model.onnx');
    // The mask preview draws each group's mask as training does: over all G·L tokens at once, or shared.
    const image = studio.workspace.images.usable(projectId, 'path')[0]!;
    const query = {
      imageId: image.id,
      strategy: 'random' as const,
      maskRatio: 0.75,
      patchSize: 8,
      imgSize: 32,
      seed: 2,
      bandGroups: 3,
    };
    const apart = await studio.services.training.previewMask(query);
    const hidden = apart.groupMasks!.map((mask) => mask.filter(Boolean).length);
    expect(hidden.reduce((a, b) => a + b)).toBe(36); // 3 × 16 tokens, int(48 · 0.25) = 12 kept
    expect(apart.numKeep).toBe(16 - hidden[0]!);
    expect(apart.keep).toHaveLength(apart.numKeep);
    expect(new Set(apart.groupMasks!.map((mask) => mask.join(''))).size).toBeGreaterThan(1);
    expect(apart.mask).toEqual(apart.groupMasks![0]);
    expect(apart.keep.every((patch) => apart.mask[patch] === 0)).toBe(true);
    const shared = await studio.services.training.previewMask({ ...query, spatialMask: true });
    expect(new Set(shared.groupMasks!.map((mask) => mask.join(''))).size).toBe(1);
    // Band groups and CA-MAE's channel tokens are two layouts: the preview draws one at a time.
    await expect(studio.services.training.previewMask({ ...query, channels: 3 })).rejects.toThrow(
      'bandGroups (SatMAE) and channels (CA-MAE) are two token layouts',
    );
    await expect(writeHandoff(studio.workspace.root, run.id, path.join(dir, 'job-satmae'))).rejects.toThrow(
      "is a SatMAE (grouped bands) run: the torchrun job trains the paper's MAE and the Deblurring MAE only",
    );
  }, 180_000);
});
