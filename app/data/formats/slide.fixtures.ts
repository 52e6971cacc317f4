/**
 * Test slides: pyramidal JPEG-tiled TIFFs written tile by tile (sharp encodes each tile; the TIFF
 * structure is written here), shaped like an Aperio SVS (levels as pages, a stripped thumbnail
 * after level 0, label and macro pages at the end, `MPP = …` in the description) or like a generic
 * pyramid (reduced-resolution pages, or SubIFDs). Memory stays bounded by one tile: the benchmark
 * writes slides of 10^10 pixels with it. Hostile variants break one field each.
 */
import fs from 'node:fs';
import sharp from 'sharp';
import { codecPrintOptions } from './dicom-codecs';

/** What a fixture slide looks like. */
export interface SlideFixtureOptions {
  width: number;
  height: number;
  /** Tile side (default 64). */
  tile?: number;
  /** Levels, each half the size of the one before (default 3). */
  levels?: number;
  /** Downsample between levels (default 2; SVS files often use 4). */
  factor?: number;
  /** 'svs' (Aperio pages), 'reduced' (NewSubfileType pages) or 'subifd' (SubIFDs of page 1). */
  structure?: 'svs' | 'reduced' | 'subifd';
  /**
   * Photometric of JPEG tiles (default 'ycbcr'). sharp codes tiles as YCbCr either way: 'rgb'
   * labels them RGB, which readers (libtiff too) then keep as stored — a test of that rule.
   */
  photometric?: 'rgb' | 'ycbcr';
  /**
   * Move the quantisation and Huffman tables to JPEGTables and drop the JFIF marker (bare
   * streams, as SVS writers store them); default true.
   */
  sharedTables?: boolean;
  /** Microns per pixel of level 0 (description for 'svs', resolution tags otherwise). */
  mpp?: number;
  /** RGB of level-0 pixel (x, y); default {@link tissueOnGlass}. */
  paint?: (x: number, y: number) => [number, number, number];
  /** Tiles with the same key are stored once and pointed to by each (bounded disk for benchmarks). */
  tileKey?: (level: number, column: number, row: number) => string | null;
  /** Tiles written with no bytes (TileOffsets and TileByteCounts 0), as scanners store empty glass. */
  emptyTiles?: (level: number, column: number, row: number) => boolean;
  /** One field broken on purpose. */
  hostile?: 'offset-past-end' | 'claims-huge-level' | 'tile-size-mismatch';
  quality?: number;
  /**
   * Tile coding: JPEG (default), or lossless JPEG 2000 by OpenJPEG as Aperio stores it, of RGB
   * (33005) or of YCbCr components (33003, converted here before encoding).
   */
  compression?: 'jpeg' | 'jpeg2000-rgb' | 'jpeg2000-ycbcr';
}

/** A slide of pink "tissue" discs on white glass (saturated inside the discs, grey outside). */
export function tissueOnGlass(width: number, height: number): (x: number, y: number) => [number, number, number] {
  return (x, y) => {
    const dx = (x - width * 0.35) / (width * 0.22);
    const dy = (y - height * 0.5) / (height * 0.3);
    const inside = dx * dx + dy * dy < 1;
    return inside ? [200, 90 + ((x >> 3) & 31), 170] : [243, 243, 243];
  };
}

const COMPRESSION_TAGS = { jpeg: 7, 'jpeg2000-rgb': 33005, 'jpeg2000-ycbcr': 33003 } as const;

/** Lossless JPEG 2000 of 8-bit RGB (or YCbCr) pixels by OpenJPEG, the encoder of the codec the reader uses. */
async function encodeJpeg2000(pixels: Uint8Array, side: number): Promise<Uint8Array> {
  const factory = (await import('@cornerstonejs/codec-openjpeg/wasmjs')).default;
  const module = await factory(codecPrintOptions());
  const encoder = new module.J2KEncoder();
  try {
    const input = encoder.getDecodedBuffer({
      width: side,
      height: side,
      bitsPerSample: 8,
      componentCount: 3,
      isSigned: false,
    });
    input.set(pixels);
    encoder.encode();
    return encoder.getEncodedBuffer().slice();
  } finally {
    encoder.delete();
  }
}

/** RGB to YCbCr (JPEG's full-range BT.601), in place: what Aperio 33003 tiles hold. */
function rgbToYcbcr(pixels: Uint8Array): void {
  for (let at = 0; at + 2 < pixels.length; at += 3) {
    const [r, g, b] = [pixels[at]!, pixels[at + 1]!, pixels[at + 2]!];
    pixels[at] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    pixels[at + 1] = Math.round(128 - 0.168736 * r - 0.331264 * g + 0.5 * b);
    pixels[at + 2] = Math.round(128 + 0.5 * r - 0.418688 * g - 0.081312 * b);
  }
}

interface Entry {
  tag: number;
  type: number;
  values: number[] | Uint8Array;
}

/** Writes a fixture slide to `file`; returns the level sizes written. */
export async function writeSlideFixture(file: string, options: SlideFixtureOptions): Promise<[number, number][]> {
  const tile = options.tile ?? 64;
  const factor = options.factor ?? 2;
  const structure = options.structure ?? 'svs';
  const shared = options.sharedTables ?? true;
  const paint = options.paint ?? tissueOnGlass(options.width, options.height);
  // libtiff refuses subsampled chroma in JPEG tiles under Photometric RGB.
  const rgb = options.photometric === 'rgb';
  const fd = fs.openSync(file, 'w');
  let position = 8;
  const write = (bytes: Uint8Array): number => {
    const at = position;
    fs.writeSync(fd, bytes, 0, bytes.length, at);
    position += bytes.length + (bytes.length & 1); // word-aligned, as TIFF asks
    return at;
  };
  const sizes: [number, number][] = [];
  const directories: Entry[][] = [];
  let tables: Uint8Array | null = null;
  for (let level = 0; level < (options.levels ?? 3); level++) {
    const scale = factor ** level;
    const width = Math.max(1, Math.floor(options.width / scale));
    const height = Math.max(1, Math.floor(options.height / scale));
    sizes.push([width, height]);
    const columns = Math.ceil(width / tile);
    const rows = Math.ceil(height / tile);
    const offsets: number[] = [];
    const counts: number[] = [];
    const stored = new Map<string, [number, number]>();
    for (let row = 0; row < rows; row++) {
      for (let column = 0; column < columns; column++) {
        if (options.emptyTiles?.(level, column, row)) {
          offsets.push(0);
          counts.push(0);
          continue;
        }
        const key = options.tileKey?.(level, column, row) ?? null;
        const known = key === null ? undefined : stored.get(key);
        if (known) {
          offsets.push(known[0]);
          counts.push(known[1]);
          continue;
        }
        const side = options.hostile === 'tile-size-mismatch' && level === 0 ? tile / 2 : tile;
        const pixels = Buffer.alloc(side * side * 3);
        for (let y = 0; y < side; y++)
          for (let x = 0; x < side; x++)
            pixels.set(paint((column * tile + x) * scale, (row * tile + y) * scale), (y * side + x) * 3);
        const j2k = options.compression === 'jpeg2000-rgb' || options.compression === 'jpeg2000-ycbcr';
        if (options.compression === 'jpeg2000-ycbcr') rgbToYcbcr(pixels);
        const coded = j2k
          ? await encodeJpeg2000(pixels, side)
          : await sharp(pixels, { raw: { width: side, height: side, channels: 3 } })
              .jpeg({
                quality: options.quality ?? 90,
                optimiseCoding: false,
                chromaSubsampling: rgb ? '4:4:4' : '4:2:0',
              })
              .toBuffer();
        const parts = shared && !j2k ? splitTables(coded) : { tables: null, tile: coded };
        tables ??= parts.tables;
        const at = write(parts.tile);
        offsets.push(at);
        counts.push(parts.tile.length);
        if (key !== null) stored.set(key, [at, parts.tile.length]);
      }
    }
    if (options.hostile === 'offset-past-end' && level === 0) offsets[offsets.length - 1] = 2 ** 31;
    const claimed = options.hostile === 'claims-huge-level' && level === 1 ? 1_000_000 : null;
    const entries: Entry[] = [
      { tag: 254, type: 4, values: [level > 0 && structure !== 'svs' ? 1 : 0] },
      { tag: 256, type: 4, values: [claimed ?? width] },
      { tag: 257, type: 4, values: [claimed ?? height] },
      { tag: 258, type: 3, values: [8, 8, 8] },
      { tag: 259, type: 3, values: [COMPRESSION_TAGS[options.compression ?? 'jpeg']] },
      { tag: 262, type: 3, values: [rgb || options.compression === 'jpeg2000-rgb' ? 2 : 6] },
      { tag: 277, type: 3, values: [3] },
      { tag: 284, type: 3, values: [1] },
      { tag: 322, type: 3, values: [tile] },
      { tag: 323, type: 3, values: [tile] },
      { tag: 324, type: 4, values: offsets },
      { tag: 325, type: 4, values: counts },
    ];
    if (tables) entries.push({ tag: 347, type: 7, values: tables });
    if (!rgb && (options.compression ?? 'jpeg') === 'jpeg') entries.push({ tag: 530, type: 3, values: [2, 2] });
    if (level === 0 && structure === 'svs') {
      const mpp = options.mpp === undefined ? '' : `|MPP = ${options.mpp}`;
      const text =
        `Aperio Image Library (test fixture)\r\n${width}x${height} (${tile}x${tile}) ` +
        `JPEG/RGB Q=90|AppMag = 20${mpp}`;
      entries.push({ tag: 270, type: 2, values: new TextEncoder().encode(`${text}\0`) });
    }
    if (structure !== 'svs' && options.mpp !== undefined) {
      const perCentimetre = 10_000 / (options.mpp * scale);
      entries.push({ tag: 282, type: 5, values: [Math.round(perCentimetre * 1000), 1000] });
      entries.push({ tag: 283, type: 5, values: [Math.round(perCentimetre * 1000), 1000] });
      entries.push({ tag: 296, type: 3, values: [3] });
    }
    directories.push(entries);
  }
  if (structure === 'svs') {
    // Aperio order: level 0, thumbnail, the other levels, then label and macro.
    directories.splice(1, 0, await stripPage(write, 0, options, 64));
    directories.push(await stripPage(write, 1, options, 32), await stripPage(write, 9, options, 48));
  }
  const tops = structure === 'subifd' ? [directories[0]!] : directories;
  if (structure === 'subifd') {
    const subOffsets = directories.slice(1).map((entries) => writeDirectory(entries, 0, write));
    directories[0]!.push({ tag: 330, type: 4, values: subOffsets });
  }
  let next = 0;
  for (let index = tops.length - 1; index >= 0; index--) next = writeDirectory(tops[index]!, next, write);
  const header = Buffer.from([0x49, 0x49, 42, 0, 0, 0, 0, 0]);
  header.writeUInt32LE(next, 4);
  fs.writeSync(fd, header, 0, 8, 0);
  fs.closeSync(fd);
  return sizes;
}

/** A small uncompressed stripped page (SVS thumbnail, label or macro). */
async function stripPage(
  write: (bytes: Uint8Array) => number,
  subfileType: number,
  options: SlideFixtureOptions,
  width: number,
): Promise<Entry[]> {
  const height = Math.max(1, Math.round((width * options.height) / options.width));
  const pixels = new Uint8Array(width * height * 3).fill(subfileType === 0 ? 230 : 40 + subfileType * 10);
  const at = write(pixels);
  return [
    { tag: 254, type: 4, values: [subfileType] },
    { tag: 256, type: 4, values: [width] },
    { tag: 257, type: 4, values: [height] },
    { tag: 258, type: 3, values: [8, 8, 8] },
    { tag: 259, type: 3, values: [1] },
    { tag: 262, type: 3, values: [2] },
    { tag: 273, type: 4, values: [at] },
    { tag: 277, type: 3, values: [3] },
    { tag: 278, type: 4, values: [height] },
    { tag: 279, type: 4, values: [pixels.length] },
  ];
}

/** Writes one directory (entries sorted by tag) and its out-of-line values; returns its offset. */
function writeDirectory(entries: Entry[], next: number, write: (bytes: Uint8Array) => number): number {
  const sizes: Record<number, number> = { 2: 1, 3: 2, 4: 4, 5: 8, 7: 1 };
  entries.sort((a, b) => a.tag - b.tag);
  const body = Buffer.alloc(2 + entries.length * 12 + 4);
  body.writeUInt16LE(entries.length, 0);
  entries.forEach((entry, index) => {
    const at = 2 + index * 12;
    const count = entry.type === 5 ? entry.values.length / 2 : entry.values.length;
    const data = Buffer.alloc(entry.values.length * (entry.type === 5 ? 4 : sizes[entry.type]!));
    entry.values.forEach((value, position) => {
      if (entry.type === 3) data.writeUInt16LE(value, position * 2);
      else if (entry.type === 4 || entry.type === 5) data.writeUInt32LE(value, position * 4);
      else data[position] = value;
    });
    body.writeUInt16LE(entry.tag, at);
    body.writeUInt16LE(entry.type, at + 2);
    body.writeUInt32LE(count, at + 4);
    if (data.length <= 4) data.copy(body, at + 8);
    else body.writeUInt32LE(write(data), at + 8);
  });
  body.writeUInt32LE(next, body.length - 4);
  return write(body);
}

/** Splits a JPEG into JPEGTables (SOI, DQT, DHT, EOI) and a bare tile (no JFIF, no tables). */
export function splitTables(jpeg: Uint8Array): { tables: Uint8Array; tile: Uint8Array } {
  const tables: Uint8Array[] = [Uint8Array.of(0xff, 0xd8)];
  const tile: Uint8Array[] = [Uint8Array.of(0xff, 0xd8)];
  let at = 2;
  while (at < jpeg.length) {
    const marker = jpeg[at + 1]!;
    if (marker === 0xda) {
      tile.push(jpeg.subarray(at));
      break;
    }
    const length = (jpeg[at + 2]! << 8) | jpeg[at + 3]!;
    const segment = jpeg.subarray(at, at + 2 + length);
    if (marker === 0xdb || marker === 0xc4) tables.push(segment);
    else if (marker !== 0xe0) tile.push(segment);
    at += 2 + length;
  }
  tables.push(Uint8Array.of(0xff, 0xd9));
  return { tables: Buffer.concat(tables), tile: Buffer.concat(tile) };
}
