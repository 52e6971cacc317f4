/**
 * The viewer's windows: real values in the sample's own units (Hounsfield units for CT after
 * Rescale Slope/Intercept), every `step`-th pixel, any frame of a multi-frame file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageWindow } from '../contract';
import { Studio } from '../studio';
import { writeDicom, writeTiff } from './formats/formats.fixtures';
import { sampleRegion } from './image-window';

let dir: string;
let studio: Studio;
let projectId: number;

/** The decoded values of a window. */
function valuesOf(window: ImageWindow): number[] {
  const bytes = Buffer.from(window.values, 'base64');
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const Type = { uint8: Uint8Array, uint16: Uint16Array, int16: Int16Array, float32: Float32Array }[window.sampleType];
  return [...new Type(buffer)];
}

async function imageId(name: string): Promise<number> {
  const page = await studio.services.images.list({
    projectId,
    offset: 0,
    limit: 50,
    sort: 'path',
    status: 'ok',
    search: name,
  });
  return page.images[0]!.id;
}

const query = (extra: Record<string, number> = {}) => ({ x: 0, y: 0, step: 1, ...extra });

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-window-'));
  const images = path.join(dir, 'images');
  fs.mkdirSync(images);
  // CT: stored 0..1500 in steps of 100, intercept -1024 → -1024..476 HU; 3 frames of 4×4.
  fs.writeFileSync(
    path.join(images, 'ct.dcm'),
    writeDicom({
      rows: 4,
      columns: 4,
      frames: 3,
      bitsAllocated: 16,
      bitsStored: 12,
      intercept: -1024,
      windows: [{ center: 40, width: 400 }],
      values: Array.from({ length: 48 }, (_, i) => (i % 16) * 100 + Math.floor(i / 16)),
    }),
  );
  // A 16-bit grey PNG whose value is x + 100 y.
  const pixels = new Uint16Array(Array.from({ length: 64 * 32 }, (_, i) => (i % 64) + 100 * Math.floor(i / 64)));
  await sharp(pixels, { raw: { width: 64, height: 32, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toFile(path.join(images, 'ramp.png'));
  // A 50,000 × 50,000 uint16 slide in 256² tiles that all share one block (value = 100 x + y in the tile).
  const tile = Array.from({ length: 256 * 256 }, (_, index) => (index % 256) * 100 + Math.floor(index / 256));
  fs.writeFileSync(
    path.join(images, 'slide.tif'),
    writeTiff([
      {
        width: 50_000,
        height: 50_000,
        bands: 1,
        sampleType: 'uint16',
        values: tile,
        tile: [256, 256],
        sharedTile: true,
      },
    ]),
  );
  studio = new Studio(path.join(dir, 'workspace'));
  projectId = (await studio.services.projects.create({ name: 'Window', domain: 'medical' })).id;
  const result = await studio.runImport('window', projectId, [images]);
  expect(result.errors).toEqual([]);
});
afterAll(async () => {
  await studio.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('images.window', () => {
  it('gives CT values in Hounsfield units, with the file’s VOI window', async () => {
    const window = await studio.services.images.window(await imageId('ct.dcm'), query());
    expect(window).toMatchObject({
      width: 4,
      height: 4,
      bands: 1,
      frames: 3,
      frame: 0,
      unit: 'HU',
      modality: 'CT',
      windows: [{ center: 40, width: 400 }],
    });
    expect(valuesOf(window)).toEqual(Array.from({ length: 16 }, (_, i) => i * 100 - 1024));
  });

  it('steps to another frame of the same file', async () => {
    const window = await studio.services.images.window(
      await imageId('ct.dcm'),
      query({ frame: 2, x: 1, y: 2, width: 2, height: 1 }),
    );
    expect(window).toMatchObject({ frame: 2, x: 1, y: 2, width: 2, height: 1 });
    expect(valuesOf(window)).toEqual([9 * 100 + 2 - 1024, 10 * 100 + 2 - 1024]);
    expect(window.frameImageId).not.toBeNull();
    await expect(studio.services.images.window(await imageId('ct.dcm'), query({ frame: 3 }))).rejects.toThrow(
      'has 3 frames',
    );
  });

  it('keeps every step-th pixel of a 16-bit image at its native values, clamped to the image', async () => {
    const id = await imageId('ramp.png');
    const window = await studio.services.images.window(id, query({ x: 60, y: 10, width: 100, height: 4, step: 2 }));
    expect(window).toMatchObject({
      sampleType: 'uint16',
      regionWidth: 4,
      regionHeight: 4,
      width: 2,
      height: 2,
      imageWidth: 64,
      imageHeight: 32,
    });
    expect(valuesOf(window)).toEqual([1060, 1062, 1260, 1262]);
    await expect(studio.services.images.window(id, query({ x: 64 }))).rejects.toThrow('outside the 64×32 image');
  });
});

describe('images.window on a huge TIFF', () => {
  it('reads a native window from the tiles that cover it, and refuses to read the whole slide', async () => {
    const id = await imageId('slide.tif');
    expect((await studio.services.images.get(id)).meta?.huge).toBe(true);
    const window = await studio.services.images.window(
      id,
      query({ x: 100 * 256 + 3, y: 140 * 256 + 5, width: 4, height: 1 }),
    );
    expect(window).toMatchObject({
      imageWidth: 50_000,
      imageHeight: 50_000,
      width: 4,
      height: 1,
      sampleType: 'uint16',
    });
    expect(valuesOf(window)).toEqual([305, 405, 505, 605]);
    await expect(studio.services.images.window(id, query({ step: 64 }))).rejects.toThrow('too large to read whole');
  });
});

describe('sampleRegion', () => {
  it('keeps the bands of each kept pixel together', () => {
    const raster = {
      width: 3,
      height: 2,
      bands: 2,
      sampleType: 'float32' as const,
      values: new Float32Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
    };
    expect([...sampleRegion(raster, { x: 0, y: 0, width: 3, height: 2 }, 2).values]).toEqual([0, 1, 4, 5]);
    expect([...sampleRegion(raster, { x: 1, y: 1, width: 2, height: 1 }, 1).values]).toEqual([8, 9, 10, 11]);
  });
});
