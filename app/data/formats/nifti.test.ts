/**
 * NIfTI volumes: every datatype read in its real units, scaling applied, 4-D series as volumes of
 * slices, spacing and orientation kept, hostile files refused by name. Fixtures are written byte by
 * byte from the standard's layout (`nifti.fixtures.ts`), not by the library under test.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { formatOfFileName, sniffFormat } from './formats';
import { makeNifti, type NiftiFixture } from './nifti.fixtures';
import { readNifti } from './nifti';
import { axisCodes } from './nifti-affine';
import { openSampleFile } from './sample-files';

async function open(fixture: NiftiFixture, name = 'volume.nii') {
  const file = await openSampleFile({ bytes: makeNifti(fixture), path: `/data/${name}` }, name);
  if (!file) throw new Error('not opened as a sample file');
  return file;
}

/** Values i + 10·j + 100·k of a 3×2×2 volume, in storage order (i fastest). */
const RAMP = Array.from(
  { length: 12 },
  (_, index) => (index % 3) + 10 * (Math.floor(index / 3) % 2) + 100 * Math.floor(index / 6),
);

describe('NIfTI datatypes', () => {
  const cases: [string, number, number[], string][] = [
    ['uint8', 2, RAMP, 'uint8'],
    ['int8', 256, RAMP.map((value) => (value % 128) - 64), 'int16'],
    ['int16', 4, RAMP.map((value) => value * 100 - 20_000), 'int16'],
    ['uint16', 512, RAMP.map((value) => value * 500), 'uint16'],
    ['int32', 8, RAMP.map((value) => value * 100_000 - 5_000_000), 'float32'],
    ['uint32', 768, RAMP.map((value) => value * 1_000_000), 'float32'],
    ['int64', 1024, RAMP.map((value) => -value * 1000), 'float32'],
    ['uint64', 1280, RAMP.map((value) => value * 1000), 'float32'],
    ['float32', 16, RAMP.map((value) => value / 8 - 3.25), 'float32'],
    ['float64', 64, RAMP.map((value) => value / 4 - 1.5), 'float32'],
  ];
  for (const [name, datatype, values, kept] of cases) {
    it(`reads ${name} voxels exactly as ${kept}, slice k of the volume per sample`, async () => {
      const stored = datatype === 1024 || datatype === 1280 ? values.map((value) => BigInt(value)) : values;
      const file = await open({ datatype, dims: [3, 2, 2], values: stored });
      expect(file.format).toBe('nifti');
      expect(file.samples).toHaveLength(2);
      expect(file.samples[0]!.sampleType).toBe(kept);
      expect([file.samples[0]!.width, file.samples[0]!.height, file.samples[0]!.bands]).toEqual([3, 2, 1]);
      const second = await file.read(1);
      // Rows run from the highest j down: row 0 is j = 1 of slice k = 1.
      expect([...second.values]).toEqual([...values.slice(9, 12), ...values.slice(6, 9)]);
    });
  }

  it('reads RGB24 and RGBA32 as 3 and 4 bands of uint8', async () => {
    const rgb = await open({ datatype: 128, dims: [2, 1, 1], values: [1, 2, 3, 4, 5, 6] });
    expect(rgb.samples[0]!.bands).toBe(3);
    expect([...(await rgb.read(0)).values]).toEqual([1, 2, 3, 4, 5, 6]);
    const rgba = await open({ datatype: 2304, dims: [1, 1, 1], values: [9, 8, 7, 6], slope: 2 });
    expect(rgba.samples[0]!.bands).toBe(4);
    expect([...(await rgba.read(0)).values]).toEqual([9, 8, 7, 6]); // colours are never scaled
  });

  it('reads big-endian, gzipped and NIfTI-2 files alike', async () => {
    for (const variant of [
      { littleEndian: false },
      { gzip: true },
      { version: 2 as const },
      { version: 2 as const, littleEndian: false, gzip: true },
    ]) {
      const file = await open(
        { datatype: 4, dims: [3, 2, 2], values: RAMP, ...variant },
        variant.gzip ? 'volume.nii.gz' : 'volume.nii',
      );
      expect([...(await file.read(0)).values], JSON.stringify(variant)).toEqual([10, 11, 12, 0, 1, 2]);
    }
  });
});

describe('NIfTI scaling, series and geometry', () => {
  it('applies scl_slope and scl_inter, and leaves a slope of 0 unscaled', async () => {
    const scaled = await open({ datatype: 4, dims: [3, 2, 2], values: RAMP, slope: 0.5, intercept: -1024 });
    expect(scaled.samples[0]!.sampleType).toBe('float32');
    expect(scaled.samples[0]!.meta.rescale).toEqual({ slope: 0.5, intercept: -1024 });
    expect([...(await scaled.read(1)).values]).toEqual(
      [110, 111, 112, 100, 101, 102].map((value) => value * 0.5 - 1024),
    );
    const unscaled = await open({ datatype: 4, dims: [3, 2, 2], values: RAMP, slope: 0, intercept: 7 });
    expect(unscaled.samples[0]!.sampleType).toBe('int16');
    expect([...(await unscaled.read(0)).values]).toEqual([10, 11, 12, 0, 1, 2]);
  });

  it('cuts a 4-D series into volumes of slices, each named and placed', async () => {
    const values = Array.from({ length: 2 * 2 * 3 * 4 }, (_, index) => index);
    const file = await open({ datatype: 512, dims: [2, 2, 3, 4], values, pixdim: [0.8, 0.9, 2.5, 2000] });
    expect(file.samples).toHaveLength(12);
    const sample = file.samples[7]!; // volume 2 (t = 2), slice 2 (k = 1)
    expect(sample.meta.sample).toBe('slice 2 of 3 · volume 3 of 4');
    expect(sample.meta.volume).toMatchObject({
      volume: 2,
      volumes: 4,
      slice: 1,
      slices: 3,
      axis: 'k',
      transform: 'none',
    });
    expect(sample.meta.volume!.spacing![0]).toBeCloseTo(0.8, 6);
    expect(sample.meta.volume!.spacing![2]).toBeCloseTo(2.5, 6);
    expect(sample.meta.pixelSpacing![0]).toBeCloseTo(0.9, 6);
    const offset = 7 * 4; // the 8th 2×2 slice in storage order
    expect([...(await file.read(7)).values]).toEqual([offset + 2, offset + 3, offset, offset + 1]);
  });

  it('keeps the sform when it is set and the qform otherwise, with their axis codes', async () => {
    const rows: [number[], number[], number[]] = [
      [-2, 0, 0, 90],
      [0, 0, 3, -126],
      [0, -2, 0, 72],
    ];
    const sform = await open({
      datatype: 2,
      dims: [2, 2, 2],
      values: new Array(8).fill(0),
      sform: { code: 2, rows },
      qform: { code: 1, b: 0, c: 0, d: 0, offset: [0, 0, 0] },
    });
    expect(sform.samples[0]!.meta.volume).toMatchObject({
      transform: 'sform',
      orientation: 'LIA',
      affine: [...rows, [0, 0, 0, 1]],
    });
    // Quaternion (b, c, d) = (0, 0, 1): 180° about z, so i runs to -x (L) and j to -y (P); qfac -1 flips k.
    const qform = await open({
      datatype: 2,
      dims: [2, 2, 2],
      values: new Array(8).fill(0),
      pixdim: [1.5, 1.5, 4],
      qform: { code: 1, b: 0, c: 0, d: 1, offset: [10, 20, -30], qfac: -1 },
    });
    const placement = qform.samples[0]!.meta.volume!;
    expect(placement.transform).toBe('qform');
    expect(placement.orientation).toBe('LPI');
    expect(placement.affine!.map((row) => row.map((value) => Math.round(value * 1000) / 1000 + 0))).toEqual([
      [-1.5, 0, 0, 10],
      [0, -1.5, 0, 20],
      [0, 0, -4, -30],
      [0, 0, 0, 1],
    ]);
  });

  it('converts spacing in metres and microns to mm', async () => {
    const metres = await open({ datatype: 2, dims: [1, 1, 1], values: [0], pixdim: [0.001, 0.002, 0.003], units: 1 });
    expect(metres.samples[0]!.meta.volume!.spacing!.map((value) => Math.round(value * 1e6) / 1e6)).toEqual([1, 2, 3]);
    expect(
      axisCodes([
        [0, 0, 1, 0],
        [1, 0, 0, 0],
        [0, -1, 0, 0],
        [0, 0, 0, 1],
      ]),
    ).toBe('AIR');
  });
});

describe('NIfTI sniffing and hostile files', () => {
  it('knows NIfTI by its bytes, gzipped or not, whatever the name', () => {
    expect(
      sniffFormat(
        makeNifti({ datatype: 2, dims: [4, 4], values: new Array(16).fill(1) }).subarray(0, 4096),
        'scan.png',
      ),
    ).toMatchObject({ format: 'nifti', version: 1, gzip: false });
    expect(
      sniffFormat(
        makeNifti({
          version: 2,
          datatype: 2,
          dims: [4, 4],
          values: new Array(16).fill(1),
          gzip: true,
          littleEndian: false,
        }).subarray(0, 4096),
        'x',
      ),
    ).toMatchObject({ format: 'nifti', version: 2, gzip: true });
    expect(formatOfFileName('brain.NII.GZ')).toBe('nifti');
    expect(formatOfFileName('notes.gz')).toBeNull();
  });

  const hostile: [string, () => Uint8Array, RegExp][] = [
    [
      'a truncated file',
      () => makeNifti({ datatype: 4, dims: [3, 2, 2], values: RAMP }).subarray(0, 360),
      /truncated NIfTI file: 3×2×2×1 voxels of int16 need 24 bytes from offset 352, the file holds 8/,
    ],
    [
      'a truncated gzip stream',
      () => makeNifti({ datatype: 4, dims: [3, 2, 2], values: RAMP, gzip: true }).subarray(0, 40),
      /corrupt or truncated gzip stream/,
    ],
    [
      'complex voxels',
      () => makeNifti({ datatype: 32, dims: [2, 1, 1], values: [1, 2] }),
      /unsupported NIfTI datatype 32 \(complex64\)/,
    ],
    [
      'an unknown datatype',
      () => makeNifti({ datatype: 77, dims: [2, 1, 1], values: [1, 2] }),
      /unsupported NIfTI datatype 77: read are uint8, int16/,
    ],
    [
      'a .hdr of a pair',
      () => makeNifti({ datatype: 2, dims: [2, 1, 1], values: [1, 2], magic: 'ni1' }),
      /\.hdr\/\.img pair/,
    ],
    [
      '5-D vectors',
      () => makeNifti({ datatype: 2, dims: [1, 1, 1, 1, 3], values: [1, 2, 3] }),
      /unsupported 5-D NIfTI \(1×1×1×1×3\)/,
    ],
    [
      'a zero dimension',
      () => makeNifti({ datatype: 2, dims: [2, 0, 1], values: [] }),
      /invalid NIfTI dimensions 2×0×1/,
    ],
  ];
  it('refuses a .nii.gz that inflates beyond what its header declares (a decompression bomb)', () => {
    const small = makeNifti({ datatype: 2, dims: [2, 2, 1], values: [1, 2, 3, 4] });
    const padded = new Uint8Array(small.length + 8 * 1024 * 1024);
    padded.set(small);
    expect(() => readNifti(new Uint8Array(gzipSync(padded)))).toThrow(
      /inflates to more than its header declares \(356 bytes\): refused as a possible decompression bomb/,
    );
    // Within the slack (extensions, padding) it reads.
    const slightly = new Uint8Array(small.length + 1000);
    slightly.set(small);
    expect(readNifti(new Uint8Array(gzipSync(slightly))).size).toEqual([2, 2, 1, 1]);
  });

  it('refuses a header declaring more than it reads at most, before inflating', () => {
    expect(() => readNifti(makeNifti({ datatype: 64, dims: [2048, 2048, 1024], values: [], gzip: true }))).toThrow(
      /NIfTI file too large: its header declares 34359738720 bytes/,
    );
  });

  for (const [what, bytes, reason] of hostile) {
    it(`refuses ${what} with its reason`, () => {
      expect(() => readNifti(bytes())).toThrow(reason);
    });
  }
});
