/**
 * The training loader as a run uses it: the same seed gives the same batches from the decoded
 * cache as from the files, with or without working ahead; the cache is reused, and a file
 * changed on disk after it was cached is read again, never trained on stale.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../mae/rng';
import type { ChannelTransform, ImageEntry } from '../batches';
import { temporaryFolder, writeFixture, type FixtureSpec } from '../images.fixtures';
import { trainingLoader } from './loader';
import { prepareTrainingCache } from './prepare';
import { normalisationOf, prepareSample, storedSide } from './prepared';
import { cacheUsage, deleteCache } from './shards';

const IMG_SIZE = 32;
const SIDE = storedSide(IMG_SIZE); // 72: the 96×80 fixtures are scaled down, the 40×48 ones kept
let folder: ReturnType<typeof temporaryFolder>;
let entries: ImageEntry[];

/** RGB 8-bit and RGB 16-bit images brought to grey by luminance (float values), and kept RGB. */
const TRANSFORM: ChannelTransform = {
  inputChannels: 3,
  conversions: { 3: 'keep' },
  bands: [0, 1, 2],
  clip: [null, [10, 240], null],
  center: [120, 110, 100],
  spread: [60, 50, 40],
};

async function entryOf(file: string, spec: FixtureSpec): Promise<ImageEntry> {
  await writeFixture(file, spec);
  return {
    path: file,
    sha256: `hash-of-${path.basename(file)}`,
    channels: spec.channels,
    bitDepth: spec.bitDepth,
    width: spec.width,
    height: spec.height,
  };
}

beforeAll(async () => {
  folder = temporaryFolder('mae-cache-');
  entries = [];
  for (let index = 0; index < 5; index++) {
    const [width, height] = index % 2 === 0 ? [96, 80] : [40, 48];
    entries.push(
      await entryOf(path.join(folder.dir, 'images', `${index}.png`), {
        format: 'png',
        bitDepth: 8,
        channels: 3,
        width,
        height,
        seed: index,
      }),
    );
  }
});
afterAll(() => folder.remove());

/** The first index where two batches differ (-1: identical), cheap to report when they do. */
function firstDifference(left: Float32Array[], right: Float32Array[]): number {
  const a = Float32Array.from(left.flatMap((batch) => [...batch]));
  const b = Float32Array.from(right.flatMap((batch) => [...batch]));
  if (a.length !== b.length) return Math.min(a.length, b.length);
  return a.findIndex((value, index) => !Object.is(value, b[index]));
}

async function batches(
  records: Awaited<ReturnType<typeof prepareTrainingCache>>['records'] | undefined,
  depth: number,
  count = 3,
) {
  const loader = trainingLoader({
    entries,
    imgSize: IMG_SIZE,
    side: SIDE,
    transform: TRANSFORM,
    normalisation: normalisationOf(TRANSFORM, 8, [], []),
    depth,
    memoryBytes: 0,
    ...(records && { records }),
  });
  const rng = Rng.fromSeed(11, 2);
  try {
    const result: Float32Array[] = [];
    for (let index = 0; index < count; index++) result.push((await loader.next(rng, 4)).images);
    return { result, state: rng.state() };
  } finally {
    await loader.close();
  }
}

describe('the training loader', () => {
  it('gives the same batches from the cache as from the files, ahead of the step or not', async () => {
    const project = path.join(folder.dir, 'project-a');
    const cache = await prepareTrainingCache({ projectDir: project, entries, side: SIDE, transform: TRANSFORM });
    expect(cache.records.every((record) => record !== null)).toBe(true);
    const fromFiles = await batches(undefined, 0);
    const fromCache = await batches(cache.records, 2);
    const fromCacheInOrder = await batches(cache.records, 0);
    expect(fromCache.state).toEqual(fromFiles.state); // the run's generator advanced identically
    expect(firstDifference(fromCache.result, fromFiles.result)).toBe(-1);
    expect(firstDifference(fromCacheInOrder.result, fromFiles.result)).toBe(-1);
    // Not a trivially constant batch: the images differ and are normalised around 0.
    const values = fromCache.result[0]!;
    expect(Math.max(...values) - Math.min(...values)).toBeGreaterThan(1);
  });

  it('stores samples scaled to the crop margin, in their own type, and reuses them across runs', async () => {
    const project = path.join(folder.dir, 'project-b');
    const first = await prepareTrainingCache({ projectDir: project, entries, side: SIDE, transform: TRANSFORM });
    expect(first.progress).toMatchObject({ total: 5, read: 5, changed: 0 });
    // 96×80 → shorter side 72
    expect(first.records[0]).toMatchObject({ height: 72, width: 86, sampleType: 'uint8', channels: 3 });
    expect(first.records[1]).toMatchObject({ height: 48, width: 40 }); // smaller than 72: kept
    const usage = cacheUsage(project);
    expect(usage).toMatchObject({ shards: 1, samples: 5 });
    expect(usage.bytes).toBeGreaterThan(3 * (72 * 86 * 3 + 2 * 48 * 40)); // the samples plus a manifest
    const again = await prepareTrainingCache({ projectDir: project, entries, side: SIDE, transform: TRANSFORM });
    expect(again.progress).toMatchObject({ read: 0, changed: 0 });
    // Another size or channel plan never reads these samples.
    const otherSide = await prepareTrainingCache({ projectDir: project, entries, side: 40, transform: TRANSFORM });
    expect(otherSide.progress.read).toBe(5);
    const otherPlan = await prepareTrainingCache({
      projectDir: project,
      entries,
      side: SIDE,
      transform: { ...TRANSFORM, clip: [null, null, null] },
    });
    expect(otherPlan.progress.read).toBe(5);
    deleteCache(project);
    expect(cacheUsage(project)).toEqual({ bytes: 0, shards: 0, samples: 0 });
  });

  it('reads a file changed on disk since it was cached again, and trains on the new pixels', async () => {
    const project = path.join(folder.dir, 'project-c');
    await prepareTrainingCache({ projectDir: project, entries, side: SIDE, transform: TRANSFORM });
    const changed = entries[2]!;
    const before = await prepareSample(changed, SIDE, TRANSFORM);
    // Same size and name, other pixels; the mtime moves on as an editor saving it would.
    await writeFixture(changed.path, { format: 'png', bitDepth: 8, channels: 3, width: 96, height: 80, seed: 40 });
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(changed.path, later, later);
    const after = await prepareTrainingCache({ projectDir: project, entries, side: SIDE, transform: TRANSFORM });
    expect(after.progress).toMatchObject({ read: 1, changed: 1 });
    const fromCache = await batches(after.records, 2, 6);
    const fromFiles = await batches(undefined, 0, 6);
    expect(firstDifference(fromCache.result, fromFiles.result)).toBe(-1);
    expect(Buffer.from((await prepareSample(changed, SIDE, TRANSFORM)).values).equals(Buffer.from(before.values))).toBe(
      false,
    );
  });

  it('keeps 16-bit samples as uint16 and plans that make floats as float32', async () => {
    const project = path.join(folder.dir, 'project-d');
    const deep = [
      await entryOf(path.join(folder.dir, 'deep', 'a.png'), {
        format: 'png',
        bitDepth: 16,
        channels: 3,
        width: 90,
        height: 90,
        seed: 2,
      }),
    ];
    const kept = await prepareTrainingCache({ projectDir: project, entries: deep, side: SIDE, transform: TRANSFORM });
    expect(kept.records[0]).toMatchObject({ sampleType: 'uint16', height: 72, width: 72 });
    const luminance: ChannelTransform = {
      inputChannels: 1,
      conversions: { 3: 'luminance' },
      bands: [0],
      clip: [null],
      center: [30000],
      spread: [9000],
    };
    const grey = await prepareTrainingCache({ projectDir: project, entries: deep, side: SIDE, transform: luminance });
    expect(grey.records[0]).toMatchObject({ sampleType: 'float32', channels: 1 });
  });
});
