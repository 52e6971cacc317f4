/**
 * OME-Zarr (NGFF) images: a folder, not a file. Zarr v2 with NGFF 0.4 attributes (`.zattrs`,
 * `.zarray`) and Zarr v3 with NGFF 0.5 attributes (`zarr.json`, under `ome`), read through
 * zarrita (chunks decoded by its codecs: zlib, gzip, blosc, zstd, lz4, raw). The first multiscale
 * image's full-resolution level is imported; its axes are any subset of t, c, z, y, x holding y
 * and x, each (t, z) plane becomes one sample with all its channels, named like OME-TIFF planes
 * (`z 2/5 · t 1/3 · c 1–2`), and channel names come from `omero.channels[].label`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ImageMeta } from '../../contract';
import { DecodeError } from './decode';
import { bitsOf, type Raster, type SampleType } from './raster';
import type { SampleFile, SampleInfo, Region } from './sample-files';
import { HUGE_PIXELS } from './tiff';

/** What the attributes of an OME-Zarr folder say, before any array is opened. */
export interface OmeZarrAttributes {
  version: 2 | 3;
  /** The first multiscale image: axis names in stored order and each level's array path. */
  axes: string[];
  levels: string[];
  channelLabels: (string | null)[] | null;
}

/** The NGFF axis names, in the order the specification stores them. */
const AXIS_ORDER = ['t', 'c', 'z', 'y', 'x'];

/**
 * The image attributes of a folder: null when the folder is no Zarr group with `multiscales`
 * (an ordinary folder, or a Zarr folder holding something else); throws DecodeError when the
 * attributes are there but broken. Reads one small JSON file; the import walk calls it on every
 * folder it enters.
 */
export function readOmeZarrAttributes(dir: string): OmeZarrAttributes | null {
  const v3 = readJson(path.join(dir, 'zarr.json'));
  const v2 = v3 === undefined ? readJson(path.join(dir, '.zattrs')) : undefined;
  if (v3 === undefined && v2 === undefined) return null;
  const version = v3 === undefined ? 2 : 3;
  const root = (version === 3 ? v3 : v2) as Record<string, unknown> | null;
  const attributes = version === 3 ? (root?.attributes as Record<string, unknown> | undefined) : root;
  // NGFF 0.5 nests everything under `ome`; 0.4 and older keep it at the top.
  const ome = (attributes?.ome as Record<string, unknown> | undefined) ?? attributes;
  const multiscales = ome?.multiscales;
  if (multiscales === undefined) return null;
  const file = version === 3 ? 'zarr.json' : '.zattrs';
  const image = Array.isArray(multiscales) ? (multiscales[0] as Record<string, unknown> | undefined) : undefined;
  if (!image) throw new DecodeError(`OME-Zarr ${file}: 'multiscales' should be a list holding at least one image`);
  const axes = readAxes(image.axes, file);
  const datasets = Array.isArray(image.datasets) ? image.datasets : [];
  const levels = datasets.map((dataset) => (dataset as Record<string, unknown> | null)?.path);
  if (
    levels.length === 0 ||
    !levels.every(
      (level): level is string => typeof level === 'string' && level.length > 0 && !level.split('/').includes('..'),
    )
  ) {
    throw new DecodeError(`OME-Zarr ${file}: 'multiscales[0].datasets' should list each pyramid level's 'path'`);
  }
  const channels = (ome?.omero as Record<string, unknown> | undefined)?.channels;
  const channelLabels = Array.isArray(channels)
    ? channels.map((channel) => {
        const label = (channel as Record<string, unknown> | null)?.label;
        return typeof label === 'string' || typeof label === 'number' ? String(label) : null;
      })
    : null;
  return { version, axes, levels, channelLabels };
}

function readAxes(value: unknown, file: string): string[] {
  // NGFF 0.3 lists names; 0.4 and later list objects with a name and a type.
  const axes = Array.isArray(value)
    ? value.map((axis) => (typeof axis === 'string' ? axis : (axis as Record<string, unknown> | null)?.name))
    : ['t', 'c', 'z', 'y', 'x'];
  const names = axes.map((axis) => String(axis).toLowerCase());
  const unknown = names.filter((name) => !AXIS_ORDER.includes(name));
  if (unknown.length > 0) throw new DecodeError(`OME-Zarr ${file}: axis '${unknown[0]}' is not one of t, c, z, y, x`);
  if (new Set(names).size !== names.length)
    throw new DecodeError(`OME-Zarr ${file}: axes ${names.join(', ')} name an axis twice`);
  if (!names.includes('y') || !names.includes('x'))
    throw new DecodeError(
      `OME-Zarr ${file}: axes ${names.join(', ') || '(none)'} lack y and x: the image has no 2-D planes`,
    );
  return names;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new DecodeError(`OME-Zarr ${path.basename(file)} is not valid JSON (${(error as Error).message})`);
  }
}

/** How each stored type becomes a sample type, and the note saying so where it is not kept. */
const TYPES: Record<string, { sampleType: SampleType; note?: string }> = {
  uint8: { sampleType: 'uint8' },
  uint16: { sampleType: 'uint16' },
  int16: { sampleType: 'int16' },
  float32: { sampleType: 'float32' },
  bool: { sampleType: 'uint8', note: 'boolean values kept as uint8 (0 and 1)' },
  int8: { sampleType: 'int16', note: '8-bit signed integer values kept as int16 (exactly)' },
  uint32: {
    sampleType: 'float32',
    note: '32-bit unsigned integer values converted to float32 (exact up to 16,777,216)',
  },
  int32: { sampleType: 'float32', note: '32-bit signed integer values converted to float32 (exact up to ±16,777,216)' },
  float16: { sampleType: 'float32', note: '16-bit float values converted to float32 (exactly)' },
  float64: {
    sampleType: 'float32',
    note: '64-bit float values converted to float32 (about 7 significant digits kept)',
  },
};

/** Bytes of one stored value of each type. */
const STORED_BYTES: Record<string, number> = {
  bool: 1,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  float16: 2,
  int32: 4,
  uint32: 4,
  float32: 4,
  float64: 8,
};

/** Most bytes one plane (all its channels) may take as stored: it is read whole. */
const MAX_PLANE_BYTES = 2 ** 31;

/**
 * Opens the OME-Zarr image of a folder for its samples. A plane over {@link HUGE_PIXELS} is huge:
 * read by windows (`blocks`: the chunk size), its thumbnail from a smaller pyramid level
 * (`readOverview`). Throws DecodeError naming what is wrong: no image attributes, a missing
 * level, an unsupported data type or codec, a plane too large to read whole.
 */
export async function openOmeZarr(dir: string): Promise<SampleFile> {
  const attributes = readOmeZarrAttributes(dir);
  if (!attributes)
    throw new DecodeError(
      `${path.basename(dir)} is not an OME-Zarr image: no 'multiscales' in its .zattrs or zarr.json`,
    );
  const zarr = await import('zarrita');
  const { default: FileSystemStore } = await import('@zarrita/storage/fs');
  const store = new FileSystemStore(dir);
  const { axes } = attributes;
  const level = attributes.levels[0]!;
  const metadataFile = path.join(level, attributes.version === 3 ? 'zarr.json' : '.zarray');
  if (!fs.existsSync(path.join(dir, metadataFile))) {
    throw new DecodeError(`OME-Zarr full-resolution level '${level}' has no ${metadataFile}: the array is missing`);
  }
  const openLevel = async (name: string): Promise<ZarrArray> => {
    const location = zarr.root(store).resolve(name);
    let array: ZarrArray;
    try {
      array = (attributes.version === 3
        ? await zarr.open.v3(location, { kind: 'array' })
        : await zarr.open.v2(location, { kind: 'array' })) as unknown as ZarrArray;
    } catch (error) {
      throw new DecodeError(`OME-Zarr level '${name}' cannot be opened: ${describeZarrFailure(error)}`);
    }
    if (array.shape.length !== axes.length) {
      throw new DecodeError(
        `OME-Zarr level '${name}' has ${array.shape.length} dimensions, ` +
          `its axes ${axes.join(', ')} name ${axes.length}`,
      );
    }
    checkChunkSizes(array, name);
    return array;
  };
  const array = await openLevel(level);
  const type = TYPES[array.dtype];
  if (!type)
    throw new DecodeError(
      `OME-Zarr level '${level}' holds ${array.dtype} values; supported are ${Object.keys(TYPES).join(', ')}`,
    );
  const sizeOf = (shape: number[], axis: string): number => (axes.includes(axis) ? shape[axes.indexOf(axis)]! : 1);
  const [width, height, sizeC, sizeZ, sizeT] = ['x', 'y', 'c', 'z', 't'].map((axis) => sizeOf(array.shape, axis)) as [
    number,
    number,
    number,
    number,
    number,
  ];
  // A huge plane is never read whole: statistics from a grid of windows, the thumbnail from a
  // smaller pyramid level, training from windows. Any other plane is read whole, all channels.
  const huge = width * height > HUGE_PIXELS;
  const planeBytes = width * height * sizeC * (STORED_BYTES[array.dtype] ?? 4);
  if (!huge && planeBytes > MAX_PLANE_BYTES) {
    throw new DecodeError(
      `OME-Zarr full-resolution level '${level}' has planes of ${width} × ${height} pixels × ${sizeC} channels ` +
        `of ${array.dtype} (${(planeBytes / 2 ** 30).toFixed(1)} GiB), ` +
        `more than the ${MAX_PLANE_BYTES / 2 ** 30} GiB a plane may take here`,
    );
  }
  const names = attributes.channelLabels;
  const meta: ImageMeta = { sampleType: type.sampleType, frames: sizeZ * sizeT };
  if (type.note) meta.converted = type.note;
  if (names?.some((name) => name !== null))
    meta.channelNames = Array.from({ length: sizeC }, (_, c) => names[c] ?? null);
  const blocks = { width: sizeOf(array.chunks, 'x'), height: sizeOf(array.chunks, 'y') };
  if (huge)
    Object.assign(meta, { huge: true, tile: [blocks.width, blocks.height], overviews: attributes.levels.length - 1 });
  const planes: { z: number; t: number }[] = [];
  for (let t = 0; t < sizeT; t++) for (let z = 0; z < sizeZ; z++) planes.push({ z, t });
  const channels = sizeC === 1 ? 'c 1/1' : `c 1–${sizeC}`;
  const samples: SampleInfo[] = planes.map(({ z, t }) => ({
    width,
    height,
    bands: sizeC,
    sampleType: type.sampleType,
    bitDepth: bitsOf(type.sampleType),
    meta:
      planes.length === 1 ? meta : { ...meta, z, t, sample: `z ${z + 1}/${sizeZ} · t ${t + 1}/${sizeT} · ${channels}` },
    invert: false,
    nodata: null,
    huge,
  }));
  const planeOf = (index: number): { z: number; t: number } => {
    const plane = planes[index];
    if (!plane) throw new DecodeError(`OME-Zarr sample ${index + 1} does not exist (the image has ${planes.length})`);
    return plane;
  };
  /** Plane (t, z) of a level, or a window of it, as [y][x][c]. */
  const readPlane = async (
    source: ZarrArray,
    name: string,
    index: number,
    plane: { z: number; t: number },
    window: Region,
  ): Promise<Raster> => {
    const selection = axes.map((axis) =>
      axis === 't'
        ? plane.t
        : axis === 'z'
          ? plane.z
          : axis === 'y'
            ? zarr.slice(window.y, window.y + window.height)
            : axis === 'x'
              ? zarr.slice(window.x, window.x + window.width)
              : null,
    );
    let chunk: Selected;
    try {
      chunk = (await zarr.get(source as never, selection)) as Selected;
    } catch (error) {
      throw new DecodeError(
        `OME-Zarr level '${name}', ${samples[index]!.meta.sample ?? 'plane'}: ${describeZarrFailure(error)}`,
      );
    }
    return interleave(chunk, axes, window.width, window.height, sizeC, type.sampleType);
  };
  const read = async (index: number, region?: Region): Promise<Raster> => {
    const plane = planeOf(index);
    const window = region ?? { x: 0, y: 0, width, height };
    if (window.x < 0 || window.y < 0 || window.x + window.width > width || window.y + window.height > height) {
      throw new DecodeError(
        `region ${window.x},${window.y} ${window.width}×${window.height} is outside the ${width}×${height} image`,
      );
    }
    if (!region && huge)
      throw new DecodeError(
        `OME-Zarr plane of ${width} × ${height} pixels is too large to read whole: it is read by windows`,
      );
    return readPlane(array, level, index, plane, window);
  };
  /** The plane from the smallest pyramid level of at most `maxPixels`, with the same channels. */
  const readOverview = async (index: number, maxPixels: number): Promise<Raster | null> => {
    const plane = planeOf(index);
    for (const name of attributes.levels.slice(1).reverse()) {
      const smaller = await openLevel(name).catch(() => null);
      if (!smaller || smaller.dtype !== array.dtype) continue;
      const [w, h, c, z, t] = ['x', 'y', 'c', 'z', 't'].map((axis) => sizeOf(smaller.shape, axis)) as [
        number,
        number,
        number,
        number,
        number,
      ];
      if (w * h > maxPixels || c !== sizeC) continue;
      // Some pyramids reduce z (and t) too: the plane nearest in place.
      const at = {
        z: Math.min(z - 1, Math.floor((plane.z * z) / sizeZ)),
        t: Math.min(t - 1, Math.floor((plane.t * t) / sizeT)),
      };
      return readPlane(smaller, name, index, at, { x: 0, y: 0, width: w, height: h });
    }
    return null;
  };
  return { format: 'ome-zarr', samples, read, ...(huge && { blocks, readOverview }), close: async () => {} };
}

/** What zarrita's arrays give this reader. */
interface ZarrArray {
  shape: number[];
  chunks: number[];
  dtype: string;
  getChunk: (coords: number[], ...rest: never[]) => Promise<{ data: { length: number } }>;
}

/** A selection read by zarrita: values and the stride of each kept axis. */
type Selected = { data: ArrayLike<number | bigint | boolean>; shape: number[]; stride: number[] };

/**
 * Makes every chunk of `array` that decodes to the wrong number of values throw, naming it:
 * zarrita would otherwise hand a truncated chunk on as it is, and the plane would read garbage.
 */
function checkChunkSizes(array: ZarrArray, level: string): void {
  const getChunk = array.getChunk.bind(array);
  const expected = array.chunks.reduce((a, b) => a * b, 1);
  array.getChunk = async (coords, ...rest) => {
    const chunk = await getChunk(coords, ...rest);
    if (chunk.data.length !== expected) {
      throw new DecodeError(
        `chunk ${coords.join('/')} of level '${level}' holds ${chunk.data.length} values, ` +
          `its chunk shape ${array.chunks.join(' × ')} needs ${expected}`,
      );
    }
    return chunk;
  };
}

/** The [c][y][x] (any order of the kept axes, by strides) values of a selection as [y][x][c]. */
function interleave(
  chunk: Selected,
  axes: string[],
  width: number,
  height: number,
  bands: number,
  sampleType: SampleType,
): Raster {
  const kept: string[] = axes.filter((axis) => axis === 'c' || axis === 'y' || axis === 'x');
  const strideOf = (axis: string): number => (kept.includes(axis) ? chunk.stride[kept.indexOf(axis)]! : 0);
  const [strideC, strideY, strideX] = [strideOf('c'), strideOf('y'), strideOf('x')];
  const values =
    sampleType === 'uint8'
      ? new Uint8Array(width * height * bands)
      : sampleType === 'uint16'
        ? new Uint16Array(width * height * bands)
        : sampleType === 'int16'
          ? new Int16Array(width * height * bands)
          : new Float32Array(width * height * bands);
  const data = chunk.data;
  let out = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < bands; c++) values[out++] = Number(data[c * strideC + y * strideY + x * strideX]);
    }
  }
  return { width, height, bands, sampleType, values };
}

/** Words for zarrita's failures: an unknown codec, a chunk that does not decode to its size. */
function describeZarrFailure(error: unknown): string {
  const failure = error as Error & { cause?: Error; codec?: string };
  const message = failure.message || String(error);
  if (failure.name === 'UnknownCodecError' || /unknown codec/i.test(message)) {
    return `${message} (readable codecs: zlib, gzip, blosc, zstd, lz4, none)`;
  }
  if (failure.cause?.message) return `${message}: ${failure.cause.message}`;
  return message;
}
