import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { temporaryFolder } from '../images.fixtures';
import { openOmeZarr, readOmeZarrAttributes } from './ome-zarr';
import { writeOmeZarr, type OmeZarrFixture } from './ome-zarr.fixtures';

let folder: ReturnType<typeof temporaryFolder>;
beforeEach(() => (folder = temporaryFolder('mae-zarr-')));
afterEach(() => folder.remove());

/** t, c, z, y, x → a value that tells every position apart. */
const tczyx = (index: number[]): number => {
  const [t, c, z, y, x] = index as [number, number, number, number, number];
  return t * 10000 + c * 1000 + z * 100 + y * 10 + x;
};

function image(fixture: Partial<OmeZarrFixture> = {}): string {
  const dir = path.join(folder.dir, 'cells.ome.zarr');
  writeOmeZarr(dir, {
    version: 2,
    axes: ['t', 'c', 'z', 'y', 'x'],
    shape: [2, 2, 3, 7, 9],
    chunks: [1, 1, 2, 4, 4],
    dtype: 'uint16',
    compressor: 'zlib',
    value: tczyx,
    channelLabels: ['DAPI', 'GFP'],
    ...fixture,
  });
  return dir;
}

describe('OME-Zarr', () => {
  for (const [version, compressor] of [
    [2, 'zlib'],
    [2, 'blosc'],
    [2, null],
    [3, 'gzip'],
    [3, 'blosc'],
    [3, null],
  ] as const) {
    it(`reads each (t, z) plane, its channels and names (v${version}, ${compressor ?? 'raw'} chunks)`, async () => {
      const file = await openOmeZarr(image({ version, compressor }));
      expect(file.format).toBe('ome-zarr');
      expect(file.samples).toHaveLength(6);
      const fourth = file.samples[3]!;
      expect([fourth.width, fourth.height, fourth.bands, fourth.sampleType, fourth.bitDepth]).toEqual([
        9,
        7,
        2,
        'uint16',
        16,
      ]);
      expect(fourth.meta).toMatchObject({
        sample: 'z 1/3 · t 2/2 · c 1–2',
        z: 0,
        t: 1,
        frames: 6,
        channelNames: ['DAPI', 'GFP'],
      });
      // Plane (t 1, z 0): channels interleaved, chunk edges (7 × 9 in chunks of 4) crossed.
      const raster = await file.read(3);
      expect(raster.values).toBeInstanceOf(Uint16Array);
      for (const [y, x] of [
        [0, 0],
        [3, 4],
        [6, 8],
        [5, 2],
      ] as const) {
        for (const c of [0, 1]) expect(raster.values[(y * 9 + x) * 2 + c]).toBe(tczyx([1, c, 0, y, x]));
      }
      const window = await file.read(5, { x: 3, y: 2, width: 4, height: 5 });
      expect([window.width, window.height]).toEqual([4, 5]);
      expect(window.values[(4 * 4 + 3) * 2 + 1]).toBe(tczyx([1, 1, 2, 6, 6]));
    });
  }

  it("reads Zarr v2 chunks keyed with '.' (dimension_separator of older writers)", async () => {
    const file = await openOmeZarr(image({ separator: '.' }));
    expect(fs.existsSync(path.join(folder.dir, 'cells.ome.zarr', '0', '1.1.1.1.2'))).toBe(true);
    expect((await file.read(5)).values[(6 * 9 + 8) * 2 + 1]).toBe(tczyx([1, 1, 2, 6, 8]));
  });

  it('reads any subset of the axes holding y and x: one grey plane from y, x', async () => {
    const file = await openOmeZarr(
      image({
        axes: ['y', 'x'],
        shape: [5, 6],
        chunks: [5, 6],
        dtype: 'uint8',
        value: ([y, x]) => y! * 6 + x!,
        channelLabels: undefined,
      }),
    );
    expect(file.samples).toHaveLength(1);
    expect(file.samples[0]!.meta.sample).toBeUndefined();
    expect(file.samples[0]!.meta.channelNames).toBeUndefined();
    expect(Array.from((await file.read(0)).values)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('keeps int16 and float32, converts float64 and int32 to float32 with a note', async () => {
    const zyx = (dtype: OmeZarrFixture['dtype'], value: (index: number[]) => number) =>
      image({ axes: ['z', 'y', 'x'], shape: [2, 3, 3], chunks: [1, 3, 3], dtype, value, channelLabels: undefined });
    const signed = await openOmeZarr(zyx('int16', ([z, y, x]) => -1000 * z! - y! * 3 - x!));
    expect(signed.samples[1]!.meta).toMatchObject({ sample: 'z 2/2 · t 1/1 · c 1/1', sampleType: 'int16' });
    expect((await signed.read(1)).values[8]).toBe(-1008);
    folder.remove();
    folder = temporaryFolder('mae-zarr-');
    const doubles = await openOmeZarr(zyx('float64', ([z, y, x]) => z! + y! / 4 + x! / 8 + 0.1));
    expect(doubles.samples[0]!.sampleType).toBe('float32');
    expect(doubles.samples[0]!.meta.converted).toMatch(/64-bit float values converted to float32/);
    expect((await doubles.read(1)).values[5]).toBeCloseTo(1 + 1 / 4 + 2 / 8 + 0.1, 6);
  });

  it('finds the image attributes of a folder, and none in an ordinary or plain Zarr folder', () => {
    const dir = image();
    expect(readOmeZarrAttributes(dir)).toEqual({
      version: 2,
      axes: ['t', 'c', 'z', 'y', 'x'],
      levels: ['0', '1'],
      channelLabels: ['DAPI', 'GFP'],
    });
    expect(readOmeZarrAttributes(folder.dir)).toBeNull();
    expect(readOmeZarrAttributes(path.join(dir, '0'))).toBeNull();
  });
});

describe('hostile OME-Zarr folders', () => {
  it('names a missing full-resolution array', async () => {
    const dir = image();
    fs.rmSync(path.join(dir, '0', '.zarray'));
    await expect(openOmeZarr(dir)).rejects.toThrow(
      "OME-Zarr full-resolution level '0' has no 0/.zarray: the array is missing",
    );
  });

  it('names a chunk that does not hold its chunk size', async () => {
    const dir = image({ compressor: null });
    // t 1, c 1, z 0, y 0, x 0: the first chunk of plane 4's second channel, 6 bytes of 64.
    fs.writeFileSync(path.join(dir, '0', '1', '1', '0', '0', '0'), Buffer.alloc(6));
    const file = await openOmeZarr(dir);
    await expect(file.read(0)).resolves.toBeDefined();
    await expect(file.read(3)).rejects.toThrow(
      "OME-Zarr level '0', z 1/3 · t 2/2 · c 1–2: chunk 1/1/0/0/0 of level '0' holds 3 values, " +
        'its chunk shape 1 × 1 × 2 × 4 × 4 needs 32',
    );
  });

  it('names an unknown codec', async () => {
    const dir = image();
    const meta = path.join(dir, '0', '.zarray');
    fs.writeFileSync(meta, fs.readFileSync(meta, 'utf8').replace('"zlib"', '"snappy-turbo"'));
    const file = await openOmeZarr(dir).catch((error: Error) => error);
    const failure = file instanceof Error ? file : await file.read(0).catch((error: Error) => error);
    expect((failure as Error).message).toMatch(/snappy-turbo.*readable codecs: zlib, gzip, blosc/);
  });

  it('refuses axes without y and x, and axes it does not know', () => {
    const dir = image();
    const attributes = path.join(dir, '.zattrs');
    const text = fs.readFileSync(attributes, 'utf8');
    fs.writeFileSync(attributes, text.replace('"name": "y"', '"name": "q"'));
    expect(() => readOmeZarrAttributes(dir)).toThrow("OME-Zarr .zattrs: axis 'q' is not one of t, c, z, y, x");
    const json = JSON.parse(text) as { multiscales: { axes: unknown[] }[] };
    json.multiscales[0]!.axes = [
      { name: 'c', type: 'channel' },
      { name: 'z', type: 'space' },
    ];
    fs.writeFileSync(attributes, JSON.stringify(json));
    expect(() => readOmeZarrAttributes(dir)).toThrow(
      'OME-Zarr .zattrs: axes c, z lack y and x: the image has no 2-D planes',
    );
  });

  it('reads a plane over 64 Mi pixels by windows, with its thumbnail from a smaller level', async () => {
    const dir = image({
      axes: ['y', 'x'],
      shape: [1000, 1000],
      chunks: [500, 500],
      dtype: 'uint8',
      value: ([y, x]) => (y! + 2 * x!) % 251,
      channelLabels: undefined,
    });
    // Level 0 grows to 9000 × 8000: the chunks written cover its top-left 1000², the rest is fill.
    const meta = path.join(dir, '0', '.zarray');
    fs.writeFileSync(meta, JSON.stringify({ ...JSON.parse(fs.readFileSync(meta, 'utf8')), shape: [9000, 8000] }));
    const file = await openOmeZarr(dir);
    expect(file.samples[0]).toMatchObject({
      width: 8000,
      height: 9000,
      huge: true,
      meta: { huge: true, tile: [500, 500], overviews: 1 },
    });
    expect(file.blocks).toEqual({ width: 500, height: 500 });
    await expect(file.read(0)).rejects.toThrow(
      'OME-Zarr plane of 8000 × 9000 pixels is too large to read whole: it is read by windows',
    );
    const window = await file.read(0, { x: 480, y: 490, width: 40, height: 30 });
    expect(window.values[12 * 40 + 25]).toBe((502 + 2 * 505) % 251);
    expect(window.values[0]).toBe((490 + 2 * 480) % 251);
    const overview = (await file.readOverview!(0, 4 * 1024 * 1024))!;
    expect([overview.width, overview.height, overview.values[3 * 500 + 7]]).toEqual([500, 500, (6 + 2 * 14) % 251]);
    expect(await file.readOverview!(0, 1000)).toBeNull();
  });

  it('refuses a plane under 64 Mi pixels that would take over 2 GiB as stored, naming its size', async () => {
    const dir = image({ axes: ['y', 'x'], shape: [4, 4], chunks: [4, 4], channelLabels: undefined });
    const meta = path.join(dir, '0', '.zarray');
    // 40 float64 channels of 60 Mi pixels would take 18.8 GiB a plane.
    const attributes = path.join(dir, '.zattrs');
    const json = JSON.parse(fs.readFileSync(attributes, 'utf8')) as { multiscales: { axes: unknown[] }[] };
    json.multiscales[0]!.axes = ['c', 'y', 'x'];
    fs.writeFileSync(attributes, JSON.stringify(json));
    fs.writeFileSync(
      meta,
      JSON.stringify({
        ...JSON.parse(fs.readFileSync(meta, 'utf8')),
        shape: [40, 7680, 8192],
        chunks: [1, 1024, 1024],
        dtype: '<f8',
      }),
    );
    await expect(openOmeZarr(dir)).rejects.toThrow(
      "OME-Zarr full-resolution level '0' has planes of 8192 × 7680 pixels × 40 channels of float64 (18.8 GiB), " +
        'more than the 2 GiB a plane may take here',
    );
  });

  it('names broken JSON and a shape that does not match the axes', async () => {
    const dir = image();
    const meta = path.join(dir, '0', '.zarray');
    fs.writeFileSync(meta, fs.readFileSync(meta, 'utf8').replace('"shape": [\n    2,', '"shape": ['));
    await expect(openOmeZarr(dir)).rejects.toThrow(
      /level '0' (has 4 dimensions, its axes t, c, z, y, x name 5|cannot be opened)/,
    );
    fs.writeFileSync(path.join(dir, '.zattrs'), '{"multiscales": [');
    expect(() => readOmeZarrAttributes(dir)).toThrow(/OME-Zarr .zattrs is not valid JSON/);
  });
});
