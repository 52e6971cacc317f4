/**
 * Tiles of a whole-slide image: read, decoded and kept in one bounded cache, and windows of any
 * level composed from the tiles they touch (only those are read).
 *
 * JPEG tiles (compression 7) are decoded by sharp (libjpeg-turbo), each tile joined to the
 * level's JPEGTables. Colour: a tile whose stream says what it holds (a JFIF or Adobe marker) is
 * decoded as it says, as libjpeg does; a bare stream (no such marker, as SVS tiles are) holds what
 * the TIFF Photometric tag says: YCbCr (6) is converted to RGB, RGB (2) is kept as stored.
 * JPEG 2000 tiles are decoded by OpenJPEG (the DICOM codec); Aperio 33003 tiles hold YCbCr and
 * are converted to RGB with the ITU-R BT.601 full-range equations JPEG uses, unless their chroma is
 * sub-sampled (4:2:0, 4:2:2): OpenJPEG then upsamples it and hands back RGB. A tile stored with no
 * bytes is background ({@link EMPTY_TILE_VALUE}).
 */
import sharp from 'sharp';
import { decodeFrame } from './dicom-codecs';
import { DecodeError } from './decode';
import type { Raster } from './raster';
import type { SlideLayout, SlideLevel } from './slide';
import type { Region } from './tiff';

/** Bytes of decoded tiles kept, over all open slides (256 × 256 RGB tiles: about 340). */
export const TILE_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * The value of every sample of a tile stored with no bytes (TileByteCounts 0): white, the glass
 * of a bright-field slide, which the tissue mask (saturation) leaves out like any background.
 */
export const EMPTY_TILE_VALUE = 255;

/** Pixels of one level a scaled read may compose (64 Mi: 192 MiB of RGB) before it is refused. */
export const MAX_LEVEL_READ_PIXELS = 64 * 1024 * 1024;

/** Decoded tiles, least recently used first; keyed by slide, level and tile. */
const tiles = new Map<string, Promise<Uint8Array>>();
const tileBytes = new Map<string, number>();
let cachedBytes = 0;

/** Bytes of decoded tiles held now (for the benchmark's report). */
export function tileCacheBytes(): number {
  return cachedBytes;
}

/** One decoded tile (`tileWidth × tileHeight × bands` bytes), from the cache or the file. */
export function readTile(layout: SlideLayout, key: string, levelIndex: number, tile: number): Promise<Uint8Array> {
  const id = `${key}|${levelIndex}|${tile}`;
  const cached = tiles.get(id);
  if (cached) {
    tiles.delete(id); // re-inserted last: most recently used
    tiles.set(id, cached);
    return cached;
  }
  const level = layout.levels[levelIndex]!;
  const decoded = decodeTile(layout, level, tile);
  tiles.set(id, decoded);
  decoded.then(
    (bytes) => {
      if (tiles.get(id) !== decoded) return;
      tileBytes.set(id, bytes.length);
      cachedBytes += bytes.length;
      for (const [oldest] of tiles) {
        if (cachedBytes <= TILE_CACHE_BYTES) break;
        tiles.delete(oldest);
        cachedBytes -= tileBytes.get(oldest) ?? 0;
        tileBytes.delete(oldest);
      }
    },
    () => tiles.delete(id),
  );
  return decoded;
}

async function decodeTile(layout: SlideLayout, level: SlideLevel, tile: number): Promise<Uint8Array> {
  const column = tile % level.columns;
  const row = Math.floor(tile / level.columns);
  const where = `${layout.file}: tile ${column},${row} of ${level.name}`;
  const count = level.byteCounts[tile]!;
  const expected = level.tileWidth * level.tileHeight * level.bands;
  // Scanners leave tiles of bare glass unwritten (TileByteCounts 0): they are background.
  if (count === 0) return new Uint8Array(expected).fill(EMPTY_TILE_VALUE);
  const data = await layout.source.read(level.offsets[tile]!, count);
  let pixels: Uint8Array;
  try {
    if (level.compression === 1) {
      if (data.length < expected) throw new Error(`it holds ${data.length} bytes where ${expected} were expected`);
      pixels = data.subarray(0, expected);
    } else if (level.compression === 7) {
      // libvips hands a one-component JPEG back as sRGB unless grey is asked for.
      const decoder = sharp(jpegOfTile(level, data));
      const { data: raw, info } = await (level.bands === 1 ? decoder.toColourspace('b-w') : decoder)
        .raw()
        .toBuffer({ resolveWithObject: true });
      if (info.width !== level.tileWidth || info.height !== level.tileHeight || info.channels !== level.bands)
        throw new Error(
          `it decodes to ${info.width}×${info.height}×${info.channels}, TileWidth × TileLength × ` +
            `SamplesPerPixel say ${level.tileWidth}×${level.tileHeight}×${level.bands}`,
        );
      pixels = new Uint8Array(raw.buffer, raw.byteOffset, raw.length);
    } else {
      const frame = await decodeFrame('jpeg-2000', data, {
        rows: level.tileHeight,
        columns: level.tileWidth,
        samplesPerPixel: level.bands,
        bitsAllocated: 8,
      });
      pixels = frame.bytes;
      // 4:2:0 / 4:2:2 codestreams come back as RGB already: OpenJPEG upsamples and converts them.
      if (level.compression === 33003 && level.bands === 3 && !frame.convertedToRgb) ycbcrToRgb(pixels);
    }
  } catch (error) {
    if (error instanceof DecodeError) throw error;
    throw new DecodeError(`${where} cannot be decoded: ${(error as Error).message}`);
  }
  return pixels;
}

/**
 * A tile's complete JPEG stream: the level's tables spliced in after the tile's SOI, and for a
 * bare RGB stream component ids 'R', 'G', 'B', which is how libjpeg is told not to convert.
 */
export function jpegOfTile(level: Pick<SlideLevel, 'jpegTables' | 'photometric'>, tile: Uint8Array): Uint8Array {
  const tables = level.jpegTables;
  // Tables are SOI … EOI; the tile is SOI … EOI: join as SOI, tables, tile's segments.
  const joined = tables
    ? Buffer.concat([tile.subarray(0, 2), tables.subarray(2, tables.length - 2), tile.subarray(2)])
    : Buffer.from(tile);
  if (level.photometric === 2 && !hasColourMarker(joined)) markComponentsRgb(joined);
  return joined;
}

/** Segments before the scan: [marker, start of its payload, payload length]. */
function* segments(jpeg: Uint8Array): Generator<[number, number, number]> {
  let at = 2;
  while (at + 4 <= jpeg.length && jpeg[at] === 0xff) {
    const marker = jpeg[at + 1]!;
    const length = (jpeg[at + 2]! << 8) | jpeg[at + 3]!;
    yield [marker, at + 4, length - 2];
    if (marker === 0xda) return; // start of scan: entropy-coded data follows
    at += 2 + length;
  }
}

/** A JFIF (APP0) or Adobe (APP14) marker: the stream says its own colour space. */
function hasColourMarker(jpeg: Uint8Array): boolean {
  for (const [marker] of segments(jpeg)) if (marker === 0xe0 || marker === 0xee) return true;
  return false;
}

/** Renames the three components 'R', 'G', 'B' in the frame header and the scan header. */
function markComponentsRgb(jpeg: Uint8Array): void {
  const names = [0x52, 0x47, 0x42];
  const renamed = new Map<number, number>();
  for (const [marker, start] of segments(jpeg)) {
    if (marker >= 0xc0 && marker <= 0xc2 && jpeg[start + 5] === 3) {
      for (let component = 0; component < 3; component++) {
        const at = start + 6 + component * 3;
        renamed.set(jpeg[at]!, names[component]!);
        jpeg[at] = names[component]!;
      }
    } else if (marker === 0xda) {
      const count = jpeg[start]!;
      for (let component = 0; component < count; component++) {
        const at = start + 1 + component * 2;
        jpeg[at] = renamed.get(jpeg[at]!) ?? jpeg[at]!;
      }
    }
  }
}

/** YCbCr (full range, as JPEG) to RGB, in place. */
function ycbcrToRgb(pixels: Uint8Array): void {
  for (let at = 0; at + 2 < pixels.length; at += 3) {
    const y = pixels[at]!;
    const cb = pixels[at + 1]! - 128;
    const cr = pixels[at + 2]! - 128;
    pixels[at] = clamp(y + 1.402 * cr);
    pixels[at + 1] = clamp(y - 0.344136 * cb - 0.714136 * cr);
    pixels[at + 2] = clamp(y + 1.772 * cb);
  }
}

function clamp(value: number): number {
  return value < 0 ? 0 : value > 255 ? 255 : Math.round(value);
}

/** A window of one level, in that level's pixels, from the tiles it touches. */
export async function readLevelWindow(
  layout: SlideLayout,
  key: string,
  levelIndex: number,
  region: Region,
): Promise<Raster> {
  const level = layout.levels[levelIndex];
  if (!level) throw new DecodeError(`${layout.file}: no level ${levelIndex} (it has ${layout.levels.length})`);
  const { x, y, width, height } = region;
  if (x < 0 || y < 0 || width < 1 || height < 1 || x + width > level.width || y + height > level.height)
    throw new DecodeError(
      `region ${x},${y} ${width}×${height} is outside level ${levelIndex} (${level.width}×${level.height})`,
    );
  const bands = level.bands;
  const values = new Uint8Array(width * height * bands);
  const firstColumn = Math.floor(x / level.tileWidth);
  const lastColumn = Math.floor((x + width - 1) / level.tileWidth);
  const firstRow = Math.floor(y / level.tileHeight);
  const lastRow = Math.floor((y + height - 1) / level.tileHeight);
  const reads: Promise<void>[] = [];
  for (let row = firstRow; row <= lastRow; row++) {
    for (let column = firstColumn; column <= lastColumn; column++) {
      const tile = row * level.columns + column;
      reads.push(
        readTile(layout, key, levelIndex, tile).then((pixels) => {
          const left = Math.max(x, column * level.tileWidth);
          const right = Math.min(x + width, (column + 1) * level.tileWidth);
          const top = Math.max(y, row * level.tileHeight);
          const bottom = Math.min(y + height, (row + 1) * level.tileHeight);
          const span = (right - left) * bands;
          for (let line = top; line < bottom; line++) {
            const source =
              ((line - row * level.tileHeight) * level.tileWidth + left - column * level.tileWidth) * bands;
            values.set(pixels.subarray(source, source + span), ((line - y) * width + left - x) * bands);
          }
        }),
      );
    }
  }
  await Promise.all(reads);
  return { width, height, bands, sampleType: 'uint8', values };
}

/**
 * A window of level 0 (`region`, in level-0 pixels) at `outWidth × outHeight`: read from the
 * smallest level that still has at least as many pixels as the output asks, then averaged down
 * (each output pixel the mean of the level pixels its footprint covers).
 */
export async function readSlideWindow(
  layout: SlideLayout,
  key: string,
  region: Region,
  outWidth: number,
  outHeight: number,
): Promise<Raster> {
  const wanted = Math.min(region.width / outWidth, region.height / outHeight);
  let levelIndex = 0;
  layout.levels.forEach((level, index) => {
    if (level.downsample <= wanted * 1.001) levelIndex = index;
  });
  const level = layout.levels[levelIndex]!;
  const levelPixels = (region.width / level.downsample) * (region.height / level.downsample);
  if (levelPixels > MAX_LEVEL_READ_PIXELS)
    throw new DecodeError(
      `${layout.file}: a ${outWidth}×${outHeight} view of ${region.width}×${region.height} pixels would read ` +
        `${Math.round(levelPixels / 1e6)} million pixels of ${level.name} (its pyramid has no level closer to that ` +
        `scale); at most ${Math.round(MAX_LEVEL_READ_PIXELS / 1e6)} million are read at once: zoom in`,
    );
  const left = Math.floor(region.x / level.downsample);
  const top = Math.floor(region.y / level.downsample);
  const right = Math.min(level.width, Math.max(left + 1, Math.round((region.x + region.width) / level.downsample)));
  const bottom = Math.min(level.height, Math.max(top + 1, Math.round((region.y + region.height) / level.downsample)));
  const read = await readLevelWindow(layout, key, levelIndex, {
    x: left,
    y: top,
    width: right - left,
    height: bottom - top,
  });
  if (read.width === outWidth && read.height === outHeight) return read;
  return averageDown(read, outWidth, outHeight);
}

/** Area-average resampling (nearest pixel when enlarging). */
export function averageDown(raster: Raster, outWidth: number, outHeight: number): Raster {
  const { bands, width, height } = raster;
  const values = new Uint8Array(outWidth * outHeight * bands);
  const sums = new Float64Array(bands);
  for (let oy = 0; oy < outHeight; oy++) {
    const y0 = Math.floor((oy * height) / outHeight);
    const y1 = Math.max(y0 + 1, Math.floor(((oy + 1) * height) / outHeight));
    for (let ox = 0; ox < outWidth; ox++) {
      const x0 = Math.floor((ox * width) / outWidth);
      const x1 = Math.max(x0 + 1, Math.floor(((ox + 1) * width) / outWidth));
      sums.fill(0);
      for (let sy = y0; sy < y1; sy++) {
        for (let sx = x0; sx < x1; sx++) {
          const at = (sy * width + sx) * bands;
          for (let band = 0; band < bands; band++) sums[band]! += raster.values[at + band]!;
        }
      }
      const count = (y1 - y0) * (x1 - x0);
      const target = (oy * outWidth + ox) * bands;
      for (let band = 0; band < bands; band++) values[target + band] = Math.round(sums[band]! / count);
    }
  }
  return { width: outWidth, height: outHeight, bands, sampleType: 'uint8', values };
}
