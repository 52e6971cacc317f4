import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ImagePage } from '../contract';
import { createDispatcher } from '../rpc';
import { Studio } from '../studio';
import { planDataset } from '../train/dataset-plan';
import { decodePlanar } from './batches';
import { writeTiff } from './formats/formats.fixtures';
import { temporaryFolder } from './images.fixtures';

let data: ReturnType<typeof temporaryFolder>;
let workspaceDir: ReturnType<typeof temporaryFolder>;
let studio: Studio;
let projectId: number;

/** Calls a service through the dispatcher, so arguments get their defaults as in the app. */
async function call<T>(channel: string, ...args: unknown[]): Promise<T> {
  const reply = await createDispatcher(studio.services)(channel as never, args);
  if (!reply.ok) throw new Error(reply.error.message);
  return reply.value as T;
}

/** A 4-band uint16 "satellite" tile whose band b holds (b + 1) · 1000 + pixel index. */
function scene(name: string, offset: number): string {
  const values = Array.from(
    { length: 8 * 8 * 4 },
    (_, index) => (Math.floor(index % 4) + 1) * 1000 + Math.floor(index / 4) + offset,
  );
  const file = path.join(data.dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(
    file,
    writeTiff([
      { width: 8, height: 8, bands: 4, sampleType: 'uint16', values, bandNames: ['blue', 'green', 'red', 'nir'] },
    ]),
  );
  return file;
}

beforeEach(async () => {
  data = temporaryFolder();
  workspaceDir = temporaryFolder('mae-workspace-');
  studio = new Studio(workspaceDir.dir);
  projectId = studio.workspace.projects.create('s2', 'remote-sensing').id;
  for (let index = 0; index < 6; index++) scene(`${index % 2 ? 'water' : 'forest'}/tile${index}.tif`, index * 10);
  await studio.runImport('i', projectId, [data.dir]);
});
afterEach(async () => {
  await studio.close();
  workspaceDir.remove();
  data.remove();
});

describe('channel plan', () => {
  it('defaults to every band by mean/std with band names, and computes dataset statistics once', async () => {
    const view = await studio.services.curation.channelPlan(projectId);
    expect(view).toMatchObject({ saved: false, channels: 4, bandNames: ['blue', 'green', 'red', 'nir'], stats: null });
    expect(view.plan.bands).toEqual([0, 1, 2, 3]);
    const computed = await studio.services.curation.computeStats(projectId);
    const nir = computed.stats!.bands[3]!;
    // nir = 4000 + pixel (0..63) + offset (0..50): mean over 6 images = 4000 + 31.5 + 25.
    expect(nir.mean).toBeCloseTo(4056.5, 6);
    expect([nir.min, nir.max, nir.name]).toEqual([4000, 4113, 'nir']);
    expect(nir.histogram.reduce((a, b) => a + b, 0)).toBe(6 * 64);
    expect((await studio.services.curation.channelPlan(projectId)).stats).toEqual(computed.stats);
  });

  it('normalises batches with the plan: chosen bands in order, divisor or percentile clip', async () => {
    await studio.services.curation.setChannelPlan(projectId, {
      conversions: {},
      bands: [3, 0],
      scaling: 'divisor',
      percentiles: [1, 99],
      divisor: 10_000,
      displayBands: [2, 1, 0],
      displayRange: [null, null, null],
    });
    const plan = planDataset(studio.workspace, projectId, {});
    expect(plan.channels).toBe(2);
    expect(plan.transform).toEqual({
      inputChannels: 4,
      conversions: { 4: 'keep' },
      bands: [3, 0],
      clip: [null, null],
      center: [0, 0],
      spread: [10_000, 10_000],
    });
    const first = studio.workspace.images.list({ projectId, offset: 0, limit: 1, sort: 'path', status: 'ok' })
      .images[0]!;
    const image = await decodePlanar({ path: first.path, channels: 4, bitDepth: 16 }, plan.transform);
    expect(image.channels).toBe(2);
    expect(image.data[0]).toBeCloseTo(0.4, 6); // nir at pixel 0 of forest/tile0: 4000 / 10,000
    expect(image.data[64]).toBeCloseTo(0.1, 6); // blue: 1000 / 10,000

    await studio.services.curation.computeStats(projectId);
    await studio.services.curation.setChannelPlan(projectId, {
      conversions: {},
      bands: [0],
      scaling: 'percentile',
      percentiles: [1, 99],
      divisor: 1,
      displayBands: [0],
      displayRange: [null],
    });
    const clipped = planDataset(studio.workspace, projectId, {}).transform!;
    expect(clipped.clip[0]![0]).toBeGreaterThan(1000);
    expect(clipped.clip[0]![1]).toBeLessThan(1113);
    const scaled = await decodePlanar({ path: first.path, channels: 4, bitDepth: 16 }, clipped);
    expect(Math.min(...scaled.data)).toBe(0);
    expect(Math.max(...scaled.data)).toBeLessThanOrEqual(1);
  });

  it('scales by a fixed window (a CT window in HU): clipped to it, then 0–1', async () => {
    await studio.services.curation.setChannelPlan(projectId, {
      conversions: {},
      bands: [0],
      scaling: 'window',
      percentiles: [1, 99],
      divisor: 1,
      window: [1010, 1050],
      displayBands: [0],
      displayRange: [null],
    });
    const plan = planDataset(studio.workspace, projectId, {});
    expect(plan.transform).toMatchObject({ bands: [0], clip: [[1010, 1050]], center: [1010], spread: [40] });
    const first = studio.workspace.images.list({ projectId, offset: 0, limit: 1, sort: 'path', status: 'ok' })
      .images[0]!;
    const image = await decodePlanar({ path: first.path, channels: 4, bitDepth: 16 }, plan.transform);
    // Blue of forest/tile0 is 1000 + pixel: pixel 0 is below the window, 30 halfway, 63 above it.
    expect([image.data[0], image.data[30], image.data[63]]).toEqual([0, 0.5, 1]);
    const dispatch = createDispatcher(studio.services);
    const reply = await dispatch('curation.setChannelPlan', [
      projectId,
      {
        bands: [0],
        scaling: 'window',
        percentiles: [1, 99],
        divisor: 1,
        window: [40, 40],
        displayBands: [0],
        displayRange: [null],
      },
    ]);
    expect(reply).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining('window must be finite with low < high') },
    });
  });

  it('refuses a plan that reads a band the images do not have, naming the field', async () => {
    const dispatch = createDispatcher(studio.services);
    const reply = await dispatch('curation.setChannelPlan', [
      projectId,
      { bands: [7], scaling: 'mean-std', percentiles: [1, 99], divisor: 1, displayBands: [0], displayRange: [null] },
    ]);
    expect(reply).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT', message: 'channelPlan.bands reads band 8, the images have 4' },
    });
  });
});

describe('curation', () => {
  it('reports the dataset health, excludes a folder, relabels, and stores a seeded stratified split', async () => {
    const health = await studio.services.curation.health(projectId);
    expect(health).toMatchObject({
      images: 6,
      files: 6,
      failed: 0,
      excluded: 0,
      formats: [{ key: 'geotiff', count: 6 }],
      bitDepths: [{ key: '16', count: 6 }],
      channels: [{ key: '4', count: 6 }],
    });
    expect(health.labels.map((label) => [label.label, label.count])).toEqual([
      ['forest', 3],
      ['water', 3],
    ]);

    expect(
      await studio.services.curation.setExcluded(projectId, { folder: path.join(data.dir, 'water') }, true),
    ).toEqual({ changed: 3 });
    const split = await studio.services.curation.split(projectId, { valFraction: 0.34, seed: 7 });
    expect(split).toEqual({ train: 2, val: 1 });
    const after = await studio.services.curation.health(projectId);
    expect(after.excluded).toBe(3);
    expect(after.split).toEqual({ train: 2, val: 1, unassigned: 0 });
    const plan = planDataset(studio.workspace, projectId, {});
    expect(plan.splitSource).toBe('curation');
    expect([plan.trainImageIds.length, plan.valImageIds.length]).toEqual([2, 1]);

    const [first] = (await call<ImagePage>('images.list', { projectId, excluded: false })).images;
    expect(await studio.services.curation.setLabel(projectId, { imageIds: [first!.id] }, 'clearcut')).toEqual({
      changed: 1,
    });
    expect((await studio.services.images.get(first!.id)).label).toBe('clearcut');
    expect((await call<ImagePage>('images.list', { projectId, excluded: true })).total).toBe(3);
  });

  it('redraws thumbnails with the chosen display bands', async () => {
    const [first] = (await call<ImagePage>('images.list', { projectId })).images;
    const file = studio.workspace.thumbnailFile(first!.id)!;
    const before = fs.readFileSync(file);
    await studio.services.curation.setChannelPlan(projectId, {
      conversions: {},
      bands: [0, 1, 2, 3],
      scaling: 'mean-std',
      percentiles: [1, 99],
      divisor: 1,
      displayBands: [3],
      displayRange: [[4000, 4200]],
    });
    expect(await studio.services.curation.renderThumbnails(projectId)).toEqual({ rendered: 6, failed: 0 });
    expect(fs.readFileSync(file).equals(before)).toBe(false);
  });
});
