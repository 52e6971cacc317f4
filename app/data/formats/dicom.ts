/**
 * DICOM files through dicom-parser: the pixel module of one file as samples (one per frame), in
 * modality units (Rescale Slope/Intercept applied: Hounsfield units for CT), with the file's VOI
 * windows for display. Little and big endian, signed pixels and the compressed transfer syntaxes
 * that have a maintained decoder (see {@link TRANSFER_SYNTAXES}); any other is refused per file
 * with its UID and name.
 *
 * Privacy: only the technical tags of the image pixel module are read. Patient, study and
 * institution tags are never copied into metadata, thumbnails or anything exported.
 */
import dicomParser, { type DataSet, type Element } from 'dicom-parser';
import type { DicomPlane, DisplayWindow, ImageMeta } from '../../contract';
import { readPlanes, sharedGroup } from './dicom-planes';
import { DecodeError } from './decode';
import { decodeFrame, type FrameCodec } from './dicom-codecs';
import { expandYbr422, isSubsampled, needsRgbConversion, ybrToRgb } from './dicom-colour';
import { dataSetEncoding, EXPLICIT_BIG, EXPLICIT_LITTLE, IMPLICIT_LITTLE, isDicomPart10 } from './formats';
import { allocateValues, type Raster, type SampleType } from './raster';

/** Transfer syntaxes read, by UID: their name and how frames are stored. */
export const TRANSFER_SYNTAXES: Readonly<Record<string, { name: string; codec: FrameCodec | 'native' }>> = {
  '1.2.840.10008.1.2': { name: 'Implicit VR Little Endian', codec: 'native' },
  '1.2.840.10008.1.2.1': { name: 'Explicit VR Little Endian', codec: 'native' },
  '1.2.840.10008.1.2.1.99': { name: 'Deflated Explicit VR Little Endian', codec: 'native' },
  '1.2.840.10008.1.2.2': { name: 'Explicit VR Big Endian', codec: 'native' },
  '1.2.840.10008.1.2.5': { name: 'RLE Lossless', codec: 'rle' },
  '1.2.840.10008.1.2.4.50': { name: 'JPEG Baseline (8-bit)', codec: 'jpeg-baseline' },
  '1.2.840.10008.1.2.4.57': { name: 'JPEG Lossless', codec: 'jpeg-lossless' },
  '1.2.840.10008.1.2.4.70': { name: 'JPEG Lossless SV1', codec: 'jpeg-lossless' },
  '1.2.840.10008.1.2.4.80': { name: 'JPEG-LS Lossless', codec: 'jpeg-ls' },
  '1.2.840.10008.1.2.4.81': { name: 'JPEG-LS Near-Lossless', codec: 'jpeg-ls' },
  '1.2.840.10008.1.2.4.90': { name: 'JPEG 2000 Lossless', codec: 'jpeg-2000' },
  '1.2.840.10008.1.2.4.91': { name: 'JPEG 2000', codec: 'jpeg-2000' },
};

/** Names of syntaxes we know but cannot decode, for the error message. */
const KNOWN_UNSUPPORTED: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2.4.51': 'JPEG Extended (12-bit)',
  '1.2.840.10008.1.2.4.100': 'MPEG2',
  '1.2.840.10008.1.2.4.102': 'MPEG-4 AVC/H.264',
  '1.2.840.10008.1.2.4.201': 'High-Throughput JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.202': 'High-Throughput JPEG 2000 (RPCL)',
  '1.2.840.10008.1.2.4.203': 'High-Throughput JPEG 2000',
};

/** Frames read at most from one file (a corrupt Number of Frames is not trusted further). */
export const MAX_FRAMES = 10_000;

/** The pixel module of one DICOM file. */
export interface DicomLayout {
  dataSet: DataSet;
  pixelData: Element;
  transferSyntax: string;
  codec: FrameCodec | 'native';
  rows: number;
  columns: number;
  frames: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  signed: boolean;
  planarConfiguration: number;
  photometric: string;
  slope: number;
  intercept: number;
  windows: DisplayWindow[];
  modality: string | null;
  pixelSpacing: [number, number] | null;
  /** Series, subject (pseudonymous) and where each frame lies, for assembling series into volumes. */
  planes: DicomPlane[] | null;
}

/**
 * Parses a DICOM file's header; throws {@link DecodeError} naming what is missing or unsupported.
 * `bareSyntax` is the encoding of a data set without preamble (from `sniffFormat`); without it,
 * the encoding is worked out from the bytes.
 */
export function readDicomLayout(bytes: Uint8Array, bareSyntax?: string): DicomLayout {
  const part10 = isDicomPart10(bytes);
  let dataSet: DataSet;
  let transferSyntax: string;
  try {
    if (part10) ({ dataSet, transferSyntax } = parsePart10(bytes));
    // A meta header (group 0002) without the preamble and DICM before it: read as Part 10.
    else if (bytes.length >= 4 && bytes[0] === 0x02 && bytes[1] === 0x00)
      ({ dataSet, transferSyntax } = parsePart10(withPreamble(bytes)));
    else ({ dataSet, transferSyntax } = parseBare(bytes, bareSyntax ?? dataSetEncoding(bytes) ?? IMPLICIT_LITTLE));
  } catch (error) {
    if (error instanceof DecodeError) throw error;
    const reason = describeParserError(error);
    throw new DecodeError(reason.startsWith('truncated') ? reason : `not a valid DICOM file: ${reason}`);
  }
  const syntax = TRANSFER_SYNTAXES[transferSyntax];
  if (!syntax) {
    const name = KNOWN_UNSUPPORTED[transferSyntax];
    throw new DecodeError(
      `unsupported DICOM transfer syntax ${transferSyntax}${name ? ` (${name})` : ''}: ` +
        `this build has no decoder for its pixel data; ` +
        `convert the file to an uncompressed syntax (e.g. dcmtk's dcmdjpeg, or gdcmconv --raw) to import it`,
    );
  }
  const pixelData = dataSet.elements.x7fe00010 ?? dataSet.elements.x7fe00008 ?? dataSet.elements.x7fe00009;
  if (!pixelData) throw new DecodeError(describeNonImage(dataSet, part10));
  const rows = dataSet.uint16('x00280010') ?? 0;
  const columns = dataSet.uint16('x00280011') ?? 0;
  if (!(rows > 0 && columns > 0))
    throw new DecodeError(`DICOM file with an invalid image size (Rows ${rows}, Columns ${columns})`);
  const bitsAllocated = dataSet.uint16('x00280100') ?? 0;
  if (bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) {
    throw new DecodeError(
      `unsupported DICOM pixels: Bits Allocated ${bitsAllocated} (8, 16 and 32 are ` +
        `supported${bitsAllocated === 1 ? '; 1-bit pixels, as in segmentation objects, are not read' : ''})`,
    );
  }
  if (bitsAllocated === 32 && syntax.codec !== 'native' && syntax.codec !== 'rle') {
    throw new DecodeError(
      `unsupported DICOM pixels: Bits Allocated 32 compressed ` +
        `as ${syntax.name} (32-bit pixels are read uncompressed or RLE)`,
    );
  }
  const bitsStored = Math.min(dataSet.uint16('x00280101') ?? bitsAllocated, bitsAllocated);
  const samplesPerPixel = dataSet.uint16('x00280002') ?? 1;
  const photometric = (dataSet.string('x00280004') ?? (samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2')).trim();
  if (samplesPerPixel !== 1 && samplesPerPixel !== 3)
    throw new DecodeError(`unsupported DICOM pixels: ${samplesPerPixel} samples per pixel`);
  if (photometric === 'PALETTE COLOR')
    throw new DecodeError('unsupported DICOM pixels: PALETTE COLOR (palette lookup is not supported)');
  const frames = dataSet.intString('x00280008') ?? 1;
  if (!(frames >= 1 && frames <= MAX_FRAMES))
    throw new DecodeError(`DICOM file with an invalid Number of Frames (${frames})`);
  const subsampled = isSubsampled(photometric, syntax.codec);
  if (
    needsRgbConversion(photometric, syntax.codec) &&
    (samplesPerPixel !== 3 || bitsAllocated !== 8 || (subsampled && columns % 2 !== 0))
  ) {
    throw new DecodeError(
      `unsupported DICOM pixels: ${photometric} with ${samplesPerPixel} samples of ${bitsAllocated} ` +
        `bits and ${columns} columns (8-bit, 3 samples and, for 422, an even width are read)`,
    );
  }
  const bytesPerFrame = rows * columns * (subsampled ? 2 : samplesPerPixel) * (bitsAllocated / 8);
  if (
    syntax.codec === 'native' &&
    !pixelData.encapsulatedPixelData &&
    pixelData.dataOffset + bytesPerFrame * frames > dataSet.byteArray.length
  ) {
    throw new DecodeError(
      `truncated DICOM file: ${frames} frame(s) of ${columns}×${rows} need ${bytesPerFrame * frames} ` +
        `bytes of pixel data, the file holds ${Math.max(0, dataSet.byteArray.length - pixelData.dataOffset)}`,
    );
  }
  return {
    dataSet,
    pixelData,
    transferSyntax,
    codec: syntax.codec,
    rows,
    columns,
    frames,
    samplesPerPixel,
    bitsAllocated,
    bitsStored,
    signed: (dataSet.uint16('x00280103') ?? 0) === 1,
    planarConfiguration: dataSet.uint16('x00280006') ?? 0,
    photometric,
    slope: dataSet.floatString('x00281053') || 1,
    intercept: dataSet.floatString('x00281052') ?? 0,
    windows: readWindows(dataSet),
    modality: dataSet.string('x00080060')?.trim() || null,
    pixelSpacing: readPair(dataSet, 'x00280030') ?? readPair(sharedGroup(dataSet, 'x00289110') ?? dataSet, 'x00280030'),
    planes: readPlanes(dataSet, frames),
  };
}

/**
 * A Part 10 file. When the meta header names no transfer syntax, or names one the data set is
 * not encoded in (an implicit data set declared explicit), the data set's own encoding is used.
 */
function parsePart10(bytes: Uint8Array): { dataSet: DataSet; transferSyntax: string } {
  const metaEnd = metaHeaderEnd(bytes);
  const declared =
    metaEnd === null
      ? undefined
      : (dicomParser.readPart10Header(bytes.subarray(0, metaEnd)) as DataSet).string('x00020010');
  const found = dataSetEncoding(bytes, metaEnd ?? 132);
  if (declared === undefined) {
    if (!found)
      throw new DecodeError(
        'not a valid DICOM file: its meta header has no transfer syntax (0002,0010), ' +
          'and the data set after it parses in none of the uncompressed encodings',
      );
    return parseBare(bytes.subarray(metaEnd ?? 132), found);
  }
  const transferSyntax = cleanUid(declared);
  try {
    return { dataSet: dicomParser.parseDicom(bytes), transferSyntax };
  } catch (error) {
    const uncompressed = found === IMPLICIT_LITTLE || found === EXPLICIT_LITTLE || found === EXPLICIT_BIG;
    if (!found || found === transferSyntax || !uncompressed) throw error;
    if (TRANSFER_SYNTAXES[transferSyntax]?.codec !== 'native') {
      throw new DecodeError(
        `not a valid DICOM file: its meta header says transfer syntax ${transferSyntax}, ` +
          `but its data set is encoded as ${TRANSFER_SYNTAXES[found]!.name}`,
      );
    }
    return parseBare(bytes.subarray(metaEnd ?? 132), found);
  }
}

/** Where the meta header (group 0002, always explicit VR little endian) ends, or null. */
function metaHeaderEnd(bytes: Uint8Array): number | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let position = 132;
  while (position + 8 <= bytes.length && view.getUint16(position, true) === 0x0002) {
    const vr = String.fromCharCode(bytes[position + 4]!, bytes[position + 5]!);
    const long = ['OB', 'OW', 'SQ', 'UN', 'UT', 'UC', 'UR'].includes(vr);
    if (long && position + 12 > bytes.length) return null;
    const length = long ? view.getUint32(position + 8, true) : view.getUint16(position + 6, true);
    position += (long ? 12 : 8) + length;
  }
  return position <= bytes.length ? position : null;
}

/** The bytes behind a zero preamble and `DICM`, as a Part 10 file has them. */
function withPreamble(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(132 + bytes.length);
  out.set([0x44, 0x49, 0x43, 0x4d], 128);
  out.set(bytes, 132);
  return out;
}

/** A data set without preamble or meta header, read in the given uncompressed encoding. */
function parseBare(bytes: Uint8Array, transferSyntax: string): { dataSet: DataSet; transferSyntax: string } {
  return { dataSet: dicomParser.parseDicom(bytes, { TransferSyntaxUID: transferSyntax }), transferSyntax };
}

function cleanUid(value: string | undefined): string {
  return (value ?? IMPLICIT_LITTLE).replace(/\0/g, '').trim();
}

/** Names a DICOM object without pixels by its modality, so that the reason says what it is. */
function describeNonImage(dataSet: DataSet, part10: boolean): string {
  const modality = dataSet.string('x00080060')?.trim();
  const what = modality ? `a DICOM ${modality} object` : part10 ? 'a DICOM object' : 'a DICOM data set (no preamble)';
  return `${what} without pixel data (not an image: a report, plan, structure set or waveform, say)`;
}

function readWindows(dataSet: DataSet): DisplayWindow[] {
  const count = Math.min(dataSet.numStringValues('x00281050') ?? 0, dataSet.numStringValues('x00281051') ?? 0);
  const windows: DisplayWindow[] = [];
  for (let index = 0; index < count; index++) {
    const center = dataSet.floatString('x00281050', index);
    const width = dataSet.floatString('x00281051', index);
    if (center !== undefined && width !== undefined && Number.isFinite(center) && width >= 1)
      windows.push({ center, width });
  }
  return windows;
}

function readPair(dataSet: DataSet, tag: string): [number, number] | null {
  const first = dataSet.floatString(tag, 0);
  const second = dataSet.floatString(tag, 1);
  return first !== undefined && second !== undefined && Number.isFinite(first) && Number.isFinite(second)
    ? [first, second]
    : null;
}

/**
 * The type frames are kept in, after rescaling: the stored type when the rescale is the
 * identity, int16 when an integer rescale keeps every possible value in int16, else float32.
 */
export function dicomSampleType(layout: DicomLayout): SampleType {
  const { slope, intercept, bitsStored, signed } = layout;
  const low = signed ? -(2 ** (bitsStored - 1)) : 0;
  const high = signed ? 2 ** (bitsStored - 1) - 1 : 2 ** bitsStored - 1;
  if (layout.bitsAllocated === 32 && bitsStored > 16) return 'float32';
  if (slope === 1 && intercept === 0) return signed ? 'int16' : layout.bitsAllocated === 8 ? 'uint8' : 'uint16';
  if (Number.isInteger(slope) && Number.isInteger(intercept)) {
    const ends = [low * slope + intercept, high * slope + intercept];
    if (Math.min(...ends) >= -32768 && Math.max(...ends) <= 32767) return 'int16';
  }
  return 'float32';
}

/** Technical metadata of one frame (no patient, study or institution tag). */
export function dicomMeta(layout: DicomLayout): ImageMeta {
  const meta: ImageMeta = {
    sampleType: dicomSampleType(layout),
    frames: layout.frames,
    transferSyntax: `${layout.transferSyntax} (${TRANSFER_SYNTAXES[layout.transferSyntax]!.name})`,
    photometric: layout.photometric,
  };
  if (layout.bitsAllocated === 32 && meta.sampleType === 'float32') {
    meta.converted =
      `${layout.bitsStored}-bit ${layout.signed ? 'signed' : 'unsigned'} ` +
      `integers converted to float32 (exact up to ±16,777,216)`;
  }
  if (needsRgbConversion(layout.photometric, layout.codec))
    meta.converted = `${layout.photometric} colour converted to RGB`;
  if (layout.windows.length > 0) meta.windows = layout.windows;
  if (layout.slope !== 1 || layout.intercept !== 0) meta.rescale = { slope: layout.slope, intercept: layout.intercept };
  if (layout.modality) meta.modality = layout.modality;
  if (layout.pixelSpacing) meta.pixelSpacing = layout.pixelSpacing;
  if (layout.planes) meta.plane = layout.planes[0]!;
  return meta;
}

/** Reads one frame in modality units, interleaved; throws {@link DecodeError} naming the problem. */
export async function readDicomFrame(layout: DicomLayout, frame: number): Promise<Raster> {
  if (!(frame >= 0 && frame < layout.frames))
    throw new DecodeError(`no frame ${frame} in this DICOM file (it has ${layout.frames})`);
  const { rows, columns, samplesPerPixel, bitsAllocated } = layout;
  const bytesPerSample = bitsAllocated / 8;
  const count = rows * columns * samplesPerPixel;
  const subsampled = isSubsampled(layout.photometric, layout.codec);
  let stored: Uint8Array;
  let littleEndian = layout.transferSyntax !== EXPLICIT_BIG;
  try {
    if (layout.codec === 'native') {
      const frameBytes = (subsampled ? rows * columns * 2 : count) * bytesPerSample;
      const start = layout.pixelData.dataOffset + frame * frameBytes;
      stored = layout.dataSet.byteArray.subarray(start, start + frameBytes);
      if (subsampled && stored.length === frameBytes) stored = expandYbr422(stored, rows * columns);
    } else {
      const encoded = encapsulatedFrame(layout, frame);
      stored = (await decodeFrame(layout.codec, encoded, { rows, columns, samplesPerPixel, bitsAllocated })).bytes;
      littleEndian = true;
    }
  } catch (error) {
    if (error instanceof DecodeError) throw error;
    const reason = describeParserError(error);
    const syntax = `${TRANSFER_SYNTAXES[layout.transferSyntax]!.name}, transfer syntax ${layout.transferSyntax}`;
    throw new DecodeError(`corrupt DICOM pixel data in frame ${frame + 1} (${syntax}): ${reason}`);
  }
  if (stored.length < count * bytesPerSample) throw new DecodeError(`truncated DICOM pixel data in frame ${frame + 1}`);
  const sampleType = dicomSampleType(layout);
  const values = allocateValues(sampleType, count);
  const view = new DataView(stored.buffer, stored.byteOffset, stored.byteLength);
  const { slope, intercept, bitsStored, signed } = layout;
  const mask = 2 ** bitsStored - 1;
  const signBit = 2 ** (bitsStored - 1);
  // Colour frames stored plane by plane (Planar Configuration 1) are interleaved here; decoders
  // of compressed syntaxes always return interleaved samples.
  const planar = samplesPerPixel > 1 && layout.planarConfiguration === 1 && layout.codec === 'native';
  const pixels = rows * columns;
  for (let index = 0; index < count; index++) {
    const source = planar ? (index % samplesPerPixel) * pixels + Math.floor(index / samplesPerPixel) : index;
    let raw =
      bytesPerSample === 1
        ? stored[source]!
        : bytesPerSample === 2
          ? view.getUint16(source * 2, littleEndian)
          : view.getUint32(source * 4, littleEndian);
    // Bits above Bits Stored may hold overlays (modulo, not &: a 32-bit & would turn negative).
    if (bitsStored < 32) raw %= mask + 1;
    if (signed && raw >= signBit) raw -= 2 * signBit;
    values[index] = raw * slope + intercept;
  }
  if (needsRgbConversion(layout.photometric, layout.codec)) ybrToRgb(values);
  return { width: columns, height: rows, bands: samplesPerPixel, sampleType, values };
}

function encapsulatedFrame(layout: DicomLayout, frame: number): Uint8Array {
  const { dataSet, pixelData, frames } = layout;
  const fragments = pixelData.fragments ?? [];
  if (fragments.length === 0) throw new DecodeError(`corrupt DICOM pixel data: no compressed fragments`);
  if ((pixelData.basicOffsetTable?.length ?? 0) > 0)
    return dicomParser.readEncapsulatedImageFrame(dataSet, pixelData, frame) as Uint8Array;
  if (frames === 1)
    return dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, pixelData, 0, fragments.length) as Uint8Array;
  if (fragments.length === frames)
    return dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, pixelData, frame, 1) as Uint8Array;
  if (layout.codec === 'jpeg-baseline' || layout.codec === 'jpeg-lossless') {
    const table = dicomParser.createJPEGBasicOffsetTable(dataSet, pixelData);
    return dicomParser.readEncapsulatedImageFrame(dataSet, pixelData, frame, table) as Uint8Array;
  }
  throw new DecodeError(
    `DICOM file with ${frames} frames in ${fragments.length} ` +
      `fragments and no offset table: cannot tell the frames apart`,
  );
}

/** dicom-parser throws strings, Errors, or `{ exception, dataSet }` objects. */
function describeParserError(error: unknown): string {
  const inner =
    error !== null && typeof error === 'object' && 'exception' in error
      ? (error as { exception: unknown }).exception
      : error;
  const message = inner instanceof Error ? inner.message : typeof inner === 'string' ? inner : JSON.stringify(inner);
  const text = message.replace(/dicomParser[.:]?\w*:\s*/g, '').slice(0, 200) || 'unreadable content';
  if (/buffer over(read|run)|end of buffer|eof|beyond/i.test(text)) return `truncated DICOM file (${text})`;
  // dicom-parser's bounds checks name its own parameters: say what they mean for the file.
  if (/parameter '(position|maxPosition|length)'/i.test(text))
    return `truncated DICOM file: an element runs past the end of the data (${text})`;
  return text;
}
