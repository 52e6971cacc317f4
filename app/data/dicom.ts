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
import type { DisplayWindow, ImageMeta } from '../contract';
import { DecodeError } from './decode';
import { decodeFrame, type FrameCodec } from './dicom-codecs';
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

/** True for bytes of a DICOM Part 10 file ("DICM" after the 128-byte preamble). */
export function isDicomBytes(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

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
}

/** Parses a DICOM file's header; throws {@link DecodeError} naming what is missing or unsupported. */
export function readDicomLayout(bytes: Uint8Array): DicomLayout {
  let dataSet: DataSet;
  try {
    dataSet = isDicomBytes(bytes)
      ? dicomParser.parseDicom(bytes)
      : // A bare data set (no preamble) is read as the default syntax, implicit little endian.
        dicomParser.parseDicom(bytes, { TransferSyntaxUID: '1.2.840.10008.1.2' });
  } catch (error) {
    const reason = describeParserError(error);
    throw new DecodeError(reason.startsWith('truncated') ? reason : `not a valid DICOM file: ${reason}`);
  }
  const transferSyntax = (dataSet.string('x00020010') ?? '1.2.840.10008.1.2').replace(/\0/g, '').trim();
  const syntax = TRANSFER_SYNTAXES[transferSyntax];
  if (!syntax) {
    const name = KNOWN_UNSUPPORTED[transferSyntax];
    throw new DecodeError(`unsupported DICOM transfer syntax ${transferSyntax}${name ? ` (${name})` : ''}: no decoder for it is available`);
  }
  const pixelData = dataSet.elements.x7fe00010 ?? dataSet.elements.x7fe00008 ?? dataSet.elements.x7fe00009;
  if (!pixelData && !isDicomBytes(bytes)) throw new DecodeError("not a valid DICOM file: no 'DICM' marker and no image in it");
  if (!pixelData) throw new DecodeError('DICOM file without pixel data (a report, structured report or other non-image object)');
  const rows = dataSet.uint16('x00280010') ?? 0;
  const columns = dataSet.uint16('x00280011') ?? 0;
  if (!(rows > 0 && columns > 0)) throw new DecodeError(`DICOM file with an invalid image size (Rows ${rows}, Columns ${columns})`);
  const bitsAllocated = dataSet.uint16('x00280100') ?? 0;
  if (bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new DecodeError(`unsupported DICOM pixels: Bits Allocated ${bitsAllocated} (8 and 16 are supported)`);
  }
  const bitsStored = Math.min(dataSet.uint16('x00280101') ?? bitsAllocated, bitsAllocated);
  const samplesPerPixel = dataSet.uint16('x00280002') ?? 1;
  const photometric = (dataSet.string('x00280004') ?? (samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2')).trim();
  if (samplesPerPixel !== 1 && samplesPerPixel !== 3) throw new DecodeError(`unsupported DICOM pixels: ${samplesPerPixel} samples per pixel`);
  if (photometric === 'PALETTE COLOR') throw new DecodeError('unsupported DICOM pixels: PALETTE COLOR (palette lookup is not supported)');
  const frames = dataSet.intString('x00280008') ?? 1;
  if (!(frames >= 1 && frames <= MAX_FRAMES)) throw new DecodeError(`DICOM file with an invalid Number of Frames (${frames})`);
  const bytesPerFrame = rows * columns * samplesPerPixel * (bitsAllocated / 8);
  if (syntax.codec === 'native' && !pixelData.encapsulatedPixelData && pixelData.dataOffset + bytesPerFrame * frames > dataSet.byteArray.length) {
    throw new DecodeError(
      `truncated DICOM file: ${frames} frame(s) of ${columns}×${rows} need ${bytesPerFrame * frames} bytes of pixel data, the file holds ${Math.max(0, dataSet.byteArray.length - pixelData.dataOffset)}`,
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
    pixelSpacing: readPair(dataSet, 'x00280030'),
  };
}

function readWindows(dataSet: DataSet): DisplayWindow[] {
  const count = Math.min(dataSet.numStringValues('x00281050') ?? 0, dataSet.numStringValues('x00281051') ?? 0);
  const windows: DisplayWindow[] = [];
  for (let index = 0; index < count; index++) {
    const center = dataSet.floatString('x00281050', index);
    const width = dataSet.floatString('x00281051', index);
    if (center !== undefined && width !== undefined && Number.isFinite(center) && width >= 1) windows.push({ center, width });
  }
  return windows;
}

function readPair(dataSet: DataSet, tag: string): [number, number] | null {
  const first = dataSet.floatString(tag, 0);
  const second = dataSet.floatString(tag, 1);
  return first !== undefined && second !== undefined && Number.isFinite(first) && Number.isFinite(second) ? [first, second] : null;
}

/**
 * The type frames are kept in, after rescaling: the stored type when the rescale is the
 * identity, int16 when an integer rescale keeps every possible value in int16, else float32.
 */
export function dicomSampleType(layout: DicomLayout): SampleType {
  const { slope, intercept, bitsStored, signed } = layout;
  const low = signed ? -(2 ** (bitsStored - 1)) : 0;
  const high = signed ? 2 ** (bitsStored - 1) - 1 : 2 ** bitsStored - 1;
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
  if (layout.windows.length > 0) meta.windows = layout.windows;
  if (layout.slope !== 1 || layout.intercept !== 0) meta.rescale = { slope: layout.slope, intercept: layout.intercept };
  if (layout.modality) meta.modality = layout.modality;
  if (layout.pixelSpacing) meta.pixelSpacing = layout.pixelSpacing;
  return meta;
}

/** Reads one frame in modality units, interleaved; throws {@link DecodeError} naming the problem. */
export async function readDicomFrame(layout: DicomLayout, frame: number): Promise<Raster> {
  if (!(frame >= 0 && frame < layout.frames)) throw new DecodeError(`no frame ${frame} in this DICOM file (it has ${layout.frames})`);
  const { rows, columns, samplesPerPixel, bitsAllocated } = layout;
  const bytesPerSample = bitsAllocated / 8;
  const count = rows * columns * samplesPerPixel;
  let stored: Uint8Array;
  let littleEndian = layout.transferSyntax !== '1.2.840.10008.1.2.2';
  try {
    if (layout.codec === 'native') {
      const start = layout.pixelData.dataOffset + frame * count * bytesPerSample;
      stored = layout.dataSet.byteArray.subarray(start, start + count * bytesPerSample);
    } else {
      const encoded = encapsulatedFrame(layout, frame);
      stored = (await decodeFrame(layout.codec, encoded, { rows, columns, samplesPerPixel, bitsAllocated })).bytes;
      littleEndian = true;
    }
  } catch (error) {
    if (error instanceof DecodeError) throw error;
    const reason = describeParserError(error);
    // The WASM codecs throw bare numbers (pointers to C++ exceptions): say which decoder refused.
    const detail = /^\d+$/.test(reason) ? `the ${TRANSFER_SYNTAXES[layout.transferSyntax]!.name} decoder rejected the compressed data` : reason;
    throw new DecodeError(`corrupt DICOM pixel data in frame ${frame + 1}: ${detail}`);
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
    let raw = bytesPerSample === 1 ? stored[source]! : view.getUint16(source * 2, littleEndian);
    raw &= mask; // bits above Bits Stored may hold overlays
    if (signed && raw >= signBit) raw -= 2 * signBit;
    values[index] = raw * slope + intercept;
  }
  return { width: columns, height: rows, bands: samplesPerPixel, sampleType, values };
}

function encapsulatedFrame(layout: DicomLayout, frame: number): Uint8Array {
  const { dataSet, pixelData, frames } = layout;
  const fragments = pixelData.fragments ?? [];
  if (fragments.length === 0) throw new DecodeError(`corrupt DICOM pixel data: no compressed fragments`);
  if ((pixelData.basicOffsetTable?.length ?? 0) > 0) return dicomParser.readEncapsulatedImageFrame(dataSet, pixelData, frame) as Uint8Array;
  if (frames === 1) return dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, pixelData, 0, fragments.length) as Uint8Array;
  if (fragments.length === frames) return dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, pixelData, frame, 1) as Uint8Array;
  if (layout.codec === 'jpeg-baseline' || layout.codec === 'jpeg-lossless') {
    const table = dicomParser.createJPEGBasicOffsetTable(dataSet, pixelData);
    return dicomParser.readEncapsulatedImageFrame(dataSet, pixelData, frame, table) as Uint8Array;
  }
  throw new DecodeError(`DICOM file with ${frames} frames in ${fragments.length} fragments and no offset table: cannot tell the frames apart`);
}

/** dicom-parser throws strings, Errors, or `{ exception, dataSet }` objects. */
function describeParserError(error: unknown): string {
  const inner = error !== null && typeof error === 'object' && 'exception' in error ? (error as { exception: unknown }).exception : error;
  const message = inner instanceof Error ? inner.message : typeof inner === 'string' ? inner : JSON.stringify(inner);
  const text = message.replace(/dicomParser[.:]?\w*:\s*/g, '').slice(0, 200) || 'unreadable content';
  return /buffer over(read|run)|end of buffer|eof|beyond/i.test(text) ? `truncated DICOM file (${text})` : text;
}
