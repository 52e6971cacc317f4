/**
 * Whole-slide images: tiled pyramidal TIFFs as slide scanners write them, opened by their
 * directories only (`tiff-directories.ts`) and read by windows at any level (`slide-tiles.ts`).
 *
 * What is a slide ({@link slideLayoutOf}): the first page is tiled, 8-bit, grey or RGB, stored
 * uncompressed, as JPEG (7) or as JPEG 2000 (Aperio 33003 / 33005, 34712), and either its
 * ImageDescription starts with `Aperio` (an SVS) or it has at least one reduced-resolution level.
 * Other TIFFs stay with the general reader (`tiff.ts`).
 *
 * Levels: in an SVS every tiled page is a level (the stripped thumbnail, label and macro pages are
 * not); in a generic pyramid the levels are page 1 and its SubIFDs when it has some, else page 1
 * and the reduced-resolution pages (NewSubfileType bit 0) that follow it. Levels are kept largest
 * first; each must be smaller than the one before and keep the slide's aspect within one tile.
 *
 * Microns per pixel of level 0: `MPP = …` in an SVS ImageDescription, else PhysicalSizeX in an
 * OME-XML description, else XResolution with ResolutionUnit centimetre or inch; a level's is
 * level 0's times its downsample. Null when the file does not say.
 */
import path from 'node:path';
import type { ImageMeta } from '../../contract';
import { DecodeError } from './decode';
import { TAGS, tagNumber, tagNumbers, type ByteSource, type TiffDirectory } from './tiff-directories';

/** Compressions a slide's tiles may use: none, JPEG, JPEG 2000 (Aperio YCbCr, Aperio RGB, generic). */
export const SLIDE_COMPRESSIONS: Readonly<Record<number, string>> = {
  1: 'none',
  7: 'JPEG',
  33003: 'JPEG 2000 (YCbCr)',
  33005: 'JPEG 2000 (RGB)',
  34712: 'JPEG 2000',
};

/** Largest tile side accepted (a larger one is taken as a corrupt header). */
const MAX_TILE_SIDE = 8192;
/** Largest level side accepted: 2·10^6 pixels (a 50 mm slide at 0.025 µm per pixel). */
const MAX_SIDE = 2_000_000;

/** One level of the pyramid and where its tiles are. */
export interface SlideLevel {
  /** The directory it is read from (`page 3`, `page 1 SubIFD 2`), for errors. */
  name: string;
  width: number;
  height: number;
  tileWidth: number;
  tileHeight: number;
  /** Level 0's width over this level's: 1, 4, 16, … */
  downsample: number;
  /** Tiles across and down. */
  columns: number;
  rows: number;
  offsets: number[];
  byteCounts: number[];
  compression: number;
  /** TIFF Photometric: 1 grey, 2 RGB, 6 YCbCr. */
  photometric: number;
  bands: number;
  /** JPEGTables (tag 347): the quantisation and Huffman tables shared by every tile. */
  jpegTables: Uint8Array | null;
}

/** A slide: its levels (largest first) and its scale. */
export interface SlideLayout {
  /** The file's name, for errors. */
  file: string;
  source: ByteSource;
  vendor: 'aperio' | 'generic';
  levels: SlideLevel[];
  /** Microns per pixel of level 0, or null when the file does not say. */
  mpp: number | null;
  /** Objective magnification (SVS `AppMag`), where stated. */
  magnification: number | null;
}

/** True when the directories look like a slide this reader takes (see the file's comment). */
export function isSlide(directories: readonly TiffDirectory[]): boolean {
  const first = directories[0];
  if (!first || !isTiled(first) || !readableTiles(first)) return false;
  if (aperioDescription(first) !== null) return true;
  return pyramidDirectories(directories).length > 1;
}

/**
 * The slide's layout; throws {@link DecodeError} naming the file, the directory and the field
 * that is wrong (offsets past the end, a tile table of the wrong length, a level larger than the
 * one before).
 */
export function slideLayoutOf(directories: readonly TiffDirectory[], source: ByteSource, file: string): SlideLayout {
  const name = path.basename(file);
  const first = directories[0]!;
  const description = aperioDescription(first);
  const chosen = description !== null ? directories.filter((d) => isTiled(d) && !d.name.includes('SubIFD')) : null;
  const levels = (chosen ?? pyramidDirectories(directories)).map((directory) => levelOf(directory, source, name));
  levels.sort((a, b) => b.width - a.width);
  const base = levels[0]!;
  for (const level of levels) {
    level.downsample = base.width / level.width;
    const expectedHeight = base.height / level.downsample;
    if (Math.abs(level.height - expectedHeight) > Math.max(level.tileHeight, 2))
      throw new DecodeError(
        `${name}: ${level.name} is ${level.width}×${level.height}, which is not a reduction of ` +
          `${base.width}×${base.height} (ImageLength ${expectedHeight.toFixed(0)} expected)`,
      );
    if (level.bands !== base.bands)
      throw new DecodeError(`${name}: ${level.name} has ${level.bands} SamplesPerPixel, level 0 has ${base.bands}`);
  }
  return {
    file: name,
    source,
    vendor: description !== null ? 'aperio' : 'generic',
    levels,
    mpp: description !== null ? aperioNumber(description, 'MPP') : (omeMpp(first) ?? resolutionMpp(first)),
    magnification: description !== null ? aperioNumber(description, 'AppMag') : null,
  };
}

/** A level's size, tiles and coding, each field checked against the file. */
function levelOf(directory: TiffDirectory, source: ByteSource, file: string): SlideLevel {
  const where = `${file}: ${directory.name}`;
  const width = tagNumber(directory, TAGS.imageWidth, 0)!;
  const height = tagNumber(directory, TAGS.imageLength, 0)!;
  const tileWidth = tagNumber(directory, TAGS.tileWidth, 0)!;
  const tileHeight = tagNumber(directory, TAGS.tileLength, 0)!;
  if (!(width >= 1 && height >= 1 && width <= MAX_SIDE && height <= MAX_SIDE))
    throw new DecodeError(`${where} has ImageWidth × ImageLength ${width}×${height} (1 to ${MAX_SIDE} expected)`);
  for (const [field, value] of [
    ['TileWidth', tileWidth],
    ['TileLength', tileHeight],
  ] as const) {
    if (!(value >= 1 && value <= MAX_TILE_SIDE))
      throw new DecodeError(`${where} has ${field} ${value} (1 to ${MAX_TILE_SIDE} expected)`);
  }
  const planar = tagNumber(directory, TAGS.planarConfiguration, 1);
  if (planar !== 1) throw new DecodeError(`${where} has PlanarConfiguration ${planar} (only 1, interleaved, is read)`);
  const columns = Math.ceil(width / tileWidth);
  const rows = Math.ceil(height / tileHeight);
  const offsets = tagNumbers(directory, TAGS.tileOffsets);
  const byteCounts = tagNumbers(directory, TAGS.tileByteCounts);
  for (const [field, values] of [
    ['TileOffsets', offsets],
    ['TileByteCounts', byteCounts],
  ] as const) {
    if (values.length !== columns * rows)
      throw new DecodeError(
        `${where} has ${values.length} ${field}, but a ${width}×${height} image in ` +
          `${tileWidth}×${tileHeight} tiles needs ${columns * rows} (${columns} × ${rows})`,
      );
  }
  for (let tile = 0; tile < offsets.length; tile++) {
    const end = offsets[tile]! + byteCounts[tile]!;
    if (end > source.size)
      throw new DecodeError(
        `${where}: tile ${tile + 1} (TileOffsets ${offsets[tile]}, TileByteCounts ${byteCounts[tile]}) ` +
          `ends at byte ${end}, past the end of the ${source.size}-byte file`,
      );
  }
  const tables = directory.tags.get(TAGS.jpegTables);
  return {
    name: directory.name,
    width,
    height,
    tileWidth,
    tileHeight,
    downsample: 1,
    columns,
    rows,
    offsets,
    byteCounts,
    compression: tagNumber(directory, TAGS.compression, 1)!,
    photometric: tagNumber(directory, TAGS.photometric, 2)!,
    bands: tagNumber(directory, TAGS.samplesPerPixel, 1)!,
    jpegTables: tables instanceof Uint8Array && tables.length > 4 ? tables : null,
  };
}

function isTiled(directory: TiffDirectory): boolean {
  return directory.tags.has(TAGS.tileWidth) && directory.tags.has(TAGS.tileOffsets);
}

/** 8-bit grey or RGB tiles in a compression this reader decodes. */
function readableTiles(directory: TiffDirectory): boolean {
  const bands = tagNumber(directory, TAGS.samplesPerPixel, 1)!;
  const bits = tagNumbers(directory, TAGS.bitsPerSample);
  const compression = tagNumber(directory, TAGS.compression, 1)!;
  return (
    (bands === 1 || bands === 3) &&
    (bits.length === 0 || bits.every((value) => value === 8)) &&
    SLIDE_COMPRESSIONS[compression] !== undefined
  );
}

/** Page 1 and its tiled SubIFDs, else page 1 and the reduced-resolution tiled pages after it. */
function pyramidDirectories(directories: readonly TiffDirectory[]): TiffDirectory[] {
  const first = directories[0]!;
  const subs = directories.filter((d) => d.name.startsWith(`${first.name} SubIFD`) && isTiled(d));
  if (subs.length > 0) return [first, ...subs];
  const reduced = directories
    .slice(1)
    .filter((d) => !d.name.includes('SubIFD') && (tagNumber(d, TAGS.newSubfileType, 0)! & 1) === 1 && isTiled(d));
  const bands = tagNumber(first, TAGS.samplesPerPixel, 1);
  return [first, ...reduced.filter((d) => tagNumber(d, TAGS.samplesPerPixel, 1) === bands)];
}

/** The ImageDescription of an SVS (it starts with `Aperio`), else null. */
function aperioDescription(directory: TiffDirectory): string | null {
  const text = directory.tags.get(TAGS.imageDescription);
  return typeof text === 'string' && text.startsWith('Aperio') ? text : null;
}

/** A `|Key = value` number of an SVS description. */
function aperioNumber(description: string, key: string): number | null {
  const match = new RegExp(`\\|\\s*${key}\\s*=\\s*([0-9.eE+-]+)`).exec(description);
  const value = match ? Number(match[1]) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : null;
}

/** Microns per one of each OME length unit (the schema's symbols; `um` as some writers spell µm). */
const OME_UNIT_MICRONS: Readonly<Record<string, number>> = {
  µm: 1,
  μm: 1,
  um: 1,
  nm: 1e-3,
  Å: 1e-4,
  mm: 1e3,
  cm: 1e4,
  m: 1e6,
};

/**
 * Microns per pixel from an OME-XML ImageDescription (an OME-TIFF pyramid, as bfconvert, QuPath
 * or tifffile write it): the first Pixels element's PhysicalSizeX in its PhysicalSizeXUnit (µm
 * when not given). Null when the description is not OME-XML or does not say.
 */
function omeMpp(directory: TiffDirectory): number | null {
  const text = directory.tags.get(TAGS.imageDescription);
  if (typeof text !== 'string' || !text.includes('<OME')) return null;
  const pixels = /<Pixels\b[^>]*>/.exec(text)?.[0] ?? '';
  const size = Number(/\bPhysicalSizeX="([^"]*)"/.exec(pixels)?.[1]);
  const unit = OME_UNIT_MICRONS[/\bPhysicalSizeXUnit="([^"]*)"/.exec(pixels)?.[1] ?? 'µm'];
  return Number.isFinite(size) && size > 0 && unit !== undefined ? size * unit : null;
}

/** Microns per pixel from XResolution and ResolutionUnit (2 inch, 3 centimetre). */
function resolutionMpp(directory: TiffDirectory): number | null {
  const resolution = tagNumber(directory, TAGS.xResolution);
  const unit = tagNumber(directory, TAGS.resolutionUnit, 2);
  if (!(resolution !== undefined && resolution > 0 && Number.isFinite(resolution))) return null;
  const mpp = unit === 3 ? 10_000 / resolution : unit === 2 ? 25_400 / resolution : null;
  // A resolution of 72 or 96 per inch is a writer's default, not a scanner's scale.
  if (mpp === null || (unit === 2 && (resolution === 72 || resolution === 96 || resolution === 1))) return null;
  return mpp;
}

/** Technical metadata of a slide for the images table and the detail panel. */
export function slideMeta(layout: SlideLayout): ImageMeta {
  const base = layout.levels[0]!;
  return {
    sampleType: 'uint8',
    frames: 1,
    tile: [base.tileWidth, base.tileHeight],
    slide: {
      vendor: layout.vendor,
      compression: SLIDE_COMPRESSIONS[base.compression] ?? String(base.compression),
      mpp: layout.mpp,
      ...(layout.magnification !== null && { magnification: layout.magnification }),
      levels: layout.levels.map((level) => ({
        width: level.width,
        height: level.height,
        downsample: Math.round(level.downsample * 1000) / 1000,
      })),
    },
  };
}
