/**
 * A project of mixed channel counts — a grey PNG class, an RGB PNG class and an RGBA PNG class —
 * through the channel plan: what Curate shows, what the plan keeps, what a run, its statistics,
 * thumbnails and probes read.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChannelPlan } from '../contract';
import { Rng } from '../mae/rng';
import { createDispatcher } from '../rpc';
import { Studio } from '../studio';
import { forEachBatch, labelledSplits } from '../train/probe-data';
import { planDataset } from '../train/dataset-plan';
import { buildPretrainPlan } from '../train/pretrain-plan';
import { recipeSummary } from '../train/recipe';
import { decodePlanar, fileBatchSource } from './batches';
import { fixturePixels, temporaryFolder, writeFixture, type FixtureSpec } from './images.fixtures';

const SIDE = 8;
/** 3 grey, 5 RGB and 2 RGBA images: RGB is the most common count. */
const CLASSES: { label: string; channels: 1 | 3 | 4; count: number }[] = [
  { label: 'grey', channels: 1, count: 3 },
  { label: 'rgb', channels: 3, count: 5 },
  { label: 'rgba', channels: 4, count: 2 },
];

let data: ReturnType<typeof temporaryFolder>;
let workspaceDir: ReturnType<typeof temporaryFolder>;
let studio: Studio;
let projectId: number;

function spec(channels: 1 | 3 | 4, seed: number): FixtureSpec {
  return { format: 'png', bitDepth: 8, channels, width: SIDE, height: SIDE, seed };
}

beforeEach(async () => {
  data = temporaryFolder();
  workspaceDir = temporaryFolder('mae-workspace-');
  studio = new Studio(workspaceDir.dir);
  projectId = studio.workspace.projects.create('mixed', 'general').id;
  for (const { label, channels, count } of CLASSES) {
    for (let index = 0; index < count; index++)
      await writeFixture(path.join(data.dir, label, `${index}.png`), spec(channels, index + channels * 10));
  }
  await studio.runImport('i', projectId, [data.dir]);
});
afterEach(async () => {
  await studio.close();
  workspaceDir.remove();
  data.remove();
});

async function savePlan(changes: Partial<ChannelPlan>): Promise<void> {
  const { plan } = await studio.services.curation.channelPlan(projectId);
  await studio.services.curation.setChannelPlan(projectId, { ...plan, ...changes });
}

describe('a project of mixed channel counts', () => {
  it('shows every channel count with its classes and a default that keeps every image', async () => {
    const view = await studio.services.curation.channelPlan(projectId);
    expect(view.plan.inputChannels).toBe(3);
    expect(view.plan.conversions).toEqual({ 1: 'repeat', 3: 'keep', 4: 'drop-alpha' });
    expect(
      view.groups.map((group) => [
        group.channels,
        group.images,
        group.labels.map((label) => label.label),
        group.conversion,
        group.chosen,
      ]),
    ).toEqual([
      [3, 5, ['rgb'], 'keep', false],
      [1, 3, ['grey'], 'repeat', false],
      [4, 2, ['rgba'], 'drop-alpha', false],
    ]);
    expect(view.coverage).toEqual({ keptImages: 10, leftOutImages: 0, excludedClasses: [] });
    const health = await studio.services.curation.health(projectId);
    expect([health.leftOutByPlan, health.excludedClasses, health.split.unassigned]).toEqual([0, [], 10]);
    const plan = planDataset(studio.workspace, projectId, {});
    expect(plan.trainImageIds.length + plan.valImageIds.length).toBe(10);
    expect(plan.channels).toBe(3);
  });

  it('leaves out a channel count: Curate, split, run and recipe count only the kept, naming the class', async () => {
    await savePlan({ conversions: { 1: 'exclude', 3: 'keep', 4: 'drop-alpha' } });
    const view = await studio.services.curation.channelPlan(projectId);
    expect(view.coverage).toEqual({ keptImages: 7, leftOutImages: 3, excludedClasses: ['grey'] });
    expect(view.groups.find((group) => group.channels === 1)).toMatchObject({ conversion: 'exclude', chosen: true });

    expect(await studio.services.curation.split(projectId, { valFraction: 0.3, seed: 1 })).toEqual({
      train: 4,
      val: 3,
    });
    const health = await studio.services.curation.health(projectId);
    expect(health.images - health.excluded - health.leftOutByPlan).toBe(7);
    expect(health.split).toEqual({ train: 4, val: 3, unassigned: 0 });
    expect(health.excludedClasses).toEqual(['grey']);
    expect(health.labels.find((label) => label.label === 'grey')).toEqual({
      label: 'grey',
      count: 0,
      train: 0,
      val: 0,
      leftOut: 3,
    });
    expect(health.labels.map((label) => label.label)).toEqual(['rgb', 'rgba', 'grey']);

    const plan = buildPretrainPlan(studio.workspace, projectId, {
      imgSize: 16,
      patchSize: 8,
      depth: 1,
      decoder: '32x1',
      steps: 1,
    });
    expect([plan.data.trainImageIds.length, plan.data.valImageIds.length]).toEqual([4, 3]);
    expect(plan.data.excluded).toEqual([{ reason: '1-channel images, left out by the channel plan', count: 3 }]);
    expect(plan.data.excludedClasses).toEqual(['grey']);
    expect(recipeSummary(plan)).toMatchObject({
      channels: 3,
      channelConversions: { 1: 'exclude', 3: 'keep', 4: 'drop-alpha' },
      excludedClasses: ['grey'],
    });
    const defaults = await studio.services.training.defaults(projectId);
    expect(defaults.dataset).toMatchObject({
      usable: 7,
      excludedClasses: ['grey'],
      conversions: { 1: 'exclude', 3: 'keep', 4: 'drop-alpha' },
    });

    // Choosing grey → RGB again brings the grey class back into what is kept.
    await savePlan({ conversions: { 1: 'repeat' } });
    expect((await studio.services.curation.channelPlan(projectId)).coverage).toEqual({
      keptImages: 10,
      leftOutImages: 0,
      excludedClasses: [],
    });
    expect((await studio.services.curation.health(projectId)).excludedClasses).toEqual([]);
  });

  it('trains, validates and probes on converted images: grey repeated, alpha dropped', async () => {
    const plan = buildPretrainPlan(studio.workspace, projectId, {
      imgSize: 16,
      patchSize: 8,
      depth: 1,
      decoder: '32x1',
      steps: 1,
      valFraction: 0.3,
    });
    const transform = plan.data.transform!;
    const grey = studio.workspace.images.list({
      projectId,
      offset: 0,
      limit: 1,
      sort: 'path',
      status: 'ok',
      label: 'grey',
    }).images[0]!;
    const image = await decodePlanar({ path: grey.path, channels: 1, bitDepth: 8 }, transform);
    const plane = SIDE * SIDE;
    expect(image.channels).toBe(3);
    // Every band reads the grey value, each through its own band's mean and std.
    for (let pixel = 0; pixel < plane; pixel++) {
      const values = [0, 1, 2].map(
        (band) => image.data[band * plane + pixel]! * transform.spread[band]! + transform.center[band]!,
      );
      expect(values[1]).toBeCloseTo(values[0]!, 3);
      expect(values[2]).toBeCloseTo(values[0]!, 3);
    }
    const entries = studio.workspace.images
      .list({ projectId, offset: 0, limit: 100, sort: 'path', status: 'ok' })
      .images.map((row) => ({ path: row.path, channels: row.channels!, bitDepth: row.bitDepth! }));
    const batch = await fileBatchSource({ images: entries, imgSize: 16, transform }).next(Rng.fromSeed(0, 1), 6);
    expect([batch.channels, batch.images.length, batch.images.every(Number.isFinite)]).toEqual([
      3,
      6 * 3 * 16 * 16,
      true,
    ]);

    const splits = labelledSplits(studio.workspace, plan);
    expect(splits.classes).toEqual(['grey', 'rgb', 'rgba']);
    let probed = 0;
    await forEachBatch([...splits.train, ...splits.val], plan, 4, (images, chunk) => {
      expect(images.length).toBe(chunk.length * 3 * 16 * 16);
      expect(images.every(Number.isFinite)).toBe(true);
      probed += chunk.length;
    });
    expect(probed).toBe(10);
  });

  it('computes dataset statistics on the converted images, and recomputes when the conversions change', async () => {
    const stats = (await studio.services.curation.computeStats(projectId)).stats!;
    expect([stats.channels, stats.images, stats.pixels, stats.conversions]).toEqual([
      3,
      10,
      10 * SIDE * SIDE,
      { 1: 'repeat', 3: 'keep', 4: 'drop-alpha' },
    ]);
    // Band 2 (blue) of the dataset: the grey images' grey, the others' blue.
    let sum = 0;
    for (const { channels, count } of CLASSES) {
      for (let index = 0; index < count; index++) {
        const pixels = fixturePixels(spec(channels, index + channels * 10));
        for (let pixel = 0; pixel < SIDE * SIDE; pixel++) sum += pixels[pixel * channels + (channels === 1 ? 0 : 2)]!;
      }
    }
    expect(stats.bands[2]!.mean).toBeCloseTo(sum / (10 * SIDE * SIDE), 6);

    await savePlan({ conversions: { 1: 'exclude' } });
    expect((await studio.services.curation.channelPlan(projectId)).stats).toBeNull();
    expect((await studio.services.curation.computeStats(projectId)).stats!.images).toBe(7);
  });

  it('redraws the thumbnails of converted images and leaves those of left-out ones', async () => {
    await savePlan({ conversions: { 4: 'exclude' } });
    expect(await studio.services.curation.renderThumbnails(projectId)).toEqual({ rendered: 8, failed: 0 });
  });

  it('trains grey: RGB and RGBA by luminance', async () => {
    await savePlan({ inputChannels: 1, conversions: {}, bands: [0], displayBands: [0], displayRange: [null] });
    const view = await studio.services.curation.channelPlan(projectId);
    expect(view.plan.conversions).toEqual({ 1: 'keep', 3: 'luminance', 4: 'luminance' });
    expect(view.coverage.keptImages).toBe(10);
    const plan = planDataset(studio.workspace, projectId, {});
    expect([plan.channels, plan.mean.length]).toEqual([1, 1]);
    const rgb = studio.workspace.images.list({
      projectId,
      offset: 0,
      limit: 1,
      sort: 'path',
      status: 'ok',
      label: 'rgb',
    }).images[0]!;
    const image = await decodePlanar({ path: rgb.path, channels: 3, bitDepth: 8 }, plan.transform);
    const pixels = fixturePixels(spec(3, 30));
    const luminance = 0.299 * pixels[0]! + 0.587 * pixels[1]! + 0.114 * pixels[2]!;
    expect(image.data[0]! * plan.transform!.spread[0]! + plan.transform!.center[0]!).toBeCloseTo(luminance, 3);
  });

  it('refuses a conversion, input count or plan that cannot be, naming the field', async () => {
    const dispatch = createDispatcher(studio.services);
    const { plan } = await studio.services.curation.channelPlan(projectId);
    const refuse = async (changes: object) => {
      const reply = await dispatch('curation.setChannelPlan', [projectId, { ...plan, ...changes }]);
      return reply.ok ? 'accepted' : reply.error.message;
    };
    expect(await refuse({ conversions: { 3: 'luminance' } })).toBe(
      'channelPlan.conversions.3 must be "keep" or "exclude" for 3-channel images into 3 bands, got "luminance"',
    );
    expect(await refuse({ inputChannels: 2 })).toBe(
      'channelPlan.inputChannels must be one of 3, 1, 4 (the channel counts of the kept images), got 2',
    );
    expect(await refuse({ conversions: { 1: 'exclude', 3: 'exclude', 4: 'exclude' } })).toBe(
      'channelPlan.conversions leaves out every image: keep at least one channel count',
    );
    expect(await refuse({ conversions: { 1: 'grey' } })).toMatch(/conversions\.1/);
    expect(await refuse({ conversions: { 1: 'repeat' } })).toBe('accepted');
  });

  it('loads a plan stored before conversions: the most common count, defaults shown as not chosen', async () => {
    const old = {
      bands: [2, 1, 0],
      scaling: 'divisor',
      percentiles: [1, 99],
      divisor: 255,
      displayBands: [0, 1, 2],
      displayRange: [null, null, null],
    };
    studio.workspace.db
      .prepare('INSERT INTO channel_plans (project_id, plan, updated_at) VALUES (?, ?, ?)')
      .run(projectId, JSON.stringify(old), new Date().toISOString());
    const view = await studio.services.curation.channelPlan(projectId);
    expect(view).toMatchObject({
      saved: true,
      channels: 3,
      plan: { ...old, inputChannels: 3, conversions: { 1: 'repeat', 3: 'keep', 4: 'drop-alpha' } },
    });
    expect(view.groups.every((group) => !group.chosen)).toBe(true);
    // Statistics stored before conversions describe the 3-channel images only: stale now.
    const stats = {
      computedAt: '2025-01-01T00:00:00Z',
      channels: 3,
      images: 5,
      pixels: 320,
      sampled: false,
      bands: [],
    };
    studio.workspace.channelPlans.saveStats(projectId, stats);
    expect((await studio.services.curation.channelPlan(projectId)).stats).toBeNull();
    await savePlan({ conversions: { 1: 'exclude', 4: 'exclude' } });
    expect((await studio.services.curation.channelPlan(projectId)).stats).toEqual(stats);
  });
});
