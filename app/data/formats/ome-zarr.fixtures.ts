/**
 * OME-Zarr folders written by hand for the tests — metadata JSON, chunk files, zlib or gzip from
 * node:zlib — so that the reader is checked against the specification, not against the library
 * it is built on. Zarr v2 with NGFF 0.4 attributes, or Zarr v3 with NGFF 0.5 attributes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';

/** Stored type of the array's values. */
export type FixtureType = 'uint8' | 'uint16' | 'int16' | 'float32' | 'float64' | 'int32' | 'int8';

/** What {@link writeOmeZarr} writes. */
export interface OmeZarrFixture {
  /** Zarr v2 (NGFF 0.4, `.zattrs`/`.zarray`) or v3 (NGFF 0.5, `zarr.json`). */
  version: 2 | 3;
  /** Axis names in stored order, e.g. `['t', 'c', 'z', 'y', 'x']`. */
  axes: string[];
  /** Shape of the full-resolution level, one size per axis. */
  shape: number[];
  /** Chunk shape, one size per axis. */
  chunks: number[];
  dtype: FixtureType;
  /** Compression of every chunk; null stores raw bytes; blosc frames hold their bytes uncompressed. */
  compressor: 'zlib' | 'gzip' | 'blosc' | null;
  /** Value at a full-resolution index (one coordinate per axis). */
  value: (index: number[]) => number;
  /** `omero.channels[].label` of each channel, when given. */
  channelLabels?: string[];
  /** Zarr v2 chunk key separator: `/` (NGFF 0.4, the default) or `.` (older writers). */
  separator?: '/' | '.';
  /** Pyramid levels, each half the previous in y and x (default 2). */
  levels?: number;
}

const V2_TYPES: Record<FixtureType, string> = {
  uint8: '|u1',
  int8: '|i1',
  uint16: '<u2',
  int16: '<i2',
  int32: '<i4',
  float32: '<f4',
  float64: '<f8',
};
const BYTES: Record<FixtureType, number> = { uint8: 1, int8: 1, uint16: 2, int16: 2, int32: 4, float32: 4, float64: 8 };

/** Writes an OME-Zarr image into `dir` (created), with its pyramid levels `0`, `1`, … */
export function writeOmeZarr(dir: string, fixture: OmeZarrFixture): void {
  fs.mkdirSync(dir, { recursive: true });
  const levels = fixture.levels ?? 2;
  const axes = fixture.axes.map((name) => ({ name, type: name === 't' ? 'time' : name === 'c' ? 'channel' : 'space' }));
  const multiscales = [
    {
      ...(fixture.version === 2 && { version: '0.4' }),
      name: path.basename(dir),
      axes,
      datasets: Array.from({ length: levels }, (_, level) => ({
        path: String(level),
        coordinateTransformations: [
          { type: 'scale', scale: fixture.axes.map((name) => (name === 'y' || name === 'x' ? 2 ** level : 1)) },
        ],
      })),
    },
  ];
  const omero = fixture.channelLabels && {
    channels: fixture.channelLabels.map((label) => ({ label, color: 'FFFFFF', active: true })),
  };
  if (fixture.version === 2) {
    writeJson(path.join(dir, '.zgroup'), { zarr_format: 2 });
    writeJson(path.join(dir, '.zattrs'), { multiscales, ...(omero && { omero }) });
  } else {
    writeJson(path.join(dir, 'zarr.json'), {
      zarr_format: 3,
      node_type: 'group',
      attributes: { ome: { version: '0.5', multiscales, ...(omero && { omero }) } },
    });
  }
  for (let level = 0; level < levels; level++) {
    const factor = 2 ** level;
    const shape = fixture.shape.map((size, axis) =>
      isPlaneAxis(fixture.axes[axis]!) ? Math.ceil(size / factor) : size,
    );
    const value = (index: number[]): number =>
      fixture.value(index.map((at, axis) => (isPlaneAxis(fixture.axes[axis]!) ? at * factor : at)));
    writeArray(path.join(dir, String(level)), fixture, shape, value);
  }
}

function isPlaneAxis(name: string): boolean {
  return name === 'y' || name === 'x';
}

function writeArray(dir: string, fixture: OmeZarrFixture, shape: number[], value: (index: number[]) => number): void {
  fs.mkdirSync(dir, { recursive: true });
  const { chunks, dtype, compressor } = fixture;
  if (fixture.version === 2) {
    writeJson(path.join(dir, '.zarray'), {
      zarr_format: 2,
      shape,
      chunks,
      dtype: V2_TYPES[dtype],
      compressor:
        compressor === 'blosc'
          ? { id: 'blosc', cname: 'lz4', clevel: 0, shuffle: 0, blocksize: 0 }
          : compressor && { id: compressor, level: 1 },
      fill_value: 0,
      order: 'C',
      filters: null,
      dimension_separator: fixture.separator ?? '/',
    });
  } else {
    writeJson(path.join(dir, 'zarr.json'), {
      zarr_format: 3,
      node_type: 'array',
      shape,
      data_type: dtype,
      chunk_grid: { name: 'regular', configuration: { chunk_shape: chunks } },
      chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
      codecs: [
        { name: 'bytes', configuration: { endian: 'little' } },
        ...(compressor ? [v3Codec(compressor, BYTES[dtype])] : []),
      ],
      fill_value: 0,
      dimension_names: fixture.axes,
    });
  }
  const grid = shape.map((size, axis) => Math.ceil(size / chunks[axis]!));
  for (const chunk of indices(grid)) {
    const raw = encodeChunk(chunk, chunks, shape, dtype, value);
    const bytes =
      compressor === 'zlib'
        ? deflateSync(raw)
        : compressor === 'gzip'
          ? gzipSync(raw)
          : compressor === 'blosc'
            ? bloscFrame(raw, BYTES[dtype])
            : raw;
    const key = fixture.version === 2 ? chunk.join(fixture.separator ?? '/') : ['c', ...chunk].join('/');
    const file = path.join(dir, key);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, bytes);
  }
}

function v3Codec(compressor: 'zlib' | 'gzip' | 'blosc', typesize: number): unknown {
  if (compressor !== 'blosc') return { name: compressor, configuration: { level: 1 } };
  return { name: 'blosc', configuration: { cname: 'lz4', clevel: 0, shuffle: 'noshuffle', typesize, blocksize: 0 } };
}

/**
 * A Blosc 1 frame storing `raw` as it is (the "memcpyed" flag), as Blosc writes data that does
 * not compress: a 16-byte header (version 2, format 1, flags, type size, sizes), then the bytes.
 */
function bloscFrame(raw: Buffer, typesize: number): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt8(2, 0);
  header.writeUInt8(1, 1);
  header.writeUInt8(0x02, 2); // memcpyed, no shuffle
  header.writeUInt8(typesize, 3);
  header.writeUInt32LE(raw.length, 4); // bytes once decompressed
  header.writeUInt32LE(raw.length, 8); // block size: one block
  header.writeUInt32LE(raw.length + 16, 12); // bytes of the frame
  return Buffer.concat([header, raw]);
}

/** A whole chunk in C order, little endian; values past the array's edge are 0 (the fill value). */
function encodeChunk(
  chunk: number[],
  chunks: number[],
  shape: number[],
  dtype: FixtureType,
  value: (index: number[]) => number,
): Buffer {
  const count = chunks.reduce((a, b) => a * b, 1);
  const buffer = Buffer.alloc(count * BYTES[dtype]);
  let offset = 0;
  for (const local of indices(chunks)) {
    const index = local.map((at, axis) => chunk[axis]! * chunks[axis]! + at);
    const inside = index.every((at, axis) => at < shape[axis]!);
    const v = inside ? value(index) : 0;
    if (dtype === 'uint8') buffer.writeUInt8(v, offset);
    else if (dtype === 'int8') buffer.writeInt8(v, offset);
    else if (dtype === 'uint16') buffer.writeUInt16LE(v, offset);
    else if (dtype === 'int16') buffer.writeInt16LE(v, offset);
    else if (dtype === 'int32') buffer.writeInt32LE(v, offset);
    else if (dtype === 'float32') buffer.writeFloatLE(v, offset);
    else buffer.writeDoubleLE(v, offset);
    offset += BYTES[dtype];
  }
  return buffer;
}

/** Every index of a grid, last axis fastest. */
function* indices(shape: number[]): Generator<number[]> {
  const index = shape.map(() => 0);
  if (shape.some((size) => size === 0)) return;
  for (;;) {
    yield [...index];
    let axis = shape.length - 1;
    while (axis >= 0 && ++index[axis]! === shape[axis]!) index[axis--] = 0;
    if (axis < 0) return;
  }
}

function writeJson(file: string, value: unknown): void {
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
}
