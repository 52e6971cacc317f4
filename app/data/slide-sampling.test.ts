import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../mae/rng';
import { drawWindow, fileBatchSource, readEntry, type ImageEntry } from './batches';
import { OPEN_SLIDES, openSlideFile } from './formats/slide-file';
import { writeSlideFixture } from './formats/slide.fixtures';
import { slideEntryOf } from './slide-sampling';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slide-sampling-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A 1600×1200 slide at 0.25 µm per pixel, its tissue a disc over about a fifth of it. */
async function slideEntry(micronsPerPixel: number | null, minTissue: number): Promise<ImageEntry> {
  const file = path.join(dir, `slide-${micronsPerPixel}-${minTissue}.tif`);
  await writeSlideFixture(file, { width: 1600, height: 1200, levels: 4, mpp: 0.25 });
  const slide = (await openSlideFile({ bytes: null, path: file, size: fs.statSync(file).size }))!;
  const meta = { ...slide.samples[0]!.meta, ...(await slide.extraMeta!(0)) };
  return {
    path: file,
    channels: 3,
    bitDepth: 8,
    width: 1600,
    height: 1200,
    slide: slideEntryOf(meta, { micronsPerPixel, minTissue }),
  };
}

/** Share of a read's pixels the tissue rule calls tissue. */
async function tissueOf(entry: ImageEntry, rng: Rng, imgSize: number): Promise<{ share: number; side: number }> {
  const window = drawWindow(entry, imgSize, rng)!;
  const read = await readEntry(entry, window);
  expect(read.width).toBe(imgSize);
  // The fixture's tissue is pink (saturation above 0.4), its glass grey (saturation 0).
  let tissue = 0;
  for (let at = 0; at < read.values.length; at += 3) {
    const [r, g, b] = [read.values[at]!, read.values[at + 1]!, read.values[at + 2]!];
    if (Math.max(r, g, b) - Math.min(r, g, b) > 0.2 * Math.max(r, g, b)) tissue++;
  }
  return { share: tissue / (read.width * read.height), side: window.width };
}

describe('slide training windows', () => {
  it('draws windows on tissue, at the plan’s microns per pixel, read at the model’s size', async () => {
    const entry = await slideEntry(1, 0.9); // 1 µm per pixel on a 0.25 µm slide: downsample 4
    expect(entry.slide!.downsample).toBe(4);
    const rng = Rng.fromSeed(7);
    const shares: number[] = [];
    for (let draw = 0; draw < 20; draw++) {
      const { share, side } = await tissueOf(entry, rng, 32);
      expect(side).toBe(128); // 32 training pixels × 4 level-0 pixels each
      shares.push(share);
    }
    // The disc is a fifth of the slide: drawn anywhere, most windows would be glass.
    expect(shares.filter((share) => share > 0.5).length).toBeGreaterThanOrEqual(18);
  });

  it('draws anywhere when the tissue threshold is 0, so most windows land on glass', async () => {
    const entry = await slideEntry(1, 0);
    const rng = Rng.fromSeed(7);
    let onTissue = 0;
    for (let draw = 0; draw < 20; draw++) if ((await tissueOf(entry, rng, 32)).share > 0.5) onTissue++;
    expect(onTissue).toBeLessThan(12);
  });

  it('reads level 0 when the plan sets no scale, and batches come out at the model size', async () => {
    const entry = await slideEntry(null, 0.5);
    expect(entry.slide!.downsample).toBe(1);
    const source = fileBatchSource({ images: [entry], imgSize: 32, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
    const batch = await source.next(Rng.fromSeed(3), 4);
    expect(batch).toMatchObject({ batchSize: 4, channels: 3, height: 32, width: 32 });
    expect(batch.images.every(Number.isFinite)).toBe(true);
  });

  it('reads a slide evicted from the open ones by later slides, and trains on more slides than stay open', async () => {
    const entries: ImageEntry[] = [];
    const opened = [];
    for (let index = 0; index < OPEN_SLIDES + 4; index++) {
      const file = path.join(dir, `many-${index}.tif`);
      await writeSlideFixture(file, { width: 256, height: 192, levels: 2 });
      const slide = (await openSlideFile({ bytes: null, path: file, size: fs.statSync(file).size }))!;
      opened.push(slide);
      const meta = { ...slide.samples[0]!.meta, ...(await slide.extraMeta!(0)) };
      entries.push({
        path: file,
        channels: 3,
        bitDepth: 8,
        width: 256,
        height: 192,
        slide: slideEntryOf(meta, undefined),
      });
    }
    // The first slide was closed when the ninth opened (the close runs in the background); a read through it works.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const read = await opened[0]!.read(0, { x: 100, y: 100, width: 20, height: 20 });
    expect(read).toMatchObject({ width: 20, height: 20, bands: 3 });
    const source = fileBatchSource({ images: entries, imgSize: 32, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
    const rng = Rng.fromSeed(5);
    for (let batch = 0; batch < 3; batch++) expect((await source.next(rng, 24)).batchSize).toBe(24);
  });
});
