/**
 * Embeddings as a user meets them, through the contract on a real pretrained workspace: computed
 * in the background with progress, equal to what the exported ONNX encoder gives for the same
 * images, reused until the run or the images change, exported as .npy and CSV files that read
 * back to the same numbers (numpy reads the .npy where it is installed), and queried for
 * neighbours and suspects.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddingMapProgress, EmbeddingProgress, EmbeddingRequest } from '../../contract';
import { useCpuBackend } from '../../mae/mae.fixtures';
import { exportRun } from '../../export/export-run';
import { Studio } from '../../studio';
import { pretrainRunOf } from '../probe-model';
import { pretrainedFixture, type PretrainedFixture } from '../probe.fixtures';
import { decodePlanar } from '../../data/batches';
import { readForEncoder } from './compute';
import { embeddingFiles, readEmbeddings } from './embedding-store';
import { decodeNpy } from './npy';
import { embeddingServices } from './services';

let fixture: PretrainedFixture;
let studio: Studio;
const request = (): EmbeddingRequest => ({ runId: fixture.runId });

/** Starts a computation through the service and resolves with the events it sent. */
async function computeAndWait(): Promise<EmbeddingProgress[]> {
  const seen: EmbeddingProgress[] = [];
  const finished = new Promise<void>((resolve) => {
    const off = studio.events.on('embeddingProgress', (progress) => {
      seen.push(progress);
      if (progress.phase === 'finished') {
        off();
        resolve();
      }
    });
  });
  const status = await studio.services.embeddings.compute({ ...request(), pooling: 'mean' });
  expect(status.state).toBe('computing');
  await finished;
  return seen;
}

beforeAll(async () => {
  await useCpuBackend();
  fixture = await pretrainedFixture();
  studio = new Studio(fixture.workspaceDir);
}, 120_000);
afterAll(async () => {
  await studio?.close();
  fixture?.remove();
});

describe('computing embeddings', () => {
  it('embeds every image of the project in the background, reporting progress, and says they are ready', async () => {
    const before = await studio.services.embeddings.status({ ...request(), pooling: 'mean' });
    expect(before).toMatchObject({ state: 'missing', block: 1, depth: 1, pooling: 'mean', images: 24, stored: null });
    const events = await computeAndWait();
    expect(events[0]).toMatchObject({ phase: 'started', done: 0, total: 24 });
    expect(events.filter((e) => e.phase === 'batch').map((e) => e.done)).toEqual([8, 16, 24]);
    expect(events.at(-1)).toMatchObject({ phase: 'finished', done: 24, total: 24 });
    expect(events.at(-1)!.error).toBeUndefined();
    const after = await studio.services.embeddings.status({ ...request(), pooling: 'mean' });
    expect(after).toMatchObject({ state: 'ready', stored: { images: 24, width: 192, step: 12, skipped: [] } });
  });

  it("equals the exported ONNX encoder's features for the same images", async () => {
    const stored = readEmbeddings(studio.workspace, { ...request(), pooling: 'mean' });
    const out = path.join(fixture.dir, 'onnx-for-embeddings');
    await exportRun(studio.workspace, fixture.runId, 'onnx', out);
    const plan = pretrainRunOf(studio.workspace, studio.workspace.runs.get(fixture.runId)).config;
    const size = 32 * 32;
    const pixels = new Float32Array(stored.meta.imageIds.length * size);
    const images = new Map(stored.target.images.map((image) => [image.id, image]));
    for (const [row, id] of stored.meta.imageIds.entries())
      await readForEncoder(images.get(id)!, plan, pixels.subarray(row * size, (row + 1) * size));
    const session = await ort.InferenceSession.create(path.join(out, 'model.onnx'));
    const result = await session.run({
      pixels: new ort.Tensor('float32', pixels, [stored.meta.imageIds.length, 1, 32, 32]),
    });
    const features = result.features!.data as Float32Array;
    expect(result.features!.dims).toEqual([24, 192]);
    let worst = 0;
    for (let i = 0; i < features.length; i++)
      worst = Math.max(worst, Math.abs(features[i]! - stored.matrix.values[i]!));
    expect(worst).toBeLessThan(1e-5);
    // Not trivially equal: the images differ from one another.
    expect(Math.abs(stored.matrix.values[0]! - stored.matrix.values[192]!)).toBeGreaterThan(1e-4);
  });

  it('is reused while nothing changed, kept through relabelling, stale once the run or images change', async () => {
    const again = await studio.services.embeddings.compute({ ...request(), pooling: 'mean' });
    expect(again.state).toBe('ready'); // no new job
    const someImage = readEmbeddings(studio.workspace, { ...request(), pooling: 'mean' }).meta.imageIds[0]!;
    await studio.services.curation.setLabel(fixture.projectId, { imageIds: [someImage] }, 'relabelled');
    expect((await studio.services.embeddings.status({ ...request(), pooling: 'mean' })).state).toBe('ready');

    // The run moves on: a newer checkpoint (as a resumed run writes one).
    const latest = studio.workspace.runs.latestCheckpoint(fixture.runId)!;
    const copy = `${latest.path}.next.safetensors`;
    fs.copyFileSync(latest.path, copy);
    const added = studio.workspace.runs.addCheckpoint(fixture.runId, latest.step + 1, copy, latest.sha256);
    expect((await studio.services.embeddings.status({ ...request(), pooling: 'mean' })).state).toBe('stale');
    expect(() => readEmbeddings(studio.workspace, { ...request(), pooling: 'mean' })).toThrow(/out of date/);
    studio.workspace.runs.removeCheckpoint(added.id);
    expect((await studio.services.embeddings.status({ ...request(), pooling: 'mean' })).state).toBe('ready');

    // A new image in the project.
    const extra = path.join(fixture.dir, 'extra', 'ring-lesion');
    fs.mkdirSync(extra, { recursive: true });
    const gradient = Buffer.from(Array.from({ length: 40 * 40 }, (_, i) => (i % 40) * 6));
    await sharp(gradient, { raw: { width: 40, height: 40, channels: 1 } })
      .png()
      .toFile(path.join(extra, 'new.png'));
    await studio.runImport('extra', fixture.projectId, [path.dirname(extra)]);
    const stale = await studio.services.embeddings.status({ ...request(), pooling: 'mean' });
    expect(stale).toMatchObject({ state: 'stale', images: 25, stored: { images: 24 } });
    await computeAndWait();
    expect(await studio.services.embeddings.status({ ...request(), pooling: 'mean' })).toMatchObject({
      state: 'ready',
      stored: { images: 25 },
    });
  });

  it('refuses a block the encoder lacks, and neighbours from embeddings never computed, naming why', async () => {
    await expect(
      Promise.resolve().then(() =>
        studio.services.embeddings.status({ runId: fixture.runId, block: 2, pooling: 'mean' }),
      ),
    ).rejects.toThrow(/block must be 1\.\.1/);
    await expect(
      Promise.resolve().then(() =>
        studio.services.embeddings.similar(1, { runId: fixture.runId, pooling: 'cls' }, { k: 3 }),
      ),
    ).rejects.toThrow(/have not been computed yet/);
  });
});

describe('exporting embeddings', () => {
  it('writes .npy and CSV files whose rows read back to the stored embeddings, with path and label', async () => {
    const dir = path.join(fixture.dir, 'embeddings-export');
    const result = await studio.services.embeddings.export({ ...request(), pooling: 'mean' }, dir);
    expect(result.files.map((f) => f.name)).toEqual([
      'embeddings.npy',
      'embeddings.csv',
      'images.csv',
      'embeddings.json',
    ]);
    const stored = readEmbeddings(studio.workspace, { ...request(), pooling: 'mean' });
    const npy = decodeNpy(fs.readFileSync(path.join(dir, 'embeddings.npy')));
    expect([npy.rows, npy.columns]).toEqual([25, 192]);
    expect(npy.values).toEqual(stored.matrix.values);
    const lines = fs.readFileSync(path.join(dir, 'embeddings.csv'), 'utf8').trim().split('\n');
    expect(lines[0]!.split(',').slice(0, 6)).toEqual(['image_id', 'path', 'frame', 'label', 'f0', 'f1']);
    expect(lines).toHaveLength(26);
    const images = new Map(stored.target.images.map((image) => [image.id, image]));
    for (const [row, line] of lines.slice(1).entries()) {
      const fields = line.split(','); // the fixture's paths hold no comma
      const image = images.get(Number(fields[0]))!;
      expect(Number(fields[0])).toBe(stored.meta.imageIds[row]);
      expect(fields[1]).toBe(image.path);
      expect(fields[3]).toBe(image.label ?? '');
      expect(Float32Array.from(fields.slice(4).map(Number))).toEqual(
        stored.matrix.values.slice(row * 192, (row + 1) * 192),
      );
    }
    expect(fs.readFileSync(path.join(dir, 'images.csv'), 'utf8')).toContain(',relabelled\n');
    await expect(studio.services.embeddings.export({ ...request(), pooling: 'mean' }, dir)).rejects.toThrow(
      /already holds embeddings.npy/,
    );
  });

  const numpy = spawnSync('/usr/bin/python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!numpy)('numpy.load reads the .npy as a float32 [images, width] matrix with the same values', () => {
    const dir = path.join(fixture.dir, 'embeddings-export');
    const script =
      'import numpy, sys; a = numpy.load(sys.argv[1]); ' +
      'print(a.dtype, a.shape, repr(float(a[3, 7])), repr(float(a.sum(dtype=numpy.float64))))';
    const result = spawnSync('/usr/bin/python3', ['-c', script, path.join(dir, 'embeddings.npy')], {
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    const npy = decodeNpy(fs.readFileSync(path.join(dir, 'embeddings.npy')));
    const sum = npy.values.reduce((total, value) => total + value, 0);
    const [dtype, rows, columns, value, total] = result.stdout.trim().replace(/[(),]/g, ' ').split(/\s+/);
    expect([dtype, rows, columns]).toEqual(['float32', '25', '192']);
    expect(Number(value)).toBe(npy.values[3 * 192 + 7]);
    expect(Number(total)).toBeCloseTo(sum, 3);
  });
});

describe('neighbours and suspects of the project', () => {
  it("lists an image's nearest neighbours by cosine distance, nearest first, itself left out", async () => {
    const stored = readEmbeddings(studio.workspace, { ...request(), pooling: 'mean' });
    const imageId = stored.meta.imageIds[4]!;
    const similar = await studio.services.embeddings.similar(imageId, { ...request(), pooling: 'mean' }, { k: 5 });
    expect(similar.neighbours).toHaveLength(5);
    expect(similar.neighbours.some((n) => n.imageId === imageId)).toBe(false);
    const distances = similar.neighbours.map((n) => n.distance);
    expect([...distances].sort((a, b) => a - b)).toEqual(distances);
    // The first neighbour is the nearest of all rows, computed here by hand.
    const row = 4;
    const unit = (r: number) => {
      const v = stored.matrix.values.slice(r * 192, (r + 1) * 192);
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    };
    const own = unit(row);
    const cosine = stored.meta.imageIds.map((_, r) =>
      r === row ? -Infinity : unit(r).reduce((s, x, d) => s + x * own[d]!, 0),
    );
    const best = cosine.indexOf(Math.max(...cosine));
    expect(similar.neighbours[0]!.imageId).toBe(stored.meta.imageIds[best]);
    expect(similar.neighbours[0]!.distance).toBeCloseTo(1 - cosine[best]!, 5);
  });

  it('orders suspects worst first, explains each, and leaves a class of one image unjudged', async () => {
    const list = await studio.services.embeddings.suspects({ ...request(), pooling: 'mean' }, { k: 5, limit: 50 });
    expect(list.k).toBe(5);
    for (const kind of [list.labelErrors, list.outliers]) {
      for (let i = 1; i < kind.length; i++) expect(kind[i]!.score).toBeLessThanOrEqual(kind[i - 1]!.score);
    }
    // "relabelled" has one image: a class of one has no centroid without it, so it is not judged.
    expect(list.labelErrors.concat(list.outliers).every((s) => s.label !== 'relabelled')).toBe(true);
    for (const suspect of list.labelErrors) expect(suspect.why).toMatch(/of its 5 nearest labelled images are not/);
    // The embedding's own neighbour agreement, and the warning exactly when it is weak.
    expect(list.agreement).toBeGreaterThanOrEqual(0);
    expect(list.warnings).toHaveLength(list.agreement! < 0.8 ? 1 : 0);
  });

  it('flags a slightly altered copy in another file as a near duplicate of its original, nothing else', async () => {
    const original = studio.workspace.images
      .good(fixture.projectId)
      .find((image) => image.path.endsWith('ring-lesion-002.png'))!;
    // The original's 16-bit values as the studio reads them, +1 on every other pixel.
    const decoded = await decodePlanar({ path: original.path, channels: 1, bitDepth: 16 });
    const values = Uint16Array.from(decoded.data, (value, i) => Math.min(65535, Math.round(value * 65535) + (i % 2)));
    const folder = path.join(fixture.dir, 'copies', 'ring-lesion');
    fs.mkdirSync(folder, { recursive: true });
    await sharp(values, { raw: { width: decoded.width, height: decoded.height, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toFile(path.join(folder, 'copy.png'));
    await studio.runImport('copies', fixture.projectId, [path.dirname(folder)]);
    await computeAndWait();
    const copy = studio.workspace.images.good(fixture.projectId).find((image) => image.path.endsWith('copy.png'))!;
    const similar = await studio.services.embeddings.similar(copy.id, { ...request(), pooling: 'mean' }, { k: 5 });
    expect(similar.neighbours[0]).toMatchObject({ imageId: original.id, nearDuplicate: true });
    expect(similar.neighbours[0]!.distance).toBeLessThan(similar.nearDuplicateBelow);
    expect(similar.neighbours.slice(1).every((n) => !n.nearDuplicate)).toBe(true);
  });

  it('records an image it cannot read with the reason, and embeds the rest', async () => {
    const folder = path.join(fixture.dir, 'gone', 'round-lesion');
    fs.mkdirSync(folder, { recursive: true });
    const file = path.join(folder, 'moved-away.png');
    fs.copyFileSync(studio.workspace.images.good(fixture.projectId)[5]!.path, file);
    fs.appendFileSync(file, 'x'); // other bytes, so not a duplicate
    await studio.runImport('gone', fixture.projectId, [path.dirname(folder)]);
    fs.rmSync(file);
    const events = await computeAndWait();
    expect(events.at(-1)!.error).toBeUndefined();
    const status = await studio.services.embeddings.status({ ...request(), pooling: 'mean' });
    expect(status.stored!.images).toBe(status.images - 1);
    expect(status.stored!.skipped).toEqual([
      expect.objectContaining({ path: file, reason: expect.stringMatching(/moved-away\.png|no such file|ENOENT/i) }),
    ]);
  });
});

describe('in the worker thread', () => {
  it('computes the same embeddings there, and the service answers other calls while it works', async () => {
    const key = { ...request(), pooling: 'mean' as const };
    const before = readEmbeddings(studio.workspace, key);
    const jobs: Promise<unknown>[] = [];
    const service = embeddingServices(
      () => studio.workspace,
      studio.events,
      (job) => jobs.push(job),
      null,
      path.resolve(import.meta.dirname, '../../../dist/cli/embedding-worker.js'),
    ).embeddings;
    fs.rmSync(embeddingFiles(studio.workspace, fixture.projectId, before.meta).json);
    const answered: string[] = [];
    const off = studio.events.on('embeddingProgress', (event) => {
      // Each progress event is a moment the worker is busy: the service answers a status call then.
      if (event.phase === 'batch')
        void Promise.resolve(service.status(key)).then((status) => answered.push(status.state));
    });
    expect((await service.compute(key)).state).toBe('computing');
    await Promise.all(jobs);
    off();
    expect(answered.length).toBeGreaterThan(0);
    expect(answered).toContain('computing');
    const after = readEmbeddings(studio.workspace, key);
    expect(after.meta.imageIds).toEqual(before.meta.imageIds);
    after.matrix.values.forEach((value, i) => expect(value).toBeCloseTo(before.matrix.values[i]!, 4));
    const suspects = await service.suspects(key, { k: 5, limit: 50 });
    const here = await studio.services.embeddings.suspects(key, { k: 5, limit: 50 });
    expect(suspects.labelErrors.map((s) => s.imageId)).toEqual(here.labelErrors.map((s) => s.imageId));
    expect(suspects.outliers.map((s) => s.imageId)).toEqual(here.outliers.map((s) => s.imageId));
  }, 60_000);
});

describe('the embedding map', () => {
  const points = (coordinates: string) =>
    Array.from(new Float32Array(new Uint8Array(Buffer.from(coordinates, 'base64')).buffer));

  it('projects every embedded image once per seed, stores the map and reuses it; labels are read fresh', async () => {
    const stored = readEmbeddings(studio.workspace, { ...request(), pooling: 'mean' });
    const progress: EmbeddingMapProgress[] = [];
    const off = studio.events.on('embeddingMapProgress', (event) => progress.push(event));
    const map = await studio.services.embeddings.map({ ...request(), pooling: 'mean' }, { seed: 3 });
    // Started, the neighbours found (0 of all epochs), the layout's last epoch, finished.
    expect(progress[0]).toMatchObject({ phase: 'started', seed: 3, runId: fixture.runId });
    const layout = progress.filter((event) => event.phase === 'layout');
    expect(layout[0]!.done).toBe(0);
    expect(layout.at(-1)!.done).toBe(layout.at(-1)!.total);
    expect(progress.at(-1)).toMatchObject({ phase: 'finished' });
    expect(progress.at(-1)!.error).toBeUndefined();
    expect(map.imageIds).toEqual(stored.meta.imageIds);
    expect(map.fitted).toBe(map.imageIds.length); // a small set: UMAP fitted every image
    expect(map.paths).toHaveLength(map.imageIds.length);
    const xy = points(map.coordinates);
    expect(xy).toHaveLength(map.imageIds.length * 2);
    expect(xy.every((value) => Number.isFinite(value) && Math.abs(value) <= 1)).toBe(true);
    expect(map.colourings.map((c) => c.name).slice(0, 4)).toEqual(['label', 'split', 'format', 'excluded']);
    expect(map.colourings.find((c) => c.name === 'mean · channel 1')?.values.every((v) => typeof v === 'number')).toBe(
      true,
    );
    const labels = map.colourings[0]!;
    expect(labels.kind === 'category' && labels.categories).toEqual(
      expect.arrayContaining(['ring-lesion', 'round-lesion']),
    );

    // Relabelling changes the colours, not the map (it is read back from disk, the same numbers).
    const first = map.imageIds[0]!;
    await studio.services.curation.setLabel(fixture.projectId, { imageIds: [first] }, 'map-test');
    const again = await studio.services.embeddings.map({ ...request(), pooling: 'mean' }, { seed: 3 });
    expect(again.coordinates).toBe(map.coordinates);
    expect(again.seconds).toBe(map.seconds);
    off();
    expect(progress.filter((event) => event.phase === 'started')).toHaveLength(1); // the second came from disk
    const relabelled = again.colourings[0]!;
    expect(relabelled.kind === 'category' && relabelled.categories[relabelled.values[0]!]).toBe('map-test');
  });

  it('refuses to map embeddings that are out of date, saying to compute them again', async () => {
    const folder = path.join(fixture.dir, 'late', 'ring-lesion');
    fs.mkdirSync(folder, { recursive: true });
    const source = studio.workspace.images.good(fixture.projectId)[2]!.path;
    fs.writeFileSync(path.join(folder, 'late.png'), Buffer.concat([fs.readFileSync(source), Buffer.from('late')]));
    await studio.runImport('late', fixture.projectId, [path.dirname(folder)]);
    await expect(studio.services.embeddings.map({ ...request(), pooling: 'mean' }, { seed: 3 })).rejects.toThrow(
      /out of date.*compute them again/,
    );
  });
});
