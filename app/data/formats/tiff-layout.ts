/**
 * The structure of a TIFF file from its headers, through geotiff.js: its pages (a page flagged
 * reduced-resolution, NewSubfileType bit 0, is an overview of the sample before it, never a
 * sample), its samples (with OME-XML each (z, t) is one sample whose channels are the C pages;
 * without it every full-resolution page is one), the type values are kept in, and the checks that
 * refuse a corrupt or hostile file before any decoder sees it. Reading values is `tiff.ts`'s.
 */
import { fromArrayBuffer, fromFile, type GeoTIFF, type GeoTIFFImage } from 'geotiff';
import { DecodeError } from './decode';
import { omePageIndex, parseOmeXml } from './ome';
import type { SampleType } from './raster';

/** Images with more pixels than this are imported from their header (64 megapixels). */
export const HUGE_PIXELS = 64 * 1024 * 1024;

/** More bands than this is taken as a corrupt header, not an image. */
export const MAX_BANDS = 512;

/** Pages read at most: beyond, a file is taken as corrupt (or hostile). */
export const MAX_PAGES = 10_000;

/** A tile or strip larger than this cannot be read in parts (a single-strip giant image). */
export const MAX_BLOCK_BYTES = 256 * 1024 * 1024;

/** One sample of a TIFF: its pages (one with every band, or one per OME channel). */
export interface TiffSample {
  pages: number[];
  /** Reduced-resolution pages of this sample, largest first. */
  overviews: number[];
  z?: number;
  t?: number;
}

/** The structure of a TIFF file, from its headers only. */
export interface TiffLayout {
  tiff: GeoTIFF;
  images: GeoTIFFImage[];
  samples: TiffSample[];
  width: number;
  height: number;
  bands: number;
  /** Type the values are kept in (int32/uint32/float64 files are kept as float32). */
  sampleType: SampleType;
  /** Bits and kind as stored, for the routing rule. */
  storedBits: number;
  storedFormat: number;
  planar: number;
  channelNames: (string | null)[] | null;
  nodata: number | null;
  tile: [number, number] | null;
  ome: boolean;
  huge: boolean;
  /** The first page's DateTime (tag 306, "YYYY:MM:DD HH:MM:SS"), where the file has one. */
  dateTime: string | null;
}

/**
 * Opens a TIFF and reads its structure; throws {@link DecodeError} with a specific reason.
 * Given bytes, it reads them; given a path (files too large to read whole), geotiff.js reads
 * only the byte ranges it needs (headers now, tiles or strips later). `fileSize` bounds offsets.
 */
export async function readTiffLayout(source: Uint8Array | { path: string; size: number }): Promise<TiffLayout> {
  let tiff: GeoTIFF | undefined;
  let images: GeoTIFFImage[];
  try {
    if (source instanceof Uint8Array) {
      // Node Buffers are often views into a shared pool: geotiff.js needs the file's own bytes.
      const buffer =
        source.byteOffset === 0 && source.byteLength === source.buffer.byteLength
          ? source.buffer
          : Uint8Array.prototype.slice.call(source).buffer;
      tiff = await fromArrayBuffer(buffer as ArrayBuffer);
    } else {
      tiff = await fromFile(source.path);
    }
    images = await readPages(tiff, source instanceof Uint8Array ? source.length : source.size);
    const layout = await layoutOfPages(tiff, images);
    if (source instanceof Uint8Array && !layout.huge) await checkBlocks(images, source.length);
    return layout;
  } catch (error) {
    if (!(source instanceof Uint8Array)) await tiff?.close?.();
    if (error instanceof DecodeError) throw error;
    throw new DecodeError(`not a valid TIFF: ${describeTiffFailure(error as Error)}`);
  }
}

async function readPages(tiff: GeoTIFF, fileSize: number): Promise<GeoTIFFImage[]> {
  const images: GeoTIFFImage[] = [];
  const seen = new Set<number>();
  for (let index = 0; ; index++) {
    if (index >= MAX_PAGES) throw new DecodeError(`not a valid TIFF: more than ${MAX_PAGES} pages`);
    const image = await tiff.getImage(index);
    fillPerSampleTags(image);
    images.push(image);
    const next = image.fileDirectory.nextIFDByteOffset;
    if (next === 0) return images;
    if (seen.has(next)) throw new DecodeError('not a valid TIFF: its pages form a loop');
    if (next >= fileSize)
      throw new DecodeError(`not a valid TIFF: page ${index + 2} starts past the end of the file (offset ${next})`);
    seen.add(next);
  }
}

/**
 * SampleFormat and BitsPerSample hold one value per band, but writers often store one value for
 * all (skimage's `multipage_rgb.tif`); geotiff.js then finds no format for band 2 and fails with
 * "Unsupported data format/bitsPerSample". A missing band's value is the first band's.
 */
function fillPerSampleTags(image: GeoTIFFImage): void {
  const fields = (image.fileDirectory as unknown as { actualizedFields?: Map<number, unknown> }).actualizedFields;
  const bands = image.getSamplesPerPixel();
  if (!fields || !(bands > 1 && bands <= MAX_BANDS)) return;
  for (const tag of [258, 339]) {
    // BitsPerSample, SampleFormat
    const values = fields.get(tag) as ArrayLike<number> | undefined;
    if (values && values.length > 0 && values.length < bands)
      fields.set(
        tag,
        Uint16Array.from({ length: bands }, (_, band) => values[band] ?? values[0]!),
      );
  }
}

/**
 * Refuses strips or tiles that lie past the end of the file (inconsistent offsets, a file cut
 * short), naming the first one, before any decoder sees them.
 */
async function checkBlocks(images: GeoTIFFImage[], fileSize: number): Promise<void> {
  for (let page = 0; page < images.length; page++) {
    const directory = images[page]!.fileDirectory;
    const tiled = directory.hasTag('TileOffsets');
    const offsets = (await directory.loadValue(tiled ? 'TileOffsets' : 'StripOffsets')) as
      | ArrayLike<number>
      | undefined;
    const counts = (await directory.loadValue(tiled ? 'TileByteCounts' : 'StripByteCounts')) as
      | ArrayLike<number>
      | undefined;
    if (!offsets || !counts)
      throw new DecodeError(
        `not a valid TIFF: page ${page + 1} has no ${tiled ? 'tile' : 'strip'} offsets or byte counts`,
      );
    if (offsets.length !== counts.length) {
      throw new DecodeError(
        `not a valid TIFF: page ${page + 1} has ${offsets.length} ${tiled ? 'tile' : 'strip'} ` +
          `offsets but ${counts.length} byte counts`,
      );
    }
    for (let block = 0; block < offsets.length; block++) {
      const end = Number(offsets[block]) + Number(counts[block]);
      if (end > fileSize) {
        throw new DecodeError(
          `truncated or corrupt TIFF: ${tiled ? 'tile' : 'strip'} ${block + 1} of ` +
            `page ${page + 1} ends at byte ${end}, past the end of the ${fileSize}-byte file`,
        );
      }
    }
  }
}

function tag(image: GeoTIFFImage, name: string): unknown {
  return image.fileDirectory.hasTag(name as never) ? image.fileDirectory.getValue(name as never) : undefined;
}

function isOverview(image: GeoTIFFImage): boolean {
  return (Number(tag(image, 'NewSubfileType') ?? 0) & 1) === 1;
}

async function layoutOfPages(tiff: GeoTIFF, images: GeoTIFFImage[]): Promise<TiffLayout> {
  const first = images[0]!;
  const width = first.getWidth();
  const height = first.getHeight();
  if (!(width > 0 && height > 0)) throw new DecodeError(`not a valid TIFF: invalid size ${width}×${height}`);
  const bandsPerPage = first.getSamplesPerPixel();
  if (!(bandsPerPage >= 1 && bandsPerPage <= MAX_BANDS)) {
    throw new DecodeError(`not a valid TIFF: absurd band count ${bandsPerPage} (at most ${MAX_BANDS} supported)`);
  }
  const storedBits = first.getBitsPerSample(0);
  const storedFormat = first.getSampleFormat(0);
  const sampleType = sampleTypeOf(storedBits, storedFormat);
  // Long values (an OME-XML description) are deferred by geotiff.js until asked for.
  const description = first.fileDirectory.hasTag('ImageDescription')
    ? await first.fileDirectory.loadValue('ImageDescription')
    : undefined;
  let ome;
  try {
    ome = parseOmeXml(typeof description === 'string' ? description : undefined);
  } catch (error) {
    throw new DecodeError(`not a valid OME-TIFF: ${(error as Error).message}`);
  }
  // DateTime (306), like the description, is an ASCII value geotiff.js loads on request. It only
  // dates the image for series (series.ts): an unreadable one leaves it undated, the pixels still read.
  const dateTime = first.fileDirectory.hasTag('DateTime')
    ? await first.fileDirectory.loadValue('DateTime').catch(() => undefined)
    : undefined;
  const samples = ome ? omeSamples(images, ome) : pageSamples(images);
  for (const sample of samples) {
    for (const page of sample.pages) {
      const image = images[page]!;
      if (image.getWidth() !== width || image.getHeight() !== height || image.getSamplesPerPixel() !== bandsPerPage) {
        if (ome) throw new DecodeError(`not a valid OME-TIFF: page ${page + 1} differs in size or bands from page 1`);
      }
    }
  }
  const bands = ome ? ome.sizeC : bandsPerPage;
  const tiled = first.isTiled;
  const huge = width * height > HUGE_PIXELS;
  if (huge) {
    const blockBytes = first.getTileWidth() * first.getTileHeight() * bandsPerPage * Math.ceil(storedBits / 8);
    if (blockBytes > MAX_BLOCK_BYTES) {
      throw new DecodeError(
        `image too large to decode: ${width}×${height} pixels stored in ${tiled ? 'tiles' : 'strips'} of ` +
          `${first.getTileWidth()}×${first.getTileHeight()}; only tiled ` +
          `images (or small strips) this large can be read in parts`,
      );
    }
  }
  return {
    tiff,
    images,
    samples,
    width,
    height,
    bands,
    sampleType,
    storedBits,
    storedFormat,
    planar: Number(tag(first, 'PlanarConfiguration') ?? 1),
    channelNames: ome ? ome.channelNames : await bandNames(first, bandsPerPage),
    nodata: first.getGDALNoData(),
    tile: tiled ? [first.getTileWidth(), first.getTileHeight()] : null,
    ome: ome !== null,
    huge,
    dateTime: typeof dateTime === 'string' ? dateTime.replace(/\0+$/, '').trim() || null : null,
  };
}

function pageSamples(images: GeoTIFFImage[]): TiffSample[] {
  const samples: TiffSample[] = [];
  images.forEach((image, page) => {
    if (isOverview(image) && samples.length > 0) samples[samples.length - 1]!.overviews.push(page);
    else samples.push({ pages: [page], overviews: [] });
  });
  return samples;
}

function omeSamples(images: GeoTIFFImage[], ome: NonNullable<ReturnType<typeof parseOmeXml>>): TiffSample[] {
  const full = images.map((_, page) => page).filter((page) => !isOverview(images[page]!));
  const needed = ome.sizeC * ome.sizeZ * ome.sizeT;
  if (full.length < needed) {
    throw new DecodeError(
      `not a valid OME-TIFF: its OME-XML describes ${needed} planes ` +
        `(C=${ome.sizeC} Z=${ome.sizeZ} T=${ome.sizeT}) but the file has ${full.length} pages`,
    );
  }
  const samples: TiffSample[] = [];
  for (let t = 0; t < ome.sizeT; t++) {
    for (let z = 0; z < ome.sizeZ; z++) {
      const pages = Array.from({ length: ome.sizeC }, (_, c) => full[omePageIndex(ome, c, z, t)]!);
      samples.push({ pages, overviews: [], z, t });
    }
  }
  return samples;
}

async function bandNames(image: GeoTIFFImage, bands: number): Promise<(string | null)[] | null> {
  const names: (string | null)[] = [];
  for (let band = 0; band < bands; band++) {
    const metadata = await image.getGDALMetadata(band).catch(() => null);
    const description = metadata?.DESCRIPTION;
    names.push(typeof description === 'string' && description.trim() ? description.trim() : null);
  }
  return names.some((name) => name !== null) ? names : null;
}

const FORMAT_NAMES: Readonly<Record<number, string>> = { 1: 'unsigned integer', 2: 'signed integer', 3: 'float' };

/** How values of a stored type are kept; throws for types that cannot be kept honestly. */
function sampleTypeOf(bits: number, format: number): SampleType {
  if (format === 1 && bits === 8) return 'uint8';
  if (format === 1 && bits === 16) return 'uint16';
  if (format === 2 && bits === 16) return 'int16';
  if ((format === 3 && (bits === 16 || bits === 32 || bits === 64)) || ((format === 1 || format === 2) && bits === 32))
    return 'float32';
  if (format === 2 && bits === 8) return 'int16';
  const kind = FORMAT_NAMES[format] ?? `sample format ${format}`;
  throw new DecodeError(
    `unsupported TIFF sample type: ${bits}-bit ${kind} (8/16/32-bit integers and 16/32/64-bit floats are supported)`,
  );
}

/**
 * What a stored type loses or changes when kept as {@link sampleTypeOf} says, in words for the
 * detail panel; null when values are kept exactly as stored.
 */
export function conversionNote(bits: number, format: number): string | null {
  const kind = `${bits}-bit ${FORMAT_NAMES[format] ?? 'values'}`;
  if (format === 3 && bits === 64) return `${kind} values converted to float32 (about 7 significant digits kept)`;
  if (format === 3 && bits === 16) return `${kind} values converted to float32 (exactly)`;
  if (format === 2 && bits === 8) return `${kind} values kept as int16 (exactly)`;
  if ((format === 1 || format === 2) && bits === 32)
    return `${kind} values converted to float32 (exact up to ±16,777,216)`;
  return null;
}

/** Words for geotiff.js failures (offsets past the end, unknown compressions). */
export function describeTiffFailure(error: Error): string {
  const message = error.message || String(error);
  if (/outside the bounds|offset is outside|out of bounds|RangeError|beyond/i.test(message + error.name))
    return `data past the end of the file: ${message}`;
  if (/compression/i.test(message)) return `unsupported compression: ${message}`;
  return message;
}
