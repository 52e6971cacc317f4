/**
 * Managing projects through the studio's services: rename with duplicate names flagged, and
 * delete, which removes the project's rows and folder but never the user's image files, and is
 * refused while one of its runs trains. Plus leaving single images out and relabelling them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ImportResult } from './contract';
import { createDispatcher } from './rpc';
import { Studio } from './studio';

let dir: string;
let studio: Studio;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-studio-'));
  studio = new Studio(path.join(dir, 'workspace'));
});
afterEach(async () => {
  await studio.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Writes `count` small grey PNGs under `images/<label>/` and imports them into a new project. */
async function projectWithImages(name: string, labels: string[], count: number) {
  const project = await studio.services.projects.create({ name, domain: 'general' });
  for (const [labelIndex, label] of labels.entries()) {
    fs.mkdirSync(path.join(dir, 'images', label), { recursive: true });
    for (let i = 0; i < count; i++) {
      // Distinct content per file, or the import would record duplicates.
      const pixels = Buffer.from(Array.from({ length: 256 }, (_, p) => (p * (i + 1) + labelIndex * 97) % 256));
      await sharp(pixels, { raw: { width: 16, height: 16, channels: 1 } })
        .png()
        .toFile(path.join(dir, 'images', label, `${i}.png`));
    }
  }
  const result = await studio.runImport('test', project.id, [path.join(dir, 'images')]);
  expect(result.imported).toBe(labels.length * count);
  return project;
}

describe('projects', () => {
  it('renames a project and flags two projects with the same name, ignoring case', async () => {
    const first = await studio.services.projects.create({ name: 'Chest CT', domain: 'medical' });
    const second = await studio.services.projects.create({ name: 'Retina', domain: 'medical' });
    expect((await studio.services.projects.get(first.id)).duplicateName).toBe(false);
    const renamed = await studio.services.projects.rename(second.id, 'chest ct');
    expect(renamed.name).toBe('chest ct');
    expect(renamed.duplicateName).toBe(true);
    expect((await studio.services.projects.list()).map((project) => project.duplicateName)).toEqual([true, true]);
    expect(studio.workspace.projects.withName(' CHEST CT ', first.id)?.id).toBe(second.id);
    await studio.services.projects.rename(second.id, 'Retina');
    expect((await studio.services.projects.get(first.id)).duplicateName).toBe(false);
  });

  it('deletes rows, thumbnails and checkpoints of a project, but not the image files', async () => {
    const project = await projectWithImages('To delete', ['a', 'b'], 3);
    const kept = await studio.services.projects.create({ name: 'Kept', domain: 'general' });
    const run = studio.workspace.runs.create({ projectId: project.id, kind: 'pretrain', config: {} });
    const checkpoint = path.join(studio.workspace.projectDir(project.id), 'checkpoints', 'run-1.safetensors');
    fs.mkdirSync(path.dirname(checkpoint), { recursive: true });
    fs.writeFileSync(checkpoint, Buffer.alloc(1000));
    studio.workspace.runs.addCheckpoint(run.id, 10, checkpoint, 'f'.repeat(64));

    const removal = await studio.services.projects.removal(project.id);
    expect(removal).toMatchObject({
      projectId: project.id,
      images: 6,
      runs: 1,
      checkpoints: 1,
      exports: 0,
      training: [],
    });
    expect(removal.bytes).toBeGreaterThan(1000); // the checkpoint plus six thumbnails

    await studio.services.projects.remove(project.id);
    await expect(async () => studio.services.projects.get(project.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(fs.existsSync(studio.workspace.projectDir(project.id))).toBe(false);
    const count = (table: string) =>
      (studio.workspace.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    expect([count('images'), count('runs'), count('checkpoints')]).toEqual([0, 0, 0]);
    expect(fs.readdirSync(path.join(dir, 'images', 'a'))).toHaveLength(3);
    expect(fs.readdirSync(path.join(dir, 'images', 'b'))).toHaveLength(3);
    expect((await studio.services.projects.list()).map((p) => p.id)).toEqual([kept.id]);
  });

  it('refuses to delete a project while one of its runs is training, naming the run', async () => {
    const project = await studio.services.projects.create({ name: 'Busy', domain: 'general' });
    const run = studio.workspace.runs.create({ projectId: project.id, kind: 'pretrain', config: {} });
    studio.workspace.runs.setStatus(run.id, 'running');
    expect((await studio.services.projects.removal(project.id)).training).toEqual([run.id]);
    await expect(async () => studio.services.projects.remove(project.id)).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining(`run ${run.id} is training`),
    });
    expect((await studio.services.projects.get(project.id)).name).toBe('Busy');
    studio.workspace.runs.setStatus(run.id, 'stopped');
    await studio.services.projects.remove(project.id);
    expect(await studio.services.projects.list()).toEqual([]);
  });

  it('refuses to delete a project while an import into it runs', async () => {
    const project = await projectWithImages('Importing', ['a'], 2);
    const finished = new Promise((resolve) => studio.events.on('importFinished', resolve));
    await studio.services.imports.start(project.id, [path.join(dir, 'images')]);
    await expect(async () => studio.services.projects.remove(project.id)).rejects.toThrow(
      'while an import into it is running',
    );
    await finished;
    await studio.services.projects.remove(project.id);
  });
});

describe('single images', () => {
  it('leaves one image out of training and takes it back, and relabels a selection', async () => {
    const project = await projectWithImages('Cells', ['a', 'b'], 2);
    const page = await studio.services.images.list({
      projectId: project.id,
      offset: 0,
      limit: 200,
      sort: 'path',
      status: 'ok',
    });
    const [first, second, third] = page.images;
    expect(await studio.services.curation.setExcluded(project.id, { imageIds: [first!.id] }, true)).toEqual({
      changed: 1,
    });
    expect((await studio.services.images.get(first!.id)).excluded).toBe(true);
    expect((await studio.services.curation.health(project.id)).excluded).toBe(1);
    expect(await studio.services.curation.setExcluded(project.id, { imageIds: [first!.id] }, false)).toEqual({
      changed: 1,
    });
    expect((await studio.services.curation.health(project.id)).excluded).toBe(0);

    expect(
      await studio.services.curation.setLabel(project.id, { imageIds: [second!.id, third!.id] }, 'mitosis'),
    ).toEqual({ changed: 2 });
    expect((await studio.services.images.labels(project.id)).find((entry) => entry.label === 'mitosis')?.count).toBe(2);
    expect((await studio.services.images.get(third!.id)).label).toBe('mitosis');
  });
});

describe('imports', () => {
  it('take a number of worker threads, and the contract refuses one that is not a whole number', async () => {
    const dispatch = createDispatcher(studio.services, () => {});
    const project = await studio.services.projects.create({ name: 'Workers', domain: 'general' });
    const folder = path.join(dir, 'few');
    fs.mkdirSync(folder);
    for (let i = 0; i < 3; i++)
      await sharp(Buffer.alloc(64, i * 40), { raw: { width: 8, height: 8, channels: 1 } })
        .png()
        .toFile(path.join(folder, `${i}.png`));
    const finished = new Promise<ImportResult>((resolve) => studio.events.on('importFinished', resolve));
    expect(await dispatch('imports.start', [project.id, [folder], { workers: 0 }])).toMatchObject({ ok: true });
    expect(await finished).toMatchObject({ filesSeen: 3, imported: 3 });
    const refused = await dispatch('imports.start', [project.id, [folder], { workers: 1.5 }]);
    expect(refused).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(!refused.ok && refused.error.message).toMatch(/argument 2\.workers/);
  });
});
