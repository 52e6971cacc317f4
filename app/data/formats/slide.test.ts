import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { openSampleFile } from './sample-files';
import { openSlideFile, type SlideFile } from './slide-file';
import { splitTables, writeSlideFixture, type SlideFixtureOptions } from './slide.fixtures';
import { jpegOfTile } from './slide-tiles';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slide-test-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let counter = 0;
async function slideAt(options: SlideFixtureOptions): Promise<string> {
  const file = path.join(dir, `slide-${counter++}.tif`);
  await writeSlideFixture(file, options);
  return file;
}

async function open(file: string): Promise<SlideFile> {
  const slide = await openSlideFile({ bytes: null, path: file, size: fs.statSync(file).size });
  if (!slide) throw new Error(`${file} was not taken as a slide`);
  return slide;
}

/** Mean RGB of a raster region. */
function meanOf(values: ArrayLike<number>, bands = 3): number[] {
  const sums = [0, 0, 0];
  for (let at = 0; at < values.length; at += bands)
    for (let band = 0; band < 3; band++) sums[band]! += values[at + band]!;
  return sums.map((sum) => sum / (values.length / bands));
}

describe('whole-slide TIFFs', () => {
  it('finds the levels and microns per pixel of an SVS, skipping its thumbnail, label and macro', async () => {
    const file = await slideAt({ width: 700, height: 500, levels: 3, factor: 2, mpp: 0.25 });
    const slide = await open(file);
    expect(slide.format).toBe('slide');
    expect(slide.samples).toHaveLength(1);
    expect(slide.samples[0]).toMatchObject({ width: 700, height: 500, bands: 3, huge: false });
    expect(slide.samples[0]!.meta.slide).toMatchObject({
      vendor: 'aperio',
      compression: 'JPEG',
      mpp: 0.25,
      magnification: 20,
      levels: [
        { width: 700, height: 500, downsample: 1 },
        { width: 350, height: 250, downsample: 2 },
        { width: 175, height: 125, downsample: 4 },
      ],
    });
  });

  it('reads generic pyramids from reduced-resolution pages or SubIFDs, with mpp from the resolution tags', async () => {
    for (const structure of ['reduced', 'subifd'] as const) {
      const slide = await open(await slideAt({ width: 512, height: 256, structure, mpp: 0.5 }));
      const meta = slide.samples[0]!.meta.slide!;
      expect(meta.vendor).toBe('generic');
      expect(meta.mpp).toBeCloseTo(0.5, 3);
      expect(meta.levels.map((level) => level.width)).toEqual([512, 256, 128]);
    }
  });

  it('reads the same pixels at every level where the slide is flat, JPEG tiles with shared tables, YCbCr', async () => {
    const paint = (x: number): [number, number, number] => (x < 256 ? [200, 60, 150] : [240, 240, 240]);
    const slide = await open(await slideAt({ width: 512, height: 256, paint, photometric: 'ycbcr' }));
    // A window inside the pink half, at level 0 and read scaled (from level 2).
    const full = await slide.read(0, { x: 40, y: 40, width: 100, height: 100 });
    expect(meanOf(full.values).map(Math.round)).toEqual([
      expect.closeTo(200, -1),
      expect.closeTo(60, -1),
      expect.closeTo(150, -1),
    ]);
    const scaled = await slide.readScaled({ x: 0, y: 0, width: 512, height: 256 }, 128, 64);
    expect(scaled).toMatchObject({ width: 128, height: 64, bands: 3 });
    const left = meanOf(scaled.values.subarray(0, 3 * 40));
    expect(Math.abs(left[0]! - 200)).toBeLessThan(8);
    const right = meanOf(scaled.values.subarray(3 * 100, 3 * 128));
    expect(Math.abs(right[1]! - 240)).toBeLessThan(8);
  });

  it('keeps a bare JPEG stream under Photometric RGB as stored, and converts it under YCbCr', async () => {
    const grey = await sharp(Buffer.alloc(16 * 16 * 3, 200), { raw: { width: 16, height: 16, channels: 3 } })
      .jpeg({ quality: 100 })
      .toBuffer();
    const { tables, tile } = splitTables(grey); // no JFIF marker left: a bare stream
    const decode = async (photometric: number) => [
      ...(
        await sharp(jpegOfTile({ jpegTables: tables, photometric }, tile))
          .raw()
          .toBuffer()
      ).subarray(0, 3),
    ];
    // The stream holds Y = 200, Cb = Cr = 128: as RGB those are the values; as YCbCr, grey 200.
    expect((await decode(2)).map((v) => Math.round(v / 4))).toEqual([50, 32, 32]);
    expect((await decode(6)).map((v) => Math.round(v / 4))).toEqual([50, 50, 50]);
  });

  it('reads Aperio JPEG 2000 tiles, RGB (33005) and YCbCr (33003), to the pixels written', async () => {
    const paint = (x: number, y: number): [number, number, number] => [(x * 3) & 255, (y * 5) & 255, 90];
    for (const compression of ['jpeg2000-rgb', 'jpeg2000-ycbcr'] as const) {
      const slide = await open(await slideAt({ width: 128, height: 96, tile: 32, levels: 2, paint, compression }));
      expect(slide.samples[0]!.meta.slide!.compression).toMatch(/^JPEG 2000/);
      const window = await slide.read(0, { x: 20, y: 30, width: 40, height: 20 });
      let worst = 0;
      for (let y = 0; y < 20; y++)
        for (let x = 0; x < 40; x++) {
          const expected = paint(20 + x, 30 + y);
          for (let band = 0; band < 3; band++)
            worst = Math.max(worst, Math.abs(window.values[(y * 40 + x) * 3 + band]! - expected[band]!));
        }
      // Lossless coding: exact for RGB; YCbCr rounds once each way.
      expect(worst).toBeLessThanOrEqual(compression === 'jpeg2000-rgb' ? 0 : 2);
    }
  });

  it('makes a tissue mask from the smallest level at import, and its thumbnail from a level', async () => {
    const file = await slideAt({ width: 800, height: 600, levels: 3 });
    const slide = await open(file);
    const extra = await slide.extraMeta!(0);
    const tissue = extra.tissue!;
    expect(tissue.columns).toBe(128);
    expect(tissue.rows).toBe(96);
    // The disc covers π · 0.22 · 0.3 ≈ 0.207 of the slide.
    expect(tissue.share).toBeGreaterThan(0.17);
    expect(tissue.share).toBeLessThan(0.25);
    const overview = await slide.readOverview!(0, 300 * 200);
    expect(overview).toMatchObject({ width: 200, height: 150 });
  });

  it('reads tiles stored with no bytes as white glass, which the tissue mask leaves out', async () => {
    // Tiles starting right of 60% of the width hold only glass (the disc ends at 57%).
    const emptyTiles = (level: number, column: number) => column * 64 * 2 ** level >= 0.6 * 512;
    const file = await slideAt({ width: 512, height: 256, levels: 3, emptyTiles });
    const full = await open(await slideAt({ width: 512, height: 256, levels: 3 }));
    const slide = await open(file);
    const glass = await slide.read(0, { x: 400, y: 10, width: 60, height: 60 });
    expect(glass.values.every((value) => value === 255)).toBe(true);
    // Level 1 has empty tiles too (x ≥ 384 of level 0): a zoomed-out read composes them as white.
    const overview = await slide.readScaled({ x: 0, y: 0, width: 512, height: 256 }, 256, 128);
    const right = overview.values.filter((_, at) => Math.floor(at / 3) % 256 >= 200);
    expect(right.every((value) => value === 255)).toBe(true);
    // Tissue (the disc) is read as before; the empty glass is not tissue.
    const disc = { x: 100, y: 100, width: 64, height: 64 };
    expect((await slide.read(0, disc)).values).toEqual((await full.read(0, disc)).values);
    const tissue = (await slide.extraMeta!(0)).tissue!;
    const fullTissue = (await full.extraMeta!(0)).tissue!;
    expect(tissue.share).toBeGreaterThan(0.17);
    expect(tissue.share).toBeCloseTo(fullTissue.share, 2);
  });

  it('refuses a zoomed-out read of a slide without a pyramid instead of composing it whole', async () => {
    const file = await slideAt({ width: 10_000, height: 10_000, tile: 256, levels: 1, tileKey: () => 'one' });
    const slide = await open(file);
    await expect(slide.readScaled({ x: 0, y: 0, width: 10_000, height: 10_000 }, 100, 100)).rejects.toThrow(
      /would read 100 million pixels of page 1 .* at most 67 million are read at once: zoom in/,
    );
    // No small level: no tissue mask and no overview (the importer makes a mosaic of tiles).
    expect(await slide.extraMeta!(0)).toEqual({});
    expect(await slide.readOverview!(0, 4 * 1024 * 1024)).toBeNull();
  });

  it('routes slides through openSampleFile, from bytes and by path', async () => {
    const file = await slideAt({ width: 300, height: 200 });
    const bytes = new Uint8Array(fs.readFileSync(file));
    const fromBytes = await openSampleFile({ bytes, path: file }, file);
    expect(fromBytes?.format).toBe('slide');
    const whole = await fromBytes!.read(0);
    expect(whole).toMatchObject({ width: 300, height: 200, bands: 3 });
  });
});

describe('hostile slides', () => {
  it('names the tile and field when a tile offset lies past the end of the file', async () => {
    const file = await slideAt({ width: 256, height: 256, hostile: 'offset-past-end' });
    await expect(open(file)).rejects.toThrow(
      /slide-\d+\.tif: page 1: tile 16 \(TileOffsets 2147483648, TileByteCounts \d+\) ends at byte \d+, past the end/,
    );
  });

  it('refuses a level claiming 10^6 × 10^6 pixels whose tiles are missing, naming the field', async () => {
    const file = await slideAt({ width: 256, height: 256, structure: 'reduced', hostile: 'claims-huge-level' });
    await expect(open(file)).rejects.toThrow(
      /page 2 has 4 TileOffsets, but a 1000000×1000000 image in 64×64 tiles needs 244140625/,
    );
  });

  it('says which tile decodes to another size than TileWidth × TileLength', async () => {
    const file = await slideAt({ width: 128, height: 128, hostile: 'tile-size-mismatch' });
    const slide = await open(file);
    await expect(slide.read(0, { x: 0, y: 0, width: 10, height: 10 })).rejects.toThrow(
      /tile 0,0 of page 1 cannot be decoded: it decodes to 32×32×3, TileWidth × TileLength × SamplesPerPixel say 64×64/,
    );
  });
});
