import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tissueOnGlass, writeSlideFixture } from '../formats/slide.fixtures';
import { temporaryFolder, temporaryWorkspace } from '../images.fixtures';
import { ImageWindows } from '../image-window';
import { importFolders } from './import';

let data: ReturnType<typeof temporaryFolder>;
let space: ReturnType<typeof temporaryWorkspace>;

beforeEach(() => {
  data = temporaryFolder();
  space = temporaryWorkspace();
});
afterEach(() => {
  space.remove();
  data.remove();
});

async function importAll() {
  return importFolders({
    importId: 'i',
    projectId: space.projectId,
    folders: [data.dir],
    images: space.workspace.images,
    projectDir: space.workspace.projectDir(space.projectId),
  });
}

function rowsOf(file: string) {
  return space.workspace.images.samplesOf(space.projectId, file).map((sample) => space.workspace.images.get(sample.id));
}

describe('importing whole-slide images', () => {
  it('imports a slide as one entry with its levels, scale, tissue and a thumbnail, never decoded whole', async () => {
    const small = path.join(data.dir, 'biopsy.svs');
    await writeSlideFixture(small, { width: 900, height: 600, mpp: 0.5 });
    // 12 000 × 9 000 (over the huge threshold) in 256² tiles, each level storing one glass and one tissue tile.
    const large = path.join(data.dir, 'resection.tif');
    const paint = tissueOnGlass(12_000, 9_000);
    await writeSlideFixture(large, {
      width: 12_000,
      height: 9_000,
      tile: 256,
      levels: 4,
      factor: 4,
      structure: 'reduced',
      mpp: 0.25,
      tileKey: (level, column, row) => `${level}:${paint(column * 256 * 4 ** level, row * 256 * 4 ** level)[1]}`,
    });
    await importAll();
    const [slide] = rowsOf(small);
    expect(rowsOf(small)).toHaveLength(1);
    expect(slide).toMatchObject({ error: null, format: 'slide', width: 900, height: 600, channels: 3, bitDepth: 8 });
    expect(slide!.meta!.slide!.levels).toHaveLength(3);
    expect(slide!.meta!.tissue!.share).toBeGreaterThan(0.1);
    const [huge] = rowsOf(large);
    expect(huge).toMatchObject({ error: null, format: 'slide', width: 12_000, height: 9_000 });
    expect(huge!.meta).toMatchObject({ huge: true, slide: { vendor: 'generic', mpp: 0.25 } });
    // 12 000 / 187 (the last level rounds 187.5 down): downsamples are measured, not assumed.
    expect(huge!.meta!.slide!.levels.map((level) => level.downsample)).toEqual([1, 4, 16, 64.171]);
    expect(huge!.meta!.tissue!.share).toBeGreaterThan(0.1);
    expect(huge!.hasThumbnail).toBe(true);

    // The viewer reads the whole 10^8-pixel slide zoomed out, from its pyramid.
    const window = await new ImageWindows().read(space.workspace, huge!.id, { x: 0, y: 0, step: 64 });
    expect(window).toMatchObject({ width: 188, height: 141, bands: 3, sampleType: 'uint8' });
    const values = Buffer.from(window.values, 'base64');
    const centre = (70 * 188 + 66) * 3; // inside the tissue disc (centred at 35%, 50%)
    const [red, green, blue] = values.subarray(centre, centre + 3);
    expect([Math.round(red! / 10), Math.round(blue! / 10)]).toEqual([20, 17]); // pink: 200, 90–121, 170
    expect(green).toBeGreaterThanOrEqual(88);
    expect(green).toBeLessThanOrEqual(123);
  });

  it('records a broken slide with a reason naming the directory and field, and imports the rest', async () => {
    await writeSlideFixture(path.join(data.dir, 'good.tif'), { width: 300, height: 200 });
    await writeSlideFixture(path.join(data.dir, 'bad.tif'), {
      width: 256,
      height: 256,
      structure: 'reduced',
      hostile: 'claims-huge-level',
    });
    await importAll();
    expect(rowsOf(path.join(data.dir, 'good.tif'))[0]).toMatchObject({ error: null, format: 'slide' });
    const [bad] = rowsOf(path.join(data.dir, 'bad.tif'));
    expect(bad!.error).toMatch(/bad\.tif: page 2 has 4 TileOffsets, but a 1000000×1000000 image/);
  });
});
