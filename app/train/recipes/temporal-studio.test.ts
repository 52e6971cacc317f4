/**
 * SatMAE temporal through the training services, on a workspace of generated series (4-band
 * 16-bit TIFFs named by date, one folder per place; one place dated by TIFF DateTime tags only):
 * the dialog offers it with the places and what is left out, a field error names the most dates a
 * place has, the plan leaves short places out by name, a tiny run trains on T dates per sample to
 * a finite loss, ONNX and fine-tuning refuse it, probes and embeddings read each image as a
 * one-date series (an image without a date skipped, saying why), and the mask preview draws each
 * date's mask beside that date's picture.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTiff } from '../../data/formats/formats.fixtures';
import { writeSeriesSample } from '../../data/synthetic/series';
import type { ProbeReport } from '../../contract';
import { Studio } from '../../studio';
import { buildPretrainPlan } from '../pretrain-plan';
import { listReconstructionGrids, runFolder } from '../run-files';

let dir: string;
let studio: Studio;
let projectId: number;
const TINY = {
  domainRecipe: 'satmae-temporal',
  imgSize: 32,
  patchSize: 8,
  depth: 1,
  decoder: '64x1',
  batchSize: 4,
  steps: 3,
  seed: 3,
  backend: 'cpu',
} as const;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-temporal-'));
  const root = path.join(dir, 'series');
  await writeSeriesSample(root, { places: 3, dates: 3, seed: 2 });
  // A place seen twice only, and an image whose name has no date.
  await writeSeriesSample(path.join(dir, 'short'), { places: 1, dates: 2, seed: 9 });
  fs.renameSync(path.join(dir, 'short', 'place-01'), path.join(root, 'short'));
  const loose = await writeSeriesSample(path.join(dir, 'loose'), { places: 1, dates: 1, seed: 11 });
  const looseFolder = path.join(loose.dir, 'place-01');
  fs.renameSync(path.join(looseFolder, fs.readdirSync(looseFolder)[0]!), path.join(root, 'scene.tif'));
  // A place whose file names hold no date: the TIFF DateTime tag (306) dates them.
  fs.mkdirSync(path.join(root, 'tagged'));
  for (const [name, dateTime] of [
    ['a.tif', '2020:03:01 10:30:00'],
    ['b.tif', '2020:09:01 11:00:00'],
  ] as const) {
    const values = Uint16Array.from({ length: 32 * 32 * 4 }, (_, k) => (k * (name === 'a.tif' ? 7 : 13)) % 4000);
    const tiff = writeTiff([{ width: 32, height: 32, bands: 4, sampleType: 'uint16', values, dateTime }]);
    fs.writeFileSync(path.join(root, 'tagged', name), tiff);
  }
  studio = new Studio(path.join(dir, 'ws'));
  projectId = studio.workspace.projects.create('Series', 'remote-sensing').id;
  await studio.runImport('test', projectId, [root]);
}, 120_000);
afterAll(async () => {
  await studio.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('SatMAE temporal in the studio', () => {
  it('is offered with the places, their dates and what is left out', async () => {
    const defaults = await studio.services.training.defaults(projectId);
    const choice = defaults.domainRecipes.find((recipe) => recipe.name === 'satmae-temporal')!;
    expect(choice).toMatchObject({ label: 'SatMAE (temporal)', available: true, options: { frames: 3 } });
    expect(choice.series).toMatchObject({ places: 5, datedImages: 13, datesPerPlace: { min: 2, max: 3 } });
    const tagged = choice.series!.placeList.find((place) => place.name === 'tagged');
    expect(tagged).toEqual({ name: 'tagged', dates: 2, first: '2020-03-01 10h', last: '2020-09-01 11h' });
    expect(choice.series!.left).toEqual([{ path: expect.stringMatching(/scene\.tif$/), reason: expect.any(String) }]);
    expect(choice.why).toContain('5 places with 2–3 dates each');
    expect(choice.why).toContain('2 places have fewer than 3 dates, left out at 3');
  });

  it('names the most dates a place has when no place has enough', async () => {
    const check = await studio.services.training.check(projectId, { ...TINY, dates: 4 });
    expect(check.errors).toEqual([
      {
        field: 'dates',
        message: 'Dates per sample: no place has 4 dates (the most a place has is 3); choose at most 3',
      },
    ]);
  });

  it('trains on three dates per sample without the short place; probes and embeds each image by date', async () => {
    const plan = buildPretrainPlan(studio.workspace, projectId, TINY);
    expect(plan.recipe.model.temporal).toEqual({ frames: 3, sameMask: false });
    expect(plan.recipe.domainRecipe).toMatchObject({
      name: 'satmae-temporal',
      places: { used: 3, leftOut: ['short', 'tagged'] },
    });
    // One of the three places is held out whole for the validation loss; two train.
    const heldOut = (plan.recipe.domainRecipe as { heldOutPlaces: string[] }).heldOutPlaces;
    expect(heldOut).toHaveLength(1);
    expect(heldOut[0]).toMatch(/place-0[123]$/);
    const run = await studio.services.training.start(projectId, TINY);
    await expect
      .poll(() => studio.workspace.runs.get(run.id).status, { timeout: 90_000, interval: 100 })
      .toMatch(/completed|failed/);
    const record = await studio.services.runs.get(run.id);
    expect(record.error ?? null).toBeNull();
    expect(record.status).toBe('completed');
    expect(Number.isFinite(record.finalTrainLoss)).toBe(true);
    expect(record.recipe!.domainRecipe).toMatchObject({
      label: 'SatMAE (temporal)',
      details: expect.stringContaining('3 places (2 with fewer dates left out), 1 held out whole for validation;'),
      citation: expect.stringMatching(/^Cong et al\. 2022, "SatMAE.*NeurIPS 2022/),
      reconstructs: true,
    });
    // The held-out place's validation loss, and a grid of a row per date.
    const valLoss = studio.workspace.runs.metrics(run.id, 'val_loss');
    expect(valLoss.map((point) => point.step)).toEqual([3]);
    expect(Number.isFinite(valLoss[0]!.value)).toBe(true);
    expect(record.finalValLoss).toBe(valLoss[0]!.value);
    const folder = runFolder(studio.workspace.projectDir(projectId), run.id);
    const grids = listReconstructionGrids(folder);
    expect(grids.map((grid) => grid.step)).toEqual([0, 3]);
    const { height, width } = await sharp(path.join(folder, grids.at(-1)!.file)).metadata();
    // a place's 3 dates as rows (original | masked | reconstruction), 32 px each, 4 px apart
    expect({ height, width }).toEqual({ height: 3 * 32 + 2 * 4, width: 3 * 32 + 2 * 4 });
    await expect(studio.services.exports.create(run.id, 'onnx', path.join(dir, 'export'))).rejects.toThrow(
      `run ${run.id} is a SatMAE (temporal) run: its encoder adds sin-cos encodings of each date's timestamp`,
    );
    await expect(async () => studio.services.evaluation.finetune(run.id, {})).rejects.toThrow(
      'fine-tuning of its date-encoding encoder is not supported yet',
    );

    // A probe reads each labelled image as a one-date series with its own date, and says so.
    const { runId: probeId } = await studio.services.evaluation.probe(run.id, { method: 'knn', block: 1 });
    await expect
      .poll(() => studio.workspace.runs.get(probeId).status, { timeout: 90_000, interval: 100 })
      .toMatch(/completed|failed/);
    const probe = studio.workspace.runs.get(probeId);
    expect(probe.status, probe.error ?? '').toBe('completed');
    const report = probe.result as ProbeReport;
    expect(report.featureUnit).toContain('each image as a one-date series');
    expect(report.trainImages + report.valImages).toBe(13); // every dated image; scene.tif has no label

    // Embeddings: one row per dated image; the image without a date is skipped, saying why.
    const request = { runId: run.id, pooling: 'mean' as const };
    const done = new Promise<void>((resolve) => {
      const off = studio.events.on('embeddingProgress', (progress) => {
        if (progress.phase !== 'finished') return;
        off();
        resolve();
      });
    });
    await studio.services.embeddings.compute(request);
    await done;
    const status = await studio.services.embeddings.status(request);
    expect(status).toMatchObject({ state: 'ready', stored: { images: 13, width: 192 } });
    expect(status.stored!.skipped).toEqual([
      {
        imageId: expect.any(Number),
        path: expect.stringMatching(/scene\.tif$/),
        reason: expect.stringContaining('a SatMAE temporal encoder reads each image with its date'),
      },
    ]);
  }, 180_000);

  it("previews each date's mask beside the place's picture at that date", async () => {
    const rows = studio.workspace.images.usable(projectId, 'path');
    const first = rows.find((row) => row.path.includes(`${path.sep}place-02${path.sep}`))!;
    const query = { imageId: first.id, strategy: 'random' as const, maskRatio: 0.75, patchSize: 8, imgSize: 32 };
    const apart = await studio.services.training.previewMask({ ...query, seed: 1, dates: 3 });
    // One draw over the 3·16 tokens, as SatMAE: 36 hidden in all, each date's share varying.
    const hidden = apart.dateMasks!.map((mask) => mask.filter(Boolean).length);
    expect(hidden.reduce((sum, count) => sum + count, 0)).toBe(36);
    expect(new Set(apart.dateMasks!.map((mask) => mask.join(''))).size).toBeGreaterThan(1);
    expect(apart.datePictures!.map((picture) => picture.imageId)[0]).toBe(first.id);
    expect(apart.datePictures!.map((picture) => picture.date)).toEqual(
      [...apart.datePictures!.map((picture) => picture.date)].sort(),
    );
    const alike = await studio.services.training.previewMask({ ...query, seed: 1, dates: 3, sameMask: true });
    expect(new Set(alike.dateMasks!.map((mask) => mask.join(''))).size).toBe(1);
  });
});
