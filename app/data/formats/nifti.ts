/**
 * NIfTI-1 and NIfTI-2 volumes (`.nii`, `.nii.gz`): the header through nifti-reader-js, the voxels
 * here. Every volume (the 4th dimension of a series) is cut into 2-D slices along its third voxel
 * axis (k); each slice is one sample of the file, named `slice 12 of 40` (`· volume 2 of 5` in a
 * series) and carrying where it sits ({@link VolumeMeta}: slice index and count, voxel spacing in
 * mm, the voxel-to-world affine and its axis codes).
 *
 * Values are in the file's real units: `scl_slope`/`scl_inter` applied (a slope of 0 or NaN means
 * unscaled, as the standard says). Slices are kept as uint8, int16 (int8 too) or uint16 when that
 * is exact, else float32 (int32, uint32, int64, uint64, float64 and every scaled type), and the
 * conversion is named in `meta.converted`. RGB24 and RGBA32 are 3 and 4 bands of uint8.
 *
 * The affine is chosen as nibabel does: the sform when `sform_code > 0`, else the qform when
 * `qform_code > 0`, else the voxel spacing alone. Rows of a slice run from the highest j to the
 * lowest, so that +j points up as radiology viewers show it.
 */
import { constants, gunzipSync, type ZlibOptions } from 'node:zlib';
import { isNIFTI1, isNIFTI2, readHeader, type NIFTI1, type NIFTI2 } from 'nifti-reader-js';
import type { ImageMeta, VolumeMeta } from '../../contract';
import { DecodeError } from './decode';
import { axisCodes, chooseAffine, type NiftiTransform } from './nifti-affine';
import { allocateValues, type Raster, type SampleType } from './raster';

/** How each NIfTI datatype code is stored: its name, bytes per voxel, bands, and reader. */
interface Datatype {
  name: string;
  bytes: number;
  bands: number;
  read: (view: DataView, offset: number, littleEndian: boolean) => number;
  /** The sample type it is kept in when unscaled. */
  kept: SampleType;
}

/** The datatypes read, by code (NIfTI-1 `nifti1.h`). */
export const NIFTI_DATATYPES: Readonly<Record<number, Datatype>> = {
  2: { name: 'uint8', bytes: 1, bands: 1, read: (view, offset) => view.getUint8(offset), kept: 'uint8' },
  4: {
    name: 'int16',
    bytes: 2,
    bands: 1,
    read: (view, offset, little) => view.getInt16(offset, little),
    kept: 'int16',
  },
  8: {
    name: 'int32',
    bytes: 4,
    bands: 1,
    read: (view, offset, little) => view.getInt32(offset, little),
    kept: 'float32',
  },
  16: {
    name: 'float32',
    bytes: 4,
    bands: 1,
    read: (view, offset, little) => view.getFloat32(offset, little),
    kept: 'float32',
  },
  64: {
    name: 'float64',
    bytes: 8,
    bands: 1,
    read: (view, offset, little) => view.getFloat64(offset, little),
    kept: 'float32',
  },
  128: { name: 'RGB24', bytes: 3, bands: 3, read: (view, offset) => view.getUint8(offset), kept: 'uint8' },
  256: { name: 'int8', bytes: 1, bands: 1, read: (view, offset) => view.getInt8(offset), kept: 'int16' },
  512: {
    name: 'uint16',
    bytes: 2,
    bands: 1,
    read: (view, offset, little) => view.getUint16(offset, little),
    kept: 'uint16',
  },
  768: {
    name: 'uint32',
    bytes: 4,
    bands: 1,
    read: (view, offset, little) => view.getUint32(offset, little),
    kept: 'float32',
  },
  1024: {
    name: 'int64',
    bytes: 8,
    bands: 1,
    read: (view, offset, little) => Number(view.getBigInt64(offset, little)),
    kept: 'float32',
  },
  1280: {
    name: 'uint64',
    bytes: 8,
    bands: 1,
    read: (view, offset, little) => Number(view.getBigUint64(offset, little)),
    kept: 'float32',
  },
  2304: { name: 'RGBA32', bytes: 4, bands: 4, read: (view, offset) => view.getUint8(offset), kept: 'uint8' },
};

/** Datatypes named in the standard that are not read, for the error. */
const UNREAD_DATATYPES: Readonly<Record<number, string>> = {
  1: 'binary (1 bit)',
  32: 'complex64',
  1536: 'float128',
  1792: 'complex128',
  2048: 'complex256',
};

/** Largest decompressed file read (Node's Buffer limit is about this). */
export const MAX_NIFTI_BYTES = 2 ** 31 - 1;

/** Millimetres per unit of `xyzt_units & 7` (unknown is taken as mm, as most tools do). */
const SPATIAL_UNIT_MM: Readonly<Record<number, number>> = { 0: 1, 1: 1000, 2: 1, 3: 0.001 };

/** A NIfTI file's header and voxels, decompressed. */
export interface NiftiVolume {
  version: 1 | 2;
  header: NIFTI1 | NIFTI2;
  datatype: Datatype;
  /** Voxels along i, j, k, and volumes (t). */
  size: [number, number, number, number];
  slope: number;
  intercept: number;
  sampleType: SampleType;
  /** Voxel spacing (i, j, k) in mm. */
  spacing: [number, number, number];
  affine: number[][];
  /** Which header fields the affine comes from. */
  transform: NiftiTransform;
  /** Voxels from `vox_offset` on: in memory, or read from a file by offsets. */
  voxels: VoxelBytes;
  littleEndian: boolean;
}

/**
 * A volume's voxel bytes (from `vox_offset` on), read by ranges: a view of bytes in memory, or a
 * read of a file at an offset (never more than asked). A view is used before the next is asked for.
 */
export interface VoxelBytes {
  /** Bytes of voxels. */
  length: number;
  /** Bytes `start` to `start + length` of the voxels. */
  view(start: number, length: number): DataView;
  /** Lets go of a file handle (nothing for bytes in memory). */
  close(): void;
}

/** Voxel bytes held in memory. */
export function memoryVoxels(bytes: Uint8Array, offset: number, length: number): VoxelBytes {
  return {
    length,
    view: (start, count) => new DataView(bytes.buffer, bytes.byteOffset + offset + start, count),
    close: () => {},
  };
}

/** Bytes of a NIfTI file's start parsed for its header (NIfTI-2 and its sform fit well within). */
export const NIFTI_HEAD_BYTES = 64 * 1024;

/** True for bytes that start with a gzip member. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0x1f && bytes[1] === 0x8b && bytes[2] === 8;
}

/** Bytes a .nii.gz may inflate to beyond what its header declares (extensions, padding). */
const INFLATE_SLACK = 1024 * 1024;

/**
 * Gunzips a NIfTI file, never to more than its header declares (voxels from `vox_offset`, plus
 * {@link INFLATE_SLACK}): a stream inflating beyond that is refused as a decompression bomb, and a
 * header declaring more than {@link MAX_NIFTI_BYTES} is refused before inflating. A `.nii.gz` whose
 * stream is broken is named as such.
 */
export function gunzipNifti(bytes: Uint8Array): Uint8Array {
  const declared = declaredBytes(inflate(bytes.subarray(0, 4096), { finishFlush: constants.Z_SYNC_FLUSH }));
  if (declared !== null && declared > MAX_NIFTI_BYTES)
    throw new DecodeError(
      `NIfTI file too large: its header declares ${declared} bytes of ` +
        `voxels and header, more than the ${MAX_NIFTI_BYTES} read at most`,
    );
  const limit = declared === null ? MAX_NIFTI_BYTES : Math.min(MAX_NIFTI_BYTES, declared + INFLATE_SLACK);
  try {
    return inflate(bytes, { maxOutputLength: limit });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
      throw new DecodeError(
        `.nii.gz inflates to more than its header declares ` +
          `(${declared ?? 'unknown'} bytes): refused as a possible decompression bomb`,
      );
    }
    throw new DecodeError(`corrupt or truncated gzip stream in a .nii.gz file (${(error as Error).message})`);
  }
}

function inflate(bytes: Uint8Array, options: ZlibOptions): Uint8Array {
  const out = gunzipSync(bytes, options);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** `vox_offset` + voxel bytes a NIfTI header declares, or null when the head does not parse. */
function declaredBytes(head: Uint8Array): number | null {
  try {
    const buffer = head.buffer.slice(head.byteOffset, head.byteOffset + head.byteLength) as ArrayBuffer;
    if (!isNIFTI1(buffer, true) && !isNIFTI2(buffer, true)) return null;
    const header = readHeader(buffer, true);
    const rank = header.dims[0]!;
    if (!(rank >= 1 && rank <= 7)) return null;
    const voxels = header.dims.slice(1, rank + 1).reduce((product, size) => product * Math.max(1, size), 1);
    return Number(header.vox_offset) + voxels * Math.max(1, header.numBitsPerVoxel / 8);
  } catch {
    return null; // a head the header reader cannot parse: the full read says what is wrong
  }
}

/** Parses a NIfTI-1/2 file (gzipped or not); throws {@link DecodeError} naming what is wrong. */
export function readNifti(fileBytes: Uint8Array): NiftiVolume {
  const bytes = isGzip(fileBytes) ? gunzipNifti(fileBytes) : fileBytes;
  return parseNifti(bytes.subarray(0, NIFTI_HEAD_BYTES), bytes.length, (offset, needed) =>
    memoryVoxels(bytes, offset, needed),
  );
}

/**
 * Parses a NIfTI-1/2 header from the first bytes of a file (`head`, at least the header) of
 * `fileLength` bytes (uncompressed); `voxels` gives its voxel bytes once they are known to be
 * there. Throws {@link DecodeError} naming what is wrong.
 */
export function parseNifti(
  head: Uint8Array,
  fileLength: number,
  voxels: (offset: number, needed: number) => VoxelBytes,
): NiftiVolume {
  const bytes = head;
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const version = isNIFTI1(buffer, true) ? 1 : isNIFTI2(buffer, true) ? 2 : null;
  if (version === null)
    throw new DecodeError(
      `not a NIfTI file: no NIfTI-1 (348) or NIfTI-2 (540) header with its magic (${fileLength} bytes)`,
    );
  const header = readHeader(buffer, true);
  if (header.magic.startsWith('ni')) {
    throw new DecodeError(
      `NIfTI header of a .hdr/.img pair (magic "${header.magic}"): its voxels are in ` +
        `the .img file, which is not read; save it as one .nii (nibabel, fslchfiletype)`,
    );
  }
  const datatype = NIFTI_DATATYPES[header.datatypeCode];
  if (!datatype) {
    const known = UNREAD_DATATYPES[header.datatypeCode];
    throw new DecodeError(
      `unsupported NIfTI datatype ${header.datatypeCode}${known ? ` (${known})` : ''}: read are ${Object.values(
        NIFTI_DATATYPES,
      )
        .map((type) => type.name)
        .join(', ')}`,
    );
  }
  const size = volumeSize(header.dims);
  const voxelCount = size[0] * size[1] * size[2] * size[3];
  const offset = Number(header.vox_offset);
  const minimum = version === 1 ? 352 : 544;
  if (!(offset >= minimum))
    throw new DecodeError(
      `invalid NIfTI vox_offset ${offset} (a single-file NIfTI-${version} has its voxels at ${minimum} or later)`,
    );
  const needed = voxelCount * datatype.bytes;
  if (offset + needed > fileLength) {
    throw new DecodeError(
      `truncated NIfTI file: ${size.join('×')} voxels of ${datatype.name} need ${needed}` +
        ` bytes from offset ${offset}, the file holds ${Math.max(0, fileLength - offset)}`,
    );
  }
  const rgb = datatype.bands > 1;
  const scaled = Number.isFinite(header.scl_slope) && header.scl_slope !== 0 && !rgb;
  const slope = scaled ? header.scl_slope : 1;
  const intercept = scaled && Number.isFinite(header.scl_inter) ? header.scl_inter : 0;
  const unit = SPATIAL_UNIT_MM[header.xyzt_units & 7] ?? 1;
  const spacing = [1, 2, 3].map((axis) => Math.abs(header.pixDims[axis] || 1) * unit) as [number, number, number];
  const { affine, transform } = chooseAffine(header, bytes, version, spacing, unit);
  return {
    version,
    header,
    datatype,
    size,
    slope,
    intercept,
    sampleType: slope === 1 && intercept === 0 ? datatype.kept : 'float32',
    spacing,
    affine,
    transform,
    voxels: voxels(offset, needed),
    littleEndian: header.littleEndian,
  };
}

/** i, j, k and t sizes from `dim`; dimensions 5–7 (vectors, tensors) are refused. */
function volumeSize(dims: number[]): [number, number, number, number] {
  const rank = dims[0]!;
  if (!(rank >= 1 && rank <= 7))
    throw new DecodeError(`invalid NIfTI dim[0] ${rank} (the number of dimensions, 1 to 7)`);
  const size = [1, 2, 3, 4].map((axis) => (axis <= rank ? dims[axis]! : 1));
  if (size.some((value) => !(Number.isInteger(value) && value >= 1)))
    throw new DecodeError(`invalid NIfTI dimensions ${dims.slice(1, rank + 1).join('×')} (each must be at least 1)`);
  const extra = dims.slice(5, rank + 1).filter((value) => value > 1);
  if (extra.length > 0)
    throw new DecodeError(
      `unsupported ${rank}-D NIfTI (${dims.slice(1, rank + 1).join('×')}): ` +
        `dimensions after the 4th (vectors, tensors) are not read`,
    );
  if (size[0]! * size[1]! > 2 ** 28)
    throw new DecodeError(`NIfTI slices of ${size[0]}×${size[1]} are too large to read`);
  return size as [number, number, number, number];
}

/** Samples of a volume file: every k slice of every volume, volume by volume. */
export function niftiSampleCount(volume: NiftiVolume): number {
  return volume.size[2] * volume.size[3];
}

/** Metadata of sample `index` (slice k of volume t, index = t·slices + k). */
export function niftiMeta(volume: NiftiVolume, index: number): ImageMeta {
  const [, , slices, volumes] = volume.size;
  const slice = index % slices;
  const time = Math.floor(index / slices);
  const placement: VolumeMeta = {
    volume: time,
    volumes,
    slice,
    slices,
    axis: 'k',
    spacing: volume.spacing,
    affine: volume.affine,
    orientation: axisCodes(volume.affine),
    transform: volume.transform,
  };
  const meta: ImageMeta = {
    sampleType: volume.sampleType,
    frames: slices * volumes,
    sample: `slice ${slice + 1} of ${slices}${volumes > 1 ? ` · volume ${time + 1} of ${volumes}` : ''}`,
    pixelSpacing: [volume.spacing[1], volume.spacing[0]],
    volume: placement,
  };
  const { name, kept } = volume.datatype;
  if (volume.slope !== 1 || volume.intercept !== 0) {
    meta.rescale = { slope: volume.slope, intercept: volume.intercept };
    meta.converted = `NIfTI ${name} × scl_slope ${volume.slope} + scl_inter ${volume.intercept}, kept as float32`;
  } else if (kept === 'float32' && name !== 'float32') {
    meta.converted = `NIfTI ${name} converted to float32${name === 'float64' ? '' : ' (exact up to ±16,777,216)'}`;
  } else if (name === 'int8') {
    meta.converted = 'NIfTI int8 kept as int16';
  }
  return meta;
}

/** Reads sample `index` (slice k of volume t) in real units, rows from high j to low j. */
export function readNiftiSlice(volume: NiftiVolume, index: number): Raster {
  const [width, height, slices, volumes] = volume.size;
  if (!(Number.isInteger(index) && index >= 0 && index < slices * volumes))
    throw new DecodeError(`no slice ${index} in this NIfTI file (it has ${slices * volumes})`);
  const { datatype, slope, intercept, littleEndian } = volume;
  const { bands, bytes } = datatype;
  const values = allocateValues(volume.sampleType, width * height * bands);
  const voxels = volume.voxels.view(index * width * height * bytes, width * height * bytes);
  const start = 0;
  const componentBytes = bands > 1 ? 1 : bytes;
  for (let j = 0; j < height; j++) {
    const row = (height - 1 - j) * width * bands;
    for (let i = 0; i < width; i++) {
      const offset = start + (j * width + i) * bytes;
      for (let band = 0; band < bands; band++) {
        values[row + i * bands + band] =
          datatype.read(voxels, offset + band * componentBytes, littleEndian) * slope + intercept;
      }
    }
  }
  return { width, height, bands, sampleType: volume.sampleType, values };
}
