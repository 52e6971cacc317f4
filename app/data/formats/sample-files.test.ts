import { describe, expect, it } from 'vitest';
import { packBits } from './dicom-rle';
import { encodeWasm } from './codecs.fixtures';
import { omeXml, writeDicom, writeTiff, type TiffPageSpec } from './formats.fixtures';
import { openSampleFile, type SampleFile } from './sample-files';
import sharp from 'sharp';

async function open(bytes: Uint8Array, fileName = 'fixture'): Promise<SampleFile> {
  const file = await openSampleFile({ bytes, path: fileName }, fileName);
  if (!file) throw new Error('expected a sample file');
  return file;
}

const ramp = (count: number, step = 1, start = 0) => Array.from({ length: count }, (_, index) => start + index * step);

describe('DICOM', () => {
  it('reads signed 16-bit CT in Hounsfield units after Rescale Slope/Intercept, with VOI windows', async () => {
    const stored = [-2000, -1, 0, 1, 1000, 3000];
    const file = await open(
      writeDicom({
        rows: 2,
        columns: 3,
        bitsAllocated: 16,
        bitsStored: 13,
        signed: true,
        values: stored,
        slope: 1,
        intercept: -1024,
        windows: [
          { center: 40, width: 400 },
          { center: -600, width: 1500 },
        ],
      }),
    );
    expect(file.format).toBe('dicom');
    const raster = await file.read(0);
    expect(Array.from(raster.values)).toEqual(stored.map((value) => value - 1024));
    expect(raster.sampleType).toBe('int16');
    expect(file.samples[0]!.meta.windows).toEqual([
      { center: 40, width: 400 },
      { center: -600, width: 1500 },
    ]);
    expect(file.samples[0]!.meta.rescale).toEqual({ slope: 1, intercept: -1024 });
  });

  it('reads explicit big endian and implicit little endian the same', async () => {
    const values = ramp(12, 5000);
    for (const transferSyntax of ['1.2.840.10008.1.2.2', '1.2.840.10008.1.2', '1.2.840.10008.1.2.1']) {
      const file = await open(writeDicom({ rows: 3, columns: 4, bitsAllocated: 16, values, transferSyntax }));
      expect(Array.from((await file.read(0)).values)).toEqual(values);
      expect(file.samples[0]!.sampleType).toBe('uint16');
    }
  });

  it('keeps a fractional slope as float32 and sign-extends 12 stored bits', async () => {
    const file = await open(
      writeDicom({
        rows: 1,
        columns: 3,
        bitsAllocated: 16,
        bitsStored: 12,
        signed: true,
        values: [0x0fff, 0x0800, 0x07ff],
        slope: 0.5,
        intercept: 10,
      }),
    );
    const raster = await file.read(0);
    expect(raster.sampleType).toBe('float32');
    expect(Array.from(raster.values)).toEqual([-1 * 0.5 + 10, -2048 * 0.5 + 10, 2047 * 0.5 + 10]);
  });

  it('makes each frame of a multi-frame file a sample', async () => {
    const file = await open(writeDicom({ rows: 2, columns: 2, frames: 3, bitsAllocated: 8, values: ramp(12, 10) }));
    expect(file.samples).toHaveLength(3);
    expect(Array.from((await file.read(2)).values)).toEqual([80, 90, 100, 110]);
    expect(file.samples[1]!.meta.frames).toBe(3);
  });

  it('decodes RLE Lossless frames exactly', async () => {
    const values = [0, 1, 258, 65535, 300, 300];
    const high = Uint8Array.from(values, (value) => value >> 8);
    const low = Uint8Array.from(values, (value) => value & 0xff);
    const segments = [packBits(high), packBits(low)];
    const header = new Uint8Array(64);
    const view = new DataView(header.buffer);
    view.setUint32(0, 2, true);
    view.setUint32(4, 64, true);
    view.setUint32(8, 64 + segments[0]!.length, true);
    const frame = new Uint8Array([...header, ...segments[0]!, ...segments[1]!]);
    const file = await open(
      writeDicom({ rows: 2, columns: 3, bitsAllocated: 16, transferSyntax: '1.2.840.10008.1.2.5', fragments: [frame] }),
    );
    expect(Array.from((await file.read(0)).values)).toEqual(values);
  });

  it('decodes JPEG-LS and JPEG 2000 lossless frames exactly (WASM codecs)', async () => {
    // 64² (OpenJPEG's default of 5 decompositions needs at least 32² pixels).
    const values = Uint16Array.from(ramp(64 * 64, 997), (value) => value % 4096);
    const jpegLs = await encodeWasm('charls', values, 64, 64);
    const j2k = await encodeWasm('openjpeg', values, 64, 64);
    for (const [transferSyntax, fragment] of [
      ['1.2.840.10008.1.2.4.80', jpegLs],
      ['1.2.840.10008.1.2.4.90', j2k],
    ] as const) {
      const file = await open(
        writeDicom({ rows: 64, columns: 64, bitsAllocated: 16, bitsStored: 12, transferSyntax, fragments: [fragment] }),
      );
      expect(Array.from((await file.read(0)).values)).toEqual(Array.from(values));
    }
  });

  it('decodes JPEG baseline frames like libvips does', async () => {
    const grey = Uint8Array.from(ramp(256), (value) => value);
    const jpeg = await sharp(grey, { raw: { width: 16, height: 16, channels: 1 } })
      .jpeg({ quality: 95 })
      .toBuffer();
    const expected = await sharp(jpeg).raw().toBuffer();
    const file = await open(
      writeDicom({
        rows: 16,
        columns: 16,
        bitsAllocated: 8,
        transferSyntax: '1.2.840.10008.1.2.4.50',
        fragments: [new Uint8Array(jpeg)],
      }),
    );
    const values = Array.from((await file.read(0)).values);
    values.forEach((value, index) => expect(Math.abs(value - expected[index]!)).toBeLessThanOrEqual(1));
  });

  it('turns uncompressed YBR_FULL_422 (two pixels share Cb and Cr) into RGB, as PS3.3 defines it', async () => {
    // Row 1: grey 100 and 150; row 2: Y 128 with Cr at its maximum (red), twice.
    const stored = [100, 150, 128, 128, 128, 128, 128, 255];
    const file = await open(
      writeDicom({
        rows: 2,
        columns: 2,
        samplesPerPixel: 3,
        bitsAllocated: 8,
        photometric: 'YBR_FULL_422',
        values: stored,
      }),
    );
    expect(file.samples[0]!.meta.converted).toBe('YBR_FULL_422 colour converted to RGB');
    expect(Array.from((await file.read(0)).values)).toEqual([100, 100, 100, 150, 150, 150, 255, 37, 128, 255, 37, 128]);
  });

  it('reads 32-bit pixels (RT dose grids) as float32 with a note, in both byte orders', async () => {
    const values = [0, 1, 795_000, 1_254_000, 16_777_216, 4_000_000_000];
    for (const transferSyntax of ['1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2']) {
      const file = await open(writeDicom({ rows: 2, columns: 3, bitsAllocated: 32, values, transferSyntax }));
      expect(file.samples[0]!).toMatchObject({ sampleType: 'float32', bitDepth: 32 });
      expect(file.samples[0]!.meta.converted).toMatch(/^32-bit unsigned integers converted to float32/);
      expect(Array.from((await file.read(0)).values)).toEqual(values);
    }
  });

  it('reads a data set in its own encoding when the meta header names no or the wrong transfer syntax', async () => {
    const values = [1, 2, 300, 4000];
    const implicit = '1.2.840.10008.1.2';
    const missing = await open(
      writeDicom({ rows: 2, columns: 2, bitsAllocated: 16, values, transferSyntax: implicit, declaredSyntax: null }),
    );
    expect(Array.from((await missing.read(0)).values)).toEqual(values);
    const lying = await open(
      writeDicom({
        rows: 2,
        columns: 2,
        bitsAllocated: 16,
        values,
        transferSyntax: implicit,
        declaredSyntax: '1.2.840.10008.1.2.1',
      }),
    );
    expect(Array.from((await lying.read(0)).values)).toEqual(values);
    const compressed = writeDicom({
      rows: 2,
      columns: 2,
      bitsAllocated: 16,
      values,
      transferSyntax: implicit,
      declaredSyntax: '1.2.840.10008.1.2.4.50',
    });
    await expect(open(compressed)).rejects.toThrow(
      'its meta header says transfer syntax 1.2.840.10008.1.2.4.50, ' +
        'but its data set is encoded as Implicit VR Little Endian',
    );
  });

  it('refuses an unsupported transfer syntax naming it', async () => {
    const bytes = writeDicom({
      rows: 2,
      columns: 2,
      bitsAllocated: 8,
      transferSyntax: '1.2.840.10008.1.2.4.51',
      fragments: [new Uint8Array(4)],
    });
    await expect(open(bytes)).rejects.toThrow(
      'unsupported DICOM transfer syntax 1.2.840.10008.1.2.4.51 (JPEG Extended (12-bit))',
    );
  });

  it('keeps no patient tag in its metadata', async () => {
    const file = await open(writeDicom({ rows: 1, columns: 1, bitsAllocated: 8, values: [1] }));
    const meta = JSON.stringify(file.samples[0]!.meta);
    expect(meta).not.toMatch(/Doe|Jane|4711|1970/);
    expect(file.samples[0]!.meta.modality).toBe('CT');
  });
});

describe('TIFF', () => {
  it('reads a 5-band int16 GeoTIFF with nodata and band names exactly', async () => {
    const values = ramp(4 * 3 * 5, 37, -1000);
    const file = await open(
      writeTiff([
        {
          width: 4,
          height: 3,
          bands: 5,
          sampleType: 'int16',
          values,
          nodata: -9999,
          bandNames: ['B1', 'B2', 'B3', 'B4', 'B5'],
        },
      ]),
    );
    expect(file.format).toBe('geotiff');
    expect(Array.from((await file.read(0)).values)).toEqual(values);
    expect(file.samples[0]!.meta).toMatchObject({
      sampleType: 'int16',
      nodata: -9999,
      channelNames: ['B1', 'B2', 'B3', 'B4', 'B5'],
    });
  });

  it('reads float32 and 13-band uint16 rasters', async () => {
    const floats = [0.5, -1.25, 3.75, 1e6];
    const file = await open(writeTiff([{ width: 2, height: 2, bands: 1, sampleType: 'float32', values: floats }]));
    expect(Array.from((await file.read(0)).values)).toEqual(floats);
    const bands = ramp(3 * 2 * 13, 700);
    const sentinel = await open(
      writeTiff([{ width: 3, height: 2, bands: 13, sampleType: 'uint16', values: bands, rowsPerStrip: 1 }]),
    );
    expect(sentinel.samples[0]!.bands).toBe(13);
    expect(Array.from((await sentinel.read(0)).values)).toEqual(bands);
  });

  it('leaves plain 8/16-bit TIFFs of up to four bands to sharp', async () => {
    expect(
      await openSampleFile(
        { bytes: writeTiff([{ width: 2, height: 2, bands: 3, sampleType: 'uint8', values: ramp(12) }]), path: 'x.tif' },
        'x.tif',
      ),
    ).toBeNull();
  });

  it('makes OME-TIFF (z, t) planes samples with named channels, in DimensionOrder', async () => {
    // XYCZT with C=2, Z=3, T=1: page = c + 2·z; each page is filled with 10·page.
    const pages: TiffPageSpec[] = ramp(6).map((page) => ({
      width: 2,
      height: 2,
      bands: 1,
      sampleType: 'uint16' as const,
      values: Array(4).fill(page * 10),
    }));
    pages[0]!.description = omeXml({ c: 2, z: 3, t: 1 }, ['DAPI', 'GFP'], 'XYCZT', 2, 2);
    const file = await open(writeTiff(pages));
    expect(file.format).toBe('ome-tiff');
    expect(file.samples).toHaveLength(3);
    expect(file.samples[2]!.meta).toMatchObject({ z: 2, t: 0, channelNames: ['DAPI', 'GFP'] });
    expect(Array.from((await file.read(2)).values)).toEqual([40, 50, 40, 50, 40, 50, 40, 50]);
  });

  it('makes each full-resolution page of a plain multi-page TIFF a sample, skipping overviews', async () => {
    const file = await open(
      writeTiff([
        { width: 4, height: 4, bands: 1, sampleType: 'uint8', values: Array(16).fill(1) },
        { width: 2, height: 2, bands: 1, sampleType: 'uint8', values: Array(4).fill(1), overview: true },
        { width: 4, height: 4, bands: 1, sampleType: 'uint8', values: Array(16).fill(2) },
      ]),
    );
    expect(file.samples).toHaveLength(2);
    expect(Array.from((await file.read(1)).values)).toEqual(Array(16).fill(2));
  });

  it('reads a window of a tiled image from its tiles', async () => {
    const values = ramp(20 * 12, 1);
    const file = await open(
      writeTiff([{ width: 20, height: 12, bands: 1, sampleType: 'int16', values, tile: [16, 16] }]),
    );
    const window = await file.read(0, { x: 14, y: 5, width: 4, height: 2 });
    expect(Array.from(window.values)).toEqual([114, 115, 116, 117, 134, 135, 136, 137]);
  });
});
