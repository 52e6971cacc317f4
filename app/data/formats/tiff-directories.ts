/**
 * The directories (IFDs) of a TIFF or BigTIFF, read by byte ranges: what a whole-slide reader
 * needs to find a pyramid's levels and its tiles without reading the file whole. Each directory's
 * tags are read eagerly (a slide's tile table is one array per level); SubIFDs (tag 330) are
 * followed and listed after their parent. Every length and offset is checked against the file
 * before it is read, and a failure names the directory and the tag.
 */
import fs from 'node:fs/promises';
import { DecodeError } from './decode';

/** Random access to a file's bytes. */
export interface ByteSource {
  size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** The TIFF tags a slide reader uses, by name. */
export const TAGS = {
  newSubfileType: 254,
  imageWidth: 256,
  imageLength: 257,
  bitsPerSample: 258,
  compression: 259,
  photometric: 262,
  imageDescription: 270,
  samplesPerPixel: 277,
  xResolution: 282,
  yResolution: 283,
  planarConfiguration: 284,
  resolutionUnit: 296,
  tileWidth: 322,
  tileLength: 323,
  tileOffsets: 324,
  tileByteCounts: 325,
  subIfds: 330,
  jpegTables: 347,
} as const;

/** One directory: its place in the file and its tags (numbers, or text for ASCII tags). */
export interface TiffDirectory {
  /** 1-based page number as tifffile counts top-level pages; SubIFDs get `page.sub`. */
  name: string;
  offset: number;
  tags: Map<number, number[] | string | Uint8Array>;
}

/** Directories read at most (pages plus SubIFDs): beyond, the file is taken as corrupt. */
const MAX_DIRECTORIES = 1000;
/** Values one tag may hold: a 2·10^6-pixel-wide level in 256² tiles has about 6·10^7 tiles. */
const MAX_TAG_VALUES = 16 * 1024 * 1024;

/** Bytes of one value of each TIFF field type. */
const TYPE_BYTES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8 };
Object.assign(TYPE_BYTES, { 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8 });

/**
 * A byte source over a file on disk, read with one open handle. Closing waits for the reads in
 * flight (a slide evicted from the open ones while a batch still reads its tiles); a read after
 * closing opens the file for itself and closes it again.
 */
export async function fileByteSource(path: string): Promise<ByteSource> {
  let handle: fs.FileHandle | null = await fs.open(path, 'r');
  const { size } = await handle.stat();
  let pending = 0;
  let closing = false;
  const release = async () => {
    if (!closing || pending > 0 || !handle) return;
    const open = handle;
    handle = null;
    await open.close();
  };
  return {
    size,
    async read(offset, length) {
      pending++;
      try {
        handle ??= await fs.open(path, 'r');
        const buffer = new Uint8Array(length);
        const { bytesRead } = await handle.read(buffer, 0, length, offset);
        if (bytesRead < length)
          throw new DecodeError(`truncated TIFF: ${length} bytes at ${offset} asked, ${bytesRead} read`);
        return buffer;
      } finally {
        pending--;
        await release();
      }
    },
    close: async () => {
      closing = true;
      await release();
    },
  };
}

/** A byte source over bytes in memory. */
export function memoryByteSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: async (offset, length) => {
      if (offset + length > bytes.length)
        throw new DecodeError(`truncated TIFF: ${length} bytes at ${offset} asked, the file has ${bytes.length}`);
      return bytes.subarray(offset, offset + length);
    },
    close: async () => {},
  };
}

/** Reads every directory of a TIFF (pages in order, each page's SubIFDs after it). */
export async function readTiffDirectories(source: ByteSource): Promise<{ directories: TiffDirectory[] }> {
  const head = await source.read(0, Math.min(16, source.size));
  const order = String.fromCharCode(head[0] ?? 0, head[1] ?? 0);
  if (order !== 'II' && order !== 'MM') throw new DecodeError('not a TIFF: no II or MM byte order mark');
  const little = order === 'II';
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const magic = view.getUint16(2, little);
  if (magic !== 42 && magic !== 43) throw new DecodeError(`not a TIFF: version ${magic} (42 or 43 expected)`);
  const big = magic === 43;
  const reader = new DirectoryReader(source, little, big);
  let next = big ? Number(view.getBigUint64(8, little)) : view.getUint32(4, little);
  const directories: TiffDirectory[] = [];
  const seen = new Set<number>();
  for (let page = 1; next !== 0; page++) {
    if (seen.has(next)) throw new DecodeError(`not a valid TIFF: its pages form a loop at page ${page}`);
    if (directories.length >= MAX_DIRECTORIES)
      throw new DecodeError(`not a valid TIFF: more than ${MAX_DIRECTORIES} directories`);
    seen.add(next);
    const { tags, nextOffset } = await reader.read(next, `page ${page}`);
    directories.push({ name: `page ${page}`, offset: next, tags });
    const subs = tags.get(TAGS.subIfds);
    if (Array.isArray(subs)) {
      for (const [index, offset] of subs.entries()) {
        if (seen.has(offset)) continue;
        seen.add(offset);
        const name = `page ${page} SubIFD ${index + 1}`;
        directories.push({ name, offset, tags: (await reader.read(offset, name)).tags });
      }
    }
    next = nextOffset;
  }
  return { directories };
}

class DirectoryReader {
  constructor(
    readonly source: ByteSource,
    readonly little: boolean,
    readonly big: boolean,
  ) {}

  async read(offset: number, name: string): Promise<{ tags: TiffDirectory['tags']; nextOffset: number }> {
    const { source, little, big } = this;
    const countBytes = big ? 8 : 2;
    const entryBytes = big ? 20 : 12;
    if (offset + countBytes > source.size)
      throw new DecodeError(`not a valid TIFF: ${name} starts past the end of the file (offset ${offset})`);
    const countView = view(await source.read(offset, countBytes));
    const count = big ? Number(countView.getBigUint64(0, little)) : countView.getUint16(0, little);
    const length = count * entryBytes + (big ? 8 : 4);
    if (count > 4096 || offset + countBytes + length > source.size)
      throw new DecodeError(`not a valid TIFF: ${name} claims ${count} tags, past the end of the file`);
    const entries = view(await source.read(offset + countBytes, length));
    const tags: TiffDirectory['tags'] = new Map();
    for (let index = 0; index < count; index++) {
      const at = index * entryBytes;
      const tag = entries.getUint16(at, little);
      const type = entries.getUint16(at + 2, little);
      const values = big ? Number(entries.getBigUint64(at + 4, little)) : entries.getUint32(at + 4, little);
      const size = TYPE_BYTES[type];
      if (size === undefined) continue; // unknown field types are skipped, as the specification asks
      if (values > MAX_TAG_VALUES)
        throw new DecodeError(`not a valid TIFF: tag ${tag} of ${name} claims ${values} values`);
      const bytes = values * size;
      const inline = big ? 8 : 4;
      let data: Uint8Array;
      if (bytes <= inline) {
        data = new Uint8Array(entries.buffer, entries.byteOffset + at + (big ? 12 : 8), bytes);
      } else {
        const where = big ? Number(entries.getBigUint64(at + 12, little)) : entries.getUint32(at + 8, little);
        if (where + bytes > source.size)
          throw new DecodeError(
            `not a valid TIFF: tag ${tag} of ${name} lies past the end of the file (${bytes} bytes at ${where})`,
          );
        data = await source.read(where, bytes);
      }
      tags.set(tag, decodeValues(data, type, values, little));
    }
    const tail = entries.byteLength - (big ? 8 : 4);
    const nextOffset = big ? Number(entries.getBigUint64(tail, little)) : entries.getUint32(tail, little);
    return { tags, nextOffset };
  }
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** An ASCII tag's text: UTF-8 where the bytes are (OME-XML writes `µm` so), else Latin-1. */
function decodeText(data: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    return new TextDecoder('latin1').decode(data);
  }
}

function decodeValues(data: Uint8Array, type: number, count: number, little: boolean): number[] | string | Uint8Array {
  if (type === 2) return decodeText(data).replace(/\0+$/, '');
  if (type === 1 || type === 7) return Uint8Array.prototype.slice.call(data);
  const values = view(data);
  const out = new Array<number>(count);
  for (let index = 0; index < count; index++) {
    if (type === 3) out[index] = values.getUint16(index * 2, little);
    else if (type === 4 || type === 13) out[index] = values.getUint32(index * 4, little);
    else if (type === 16 || type === 18) out[index] = Number(values.getBigUint64(index * 8, little));
    else if (type === 17) out[index] = Number(values.getBigInt64(index * 8, little));
    else if (type === 5 || type === 10) {
      const read = type === 5 ? values.getUint32.bind(values) : values.getInt32.bind(values);
      out[index] = read(index * 8, little) / read(index * 8 + 4, little);
    } else if (type === 6) out[index] = values.getInt8(index);
    else if (type === 8) out[index] = values.getInt16(index * 2, little);
    else if (type === 9) out[index] = values.getInt32(index * 4, little);
    else if (type === 11) out[index] = values.getFloat32(index * 4, little);
    else out[index] = values.getFloat64(index * 8, little);
  }
  return out;
}

/** A numeric tag's first value, or `fallback` when absent. */
export function tagNumber(directory: TiffDirectory, tag: number, fallback?: number): number | undefined {
  const value = directory.tags.get(tag);
  return Array.isArray(value) ? value[0] : fallback;
}

/** A numeric tag's values (empty when absent). */
export function tagNumbers(directory: TiffDirectory, tag: number): number[] {
  const value = directory.tags.get(tag);
  return Array.isArray(value) ? value : [];
}
