/**
 * Test fixtures in the domain formats, written byte by byte from the specifications so that the
 * readers are tested against files they did not write: TIFF (strips or tiles, any band count and
 * sample type, GeoTIFF nodata and band names, OME-XML descriptions, overviews, tiles that share
 * one block so a 50,000² image is a small file) and DICOM Part 10 (implicit/explicit little
 * endian, explicit big endian, native or encapsulated pixel data).
 */
import type { SampleType } from './raster';

/** One TIFF page. */
export interface TiffPageSpec {
  width: number;
  height: number;
  bands: number;
  sampleType: SampleType;
  /** Interleaved values, width × height × bands (or one tile's worth when `sharedTile`). */
  values: ArrayLike<number>;
  /** Tile size; strips of `rowsPerStrip` rows otherwise. */
  tile?: [number, number];
  rowsPerStrip?: number;
  /** Every tile points at the same block of `values` (one tile of data). */
  sharedTile?: boolean;
  description?: string;
  /** TIFF DateTime (tag 306), "YYYY:MM:DD HH:MM:SS". */
  dateTime?: string;
  nodata?: number;
  bandNames?: string[];
  /** NewSubfileType bit 0: a reduced-resolution overview. */
  overview?: boolean;
  /** Overrides strip/tile offsets (to build corrupt files). */
  offsetsOverride?: number[];
  /** Writes values in a type readers convert (`sampleType` is then ignored for the bytes). */
  stored?: StoredType;
}

/** Sample types a lab's TIFFs hold beyond the ones kept as they are. */
export type StoredType = 'int8' | 'int32' | 'uint32' | 'float16' | 'float64';

const STORED: Record<StoredType, { bytes: number; format: number }> = {
  int8: { bytes: 1, format: 2 },
  int32: { bytes: 4, format: 2 },
  uint32: { bytes: 4, format: 1 },
  float16: { bytes: 2, format: 3 },
  float64: { bytes: 8, format: 3 },
};

const BYTES: Record<SampleType, number> = { uint8: 1, uint16: 2, int16: 2, float32: 4 };
const FORMAT: Record<SampleType, number> = { uint8: 1, uint16: 1, int16: 2, float32: 3 };

class ByteWriter {
  private buffer = new Uint8Array(1 << 16);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  constructor(readonly littleEndian = true) {}

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.view = new DataView(next.buffer);
  }

  u8(value: number): void {
    this.reserve(1);
    this.view.setUint8(this.length, value);
    this.length += 1;
  }
  u16(value: number): void {
    this.reserve(2);
    this.view.setUint16(this.length, value, this.littleEndian);
    this.length += 2;
  }
  u32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, value, this.littleEndian);
    this.length += 4;
  }
  bytes(data: ArrayLike<number>): void {
    this.reserve(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
  }
  setU32(at: number, value: number): void {
    this.view.setUint32(at, value, this.littleEndian);
  }
  value(type: SampleType, value: number): void {
    this.reserve(4);
    if (type === 'uint8') this.view.setUint8(this.length, value);
    else if (type === 'uint16') this.view.setUint16(this.length, value, this.littleEndian);
    else if (type === 'int16') this.view.setInt16(this.length, value, this.littleEndian);
    else this.view.setFloat32(this.length, value, this.littleEndian);
    this.length += BYTES[type];
  }
  stored(type: StoredType, value: number): void {
    this.reserve(8);
    if (type === 'int8') this.view.setInt8(this.length, value);
    else if (type === 'int32') this.view.setInt32(this.length, value, this.littleEndian);
    else if (type === 'uint32') this.view.setUint32(this.length, value, this.littleEndian);
    else if (type === 'float16') this.view.setUint16(this.length, toHalf(value), this.littleEndian);
    else this.view.setFloat64(this.length, value, this.littleEndian);
    this.length += STORED[type].bytes;
  }
  align(): void {
    if (this.length % 2) this.u8(0);
  }
  result(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

/** IEEE half precision bits of a value (round to nearest; enough for test values). */
function toHalf(value: number): number {
  const floats = new Float32Array([value]);
  const bits = new Uint32Array(floats.buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = bits & 0x7fffff;
  if (value === 0) return sign;
  if (exponent >= 31) return sign | 0x7c00;
  if (exponent <= 0) return sign | Math.round((mantissa | 0x800000) / 2 ** (14 - exponent));
  return sign | ((exponent << 10) + Math.round(mantissa / 0x2000));
}

/** Writes a little-endian classic TIFF of the given pages, uncompressed. */
export function writeTiff(pages: readonly TiffPageSpec[]): Uint8Array {
  const out = new ByteWriter(true);
  out.bytes([0x49, 0x49, 42, 0]);
  let pointer = out.length;
  out.u32(0);
  for (const page of pages) {
    const blocks = writeBlocks(out, page);
    pointer = writeIfd(out, page, blocks, pointer);
  }
  return out.result();
}

function writeBlocks(out: ByteWriter, page: TiffPageSpec): { offsets: number[]; counts: number[] } {
  const { width, height, bands, sampleType, values } = page;
  const [blockWidth, blockHeight] = page.tile ?? [width, Math.min(height, page.rowsPerStrip ?? height)];
  const across = page.tile ? Math.ceil(width / blockWidth) : 1;
  const down = Math.ceil(height / blockHeight);
  const offsets: number[] = [];
  const counts: number[] = [];
  const stored = page.stored;
  const write = (value: number) => (stored ? out.stored(stored, value) : out.value(sampleType, value));
  if (page.sharedTile) {
    const start = out.length;
    for (let index = 0; index < blockWidth * blockHeight * bands; index++) write(values[index] ?? 0);
    for (let block = 0; block < across * down; block++) {
      offsets.push(start);
      counts.push(out.length - start);
    }
    return { offsets, counts };
  }
  for (let row = 0; row < down; row++) {
    for (let column = 0; column < across; column++) {
      const start = out.length;
      const rows = page.tile ? blockHeight : Math.min(blockHeight, height - row * blockHeight);
      for (let y = 0; y < rows; y++) {
        for (let x = 0; x < blockWidth; x++) {
          const sourceX = column * blockWidth + x;
          const sourceY = row * blockHeight + y;
          const inside = sourceX < width && sourceY < height; // tiles are padded at the edges
          for (let band = 0; band < bands; band++)
            write(inside ? values[(sourceY * width + sourceX) * bands + band]! : 0);
        }
      }
      offsets.push(start);
      counts.push(out.length - start);
    }
  }
  return { offsets: page.offsetsOverride ?? offsets, counts };
}

type Entry = { tag: number; type: 2 | 3 | 4; values: number[] | string };

/** Writes a page's directory, links it from `pointer`; returns where its next-page link is. */
function writeIfd(
  out: ByteWriter,
  page: TiffPageSpec,
  blocks: { offsets: number[]; counts: number[] },
  pointer: number,
): number {
  const rgb = page.bands >= 3 && page.sampleType === 'uint8';
  const base = rgb ? 3 : 1;
  const entries: Entry[] = [
    { tag: 254, type: 4, values: [page.overview ? 1 : 0] },
    { tag: 256, type: 4, values: [page.width] },
    { tag: 257, type: 4, values: [page.height] },
    {
      tag: 258,
      type: 3,
      values: Array(page.bands).fill((page.stored ? STORED[page.stored].bytes : BYTES[page.sampleType]) * 8),
    },
    { tag: 259, type: 3, values: [1] },
    { tag: 262, type: 3, values: [rgb ? 2 : 1] },
    { tag: 277, type: 3, values: [page.bands] },
    { tag: 284, type: 3, values: [1] },
    {
      tag: 339,
      type: 3,
      values: Array(page.bands).fill(page.stored ? STORED[page.stored].format : FORMAT[page.sampleType]),
    },
  ];
  if (page.bands > base) entries.push({ tag: 338, type: 3, values: Array(page.bands - base).fill(0) });
  if (page.description) entries.push({ tag: 270, type: 2, values: page.description });
  if (page.dateTime) entries.push({ tag: 306, type: 2, values: page.dateTime });
  if (page.tile) {
    entries.push({ tag: 322, type: 4, values: [page.tile[0]] }, { tag: 323, type: 4, values: [page.tile[1]] });
    entries.push({ tag: 324, type: 4, values: blocks.offsets }, { tag: 325, type: 4, values: blocks.counts });
  } else {
    entries.push({ tag: 273, type: 4, values: blocks.offsets }, { tag: 279, type: 4, values: blocks.counts });
    entries.push({ tag: 278, type: 4, values: [Math.min(page.height, page.rowsPerStrip ?? page.height)] });
  }
  if (page.bandNames) {
    const items = page.bandNames
      .map((name, band) => `<Item name="DESCRIPTION" sample="${band}" role="description">${name}</Item>`)
      .join('');
    entries.push({ tag: 42112, type: 2, values: `<GDALMetadata>${items}</GDALMetadata>` });
  }
  if (page.nodata !== undefined) entries.push({ tag: 42113, type: 2, values: String(page.nodata) });
  entries.sort((a, b) => a.tag - b.tag);

  // Values that do not fit in the entry's 4 bytes go before the directory.
  const external = new Map<Entry, number>();
  for (const entry of entries) {
    const bytes = entryBytes(entry);
    if (bytes.length <= 4) continue;
    out.align();
    external.set(entry, out.length);
    out.bytes(bytes);
  }
  out.align();
  out.setU32(pointer, out.length);
  out.u16(entries.length);
  for (const entry of entries) {
    const bytes = entryBytes(entry);
    out.u16(entry.tag);
    out.u16(entry.type);
    out.u32(typeof entry.values === 'string' ? entry.values.length + 1 : entry.values.length);
    if (external.has(entry)) out.u32(external.get(entry)!);
    else out.bytes([...bytes, 0, 0, 0, 0].slice(0, 4));
  }
  const next = out.length;
  out.u32(0);
  return next;
}

function entryBytes(entry: Entry): number[] {
  if (typeof entry.values === 'string') return [...Buffer.from(entry.values + '\0', 'latin1')];
  const size = entry.type === 3 ? 2 : 4;
  const bytes: number[] = [];
  for (const value of entry.values) for (let byte = 0; byte < size; byte++) bytes.push((value >>> (8 * byte)) & 0xff);
  return bytes;
}

/** An OME-XML description for planes stored in `order`. */
export function omeXml(
  sizes: { c: number; z: number; t: number },
  channelNames: string[],
  order = 'XYCZT',
  width = 8,
  height = 8,
  type = 'uint16',
): string {
  const channels = channelNames
    .map((name, index) => `<Channel ID="Channel:0:${index}" Name="${name}" SamplesPerPixel="1"/>`)
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">' +
    `<Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="${order}" ` +
    `Type="${type}" SizeX="${width}" SizeY="${height}" ` +
    `SizeC="${sizes.c}" SizeZ="${sizes.z}" SizeT="${sizes.t}">${channels}<TiffData/></Pixels></Image></OME>`
  );
}

/** One DICOM file. */
export interface DicomSpec {
  rows: number;
  columns: number;
  frames?: number;
  samplesPerPixel?: 1 | 3;
  bitsAllocated: 8 | 16 | 32;
  bitsStored?: number;
  signed?: boolean;
  photometric?: string;
  /** Stored values (before rescale), frames one after another, interleaved. */
  values?: ArrayLike<number>;
  /** Compressed frames instead of `values` (encapsulated pixel data). */
  fragments?: Uint8Array[];
  transferSyntax?: string;
  slope?: number;
  intercept?: number;
  windows?: { center: number; width: number }[];
  modality?: string;
  /** Leave out the pixel data element (a structured report, say). */
  noPixelData?: boolean;
  /**
   * What comes before the data set: `zero` (128 zero bytes, `DICM`, meta header; the default),
   * `tiff` (a preamble that starts like a little-endian TIFF, as dual-personality files and
   * pydicom's test files have), `none` (the bare data set, no preamble and no meta header) or
   * `meta` (the meta header and data set, without preamble and `DICM`).
   */
  preamble?: 'zero' | 'tiff' | 'none' | 'meta';
  /** The transfer syntax the meta header names, when it lies (`null`: none at all). */
  declaredSyntax?: string | null;
  /** Series Instance UID, Instance Number, Image Position and Orientation (Patient), Patient ID. */
  series?: string;
  instance?: number;
  position?: [number, number, number];
  orientation?: number[];
  patientId?: string;
  /** Enhanced multi-frame geometry: shared orientation and a position per frame (explicit VR only). */
  functionalGroups?: { orientation: number[]; positions: [number, number, number][] };
}

const VR: Record<string, string> = {
  '00080060': 'CS',
  '00100010': 'PN',
  '00100020': 'LO',
  '00100030': 'DA',
  '00280002': 'US',
  '00280004': 'CS',
  '00280006': 'US',
  '00280008': 'IS',
  '00280010': 'US',
  '00280011': 'US',
  '00280030': 'DS',
  '00280100': 'US',
  '00280101': 'US',
  '00280102': 'US',
  '00280103': 'US',
  '52009229': 'SQ',
  '52009230': 'SQ',
  '0020000e': 'UI',
  '00200013': 'IS',
  '00200032': 'DS',
  '00200037': 'DS',
  '00281050': 'DS',
  '00281051': 'DS',
  '00281052': 'DS',
  '00281053': 'DS',
  '7fe00010': 'OW',
};

/** Writes a DICOM Part 10 file; it carries a patient name and id, which must never show. */
export function writeDicom(spec: DicomSpec): Uint8Array {
  const syntax = spec.transferSyntax ?? '1.2.840.10008.1.2.1';
  const meta = new ByteWriter(true);
  const metaElements = new ByteWriter(true);
  explicitElement(metaElements, 0x0002, 0x0001, 'OB', [0, 1]);
  explicitElement(metaElements, 0x0002, 0x0002, 'UI', uid('1.2.840.10008.5.1.4.1.1.2'));
  explicitElement(metaElements, 0x0002, 0x0003, 'UI', uid('1.2.3.4.5.6.7'));
  if (spec.declaredSyntax !== null)
    explicitElement(metaElements, 0x0002, 0x0010, 'UI', uid(spec.declaredSyntax ?? syntax));
  const preamble = new Uint8Array(128);
  // 'II', 42, then an IFD offset: enough for any TIFF reader to take the file for a TIFF.
  if (spec.preamble === 'tiff') preamble.set([0x49, 0x49, 42, 0, 8, 0, 0, 0]);
  meta.bytes(preamble);
  meta.bytes([0x44, 0x49, 0x43, 0x4d]);
  explicitElement(meta, 0x0002, 0x0000, 'UL', le32(metaElements.length));
  meta.bytes(metaElements.result());

  const implicit = syntax === '1.2.840.10008.1.2';
  const body = new ByteWriter(syntax !== '1.2.840.10008.1.2.2');
  const text = (value: string) => [...Buffer.from(value.length % 2 ? value + ' ' : value, 'latin1')];
  const us = (value: number) => (body.littleEndian ? [value & 0xff, value >> 8] : [value >> 8, value & 0xff]);
  const element = (group: number, item: number, value: number[]) => {
    const key = group.toString(16).padStart(4, '0') + item.toString(16).padStart(4, '0');
    if (implicit) {
      body.u16(group);
      body.u16(item);
      body.u32(value.length);
      body.bytes(value);
    } else explicitElement(body, group, item, VR[key]!, value);
  };
  const samples = spec.samplesPerPixel ?? 1;
  element(0x0008, 0x0060, text(spec.modality ?? 'CT'));
  element(0x0010, 0x0010, text('Doe^Jane'));
  element(0x0010, 0x0020, text(spec.patientId ?? 'PATIENT-4711'));
  element(0x0010, 0x0030, text('19700101'));
  if (spec.series) element(0x0020, 0x000e, uid(spec.series));
  if (spec.instance !== undefined) element(0x0020, 0x0013, text(String(spec.instance)));
  if (spec.position) element(0x0020, 0x0032, text(spec.position.join('\\')));
  if (spec.orientation) element(0x0020, 0x0037, text(spec.orientation.join('\\')));
  element(0x0028, 0x0002, us(samples));
  element(0x0028, 0x0004, text(spec.photometric ?? (samples === 3 ? 'RGB' : 'MONOCHROME2')));
  if (samples === 3) element(0x0028, 0x0006, us(0));
  if (spec.frames !== undefined) element(0x0028, 0x0008, text(String(spec.frames)));
  element(0x0028, 0x0010, us(spec.rows));
  element(0x0028, 0x0011, us(spec.columns));
  element(0x0028, 0x0030, text('0.5\\0.5'));
  element(0x0028, 0x0100, us(spec.bitsAllocated));
  element(0x0028, 0x0101, us(spec.bitsStored ?? spec.bitsAllocated));
  element(0x0028, 0x0102, us((spec.bitsStored ?? spec.bitsAllocated) - 1));
  element(0x0028, 0x0103, us(spec.signed ? 1 : 0));
  if (spec.windows) {
    element(0x0028, 0x1050, text(spec.windows.map((w) => w.center).join('\\')));
    element(0x0028, 0x1051, text(spec.windows.map((w) => w.width).join('\\')));
  }
  if (spec.intercept !== undefined) element(0x0028, 0x1052, text(String(spec.intercept)));
  if (spec.slope !== undefined) element(0x0028, 0x1053, text(String(spec.slope)));
  if (spec.functionalGroups) {
    const { orientation, positions } = spec.functionalGroups;
    const ds = (values: number[]) => text(values.join('\\'));
    const shared = item(sequence(0x0020, 0x9116, [item(element16(0x0020, 0x0037, 'DS', ds(orientation)))]));
    element(0x5200, 0x9229, shared);
    const frames = positions.map((position) =>
      item(sequence(0x0020, 0x9113, [item(element16(0x0020, 0x0032, 'DS', ds(position)))])),
    );
    element(0x5200, 0x9230, frames.flat());
  }
  if (!spec.noPixelData) {
    if (spec.fragments) {
      // Encapsulated: OB of undefined length, an empty offset table item, one item per fragment.
      body.u16(0x7fe0);
      body.u16(0x0010);
      body.bytes([0x4f, 0x42, 0, 0]);
      body.u32(0xffffffff);
      const item = (data: ArrayLike<number>) => {
        body.u16(0xfffe);
        body.u16(0xe000);
        body.u32(data.length + (data.length % 2));
        body.bytes(data);
        body.align();
      };
      item([]);
      for (const fragment of spec.fragments) item(fragment);
      body.u16(0xfffe);
      body.u16(0xe0dd);
      body.u32(0);
    } else {
      const values = spec.values ?? [];
      const pixels = new ByteWriter(body.littleEndian);
      for (let index = 0; index < values.length; index++) {
        const value = values[index]!;
        if (spec.bitsAllocated === 8) pixels.u8(value & 0xff);
        else if (spec.bitsAllocated === 16) pixels.u16(value & 0xffff);
        else pixels.u32(value >>> 0);
      }
      pixels.align();
      element(0x7fe0, 0x0010, [...pixels.result()]);
    }
  }
  if (spec.preamble === 'none') return body.result();
  const head = spec.preamble === 'meta' ? meta.result().subarray(132) : meta.result();
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body.result(), head.length);
  return out;
}

/** An explicit VR little endian element with a 2-byte length, as bytes. */
function element16(group: number, item: number, vr: string, value: number[]): number[] {
  return [
    group & 0xff,
    group >> 8,
    item & 0xff,
    item >> 8,
    vr.charCodeAt(0),
    vr.charCodeAt(1),
    value.length & 0xff,
    value.length >> 8,
    ...value,
  ];
}

/** A sequence element (explicit VR little endian, defined length) holding `items`, as bytes. */
function sequence(group: number, tag: number, items: number[][]): number[] {
  const content = items.flat();
  return [group & 0xff, group >> 8, tag & 0xff, tag >> 8, 0x53, 0x51, 0, 0, ...le32(content.length), ...content];
}

/** A sequence item of defined length holding `content`. */
function item(content: number[]): number[] {
  return [0xfe, 0xff, 0x00, 0xe0, ...le32(content.length), ...content];
}

const LONG_VRS = new Set(['OB', 'OW', 'SQ', 'UN', 'UT']);

function explicitElement(out: ByteWriter, group: number, item: number, vr: string, value: ArrayLike<number>): void {
  out.u16(group);
  out.u16(item);
  out.bytes([vr.charCodeAt(0), vr.charCodeAt(1)]);
  if (LONG_VRS.has(vr)) {
    out.u16(0);
    out.u32(value.length);
  } else {
    out.u16(value.length);
  }
  out.bytes(value);
}

function uid(value: string): number[] {
  return [...Buffer.from(value.length % 2 ? value + '\0' : value, 'latin1')];
}

function le32(value: number): number[] {
  return [value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff, (value >>> 24) & 0xff];
}
