/**
 * What a file is: the one place that decides it. The bytes decide, the extension does not.
 *
 * Order of the checks ({@link sniffFormat}), first match wins:
 * 1. **DICOM Part 10**: `DICM` at byte 128, whatever the 128-byte preamble holds. Scanners and
 *    toolkits often fill the preamble with a TIFF header (dual-personality files, and many
 *    ordinary ones such as pydicom's test files), so this check comes before TIFF's.
 * 2. **TIFF / BigTIFF**: `II*\0`, `MM\0*` (classic) or `II+\0`, `MM\0+` (BigTIFF) at byte 0.
 * 3. **PNG, JPEG, WebP**: their signatures at byte 0 (decoded by sharp).
 * 4. **NIfTI-1 / NIfTI-2**: `sizeof_hdr` 348 or 540 (either byte order) and the magic (`n+1`,
 *    `ni1`, `n+2`, `ni2`) where the version puts it; gzipped (`.nii.gz`) when the bytes are a gzip
 *    stream whose first kilobytes inflate to such a header.
 * 5. **DICOM data set without preamble** (no `DICM`): the first elements parse as a data set —
 *    even groups in ascending order, lengths inside the file — in implicit VR little endian,
 *    explicit VR little endian or explicit VR big endian; which one is returned with it.
 * 6. Nothing recognised: a file named `.dcm` (or `.dicom`, `.ima`) is still read as an implicit
 *    VR little endian data set, so that its error is a DICOM one; any other file is `unknown`,
 *    and the format its extension names is only used to word the error.
 *
 * The extension only picks which files an import looks at ({@link isImageFileName}) and breaks
 * the tie in step 6. A PNG named `.dcm`, a DICOM named `.tif` and a TIFF named `.png` are each
 * read as what their bytes say.
 */
import path from 'node:path';
import { constants, gunzipSync } from 'node:zlib';

/**
 * Image formats the importer decodes. TIFF covers GeoTIFF, OME-TIFF, BigTIFF and tiled huge
 * images; the content decides the reader, the extension only which files are looked at. An
 * OME-Zarr image is a folder, found by its attributes (`ome-zarr.ts`), not by a file name.
 */
export const SUPPORTED_FORMATS: readonly string[] = [
  'png',
  'jpeg',
  'webp',
  'tiff',
  'geotiff',
  'ome-tiff',
  'dicom',
  'nifti',
  'ome-zarr',
  'slide',
];

/** File extensions (lower case, with the dot) and the format each one names. */
export const EXTENSION_FORMATS: Readonly<Record<string, string>> = {
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.webp': 'webp',
  '.tif': 'tiff',
  '.tiff': 'tiff',
  '.btf': 'tiff',
  '.tf8': 'tiff',
  '.svs': 'tiff', // Aperio whole-slide images are TIFFs
  '.dcm': 'dicom',
  '.dicom': 'dicom',
  '.ima': 'dicom',
  '.nii': 'nifti',
  '.nii.gz': 'nifti',
};

/** True when a file name has an extension the importer reads, whatever its case. */
export function isImageFileName(name: string): boolean {
  return formatOfFileName(name) !== null;
}

/** The format a file name claims by its extension (`photo.JPG` → `jpeg`), or null. */
export function formatOfFileName(name: string): string | null {
  const lower = name.toLowerCase();
  // The one double extension: `.gz` alone names no format.
  if (lower.endsWith('.nii.gz')) return 'nifti';
  return EXTENSION_FORMATS[path.extname(lower)] ?? null;
}

/** Bytes {@link sniffFormat} needs at most: the preamble, `DICM`, and a few data set elements. */
export const SNIFF_BYTES = 4096;

/** Transfer syntax UIDs of the three uncompressed encodings a bare data set can have. */
export const IMPLICIT_LITTLE = '1.2.840.10008.1.2';
export const EXPLICIT_LITTLE = '1.2.840.10008.1.2.1';
export const EXPLICIT_BIG = '1.2.840.10008.1.2.2';

/** What the bytes of a file are. */
export type Sniffed =
  | { format: 'dicom'; part10: true }
  /** A data set with no preamble; `transferSyntax` is the encoding its first elements parse in. */
  | { format: 'dicom'; part10: false; transferSyntax: string; guessed: boolean }
  | { format: 'tiff' | 'png' | 'jpeg' | 'webp' }
  /** A NIfTI-1 or NIfTI-2 header (`pair`: a .hdr whose voxels are in a .img), gzipped or not. */
  | { format: 'nifti'; version: 1 | 2; gzip: boolean; pair: boolean }
  /** Not recognised; `claimed` is the format the extension names (for the error), or null. */
  | { format: 'unknown'; claimed: string | null };

/**
 * Decides what a file is from its first bytes (at least {@link SNIFF_BYTES} of them when the file
 * is that long), in the order documented at the top of this module. `fileName` is only a
 * tie-breaker for files nothing recognises.
 */
export function sniffFormat(head: Uint8Array, fileName = ''): Sniffed {
  if (isDicomPart10(head)) return { format: 'dicom', part10: true };
  if (isTiffBytes(head)) return { format: 'tiff' };
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { format: 'png' };
  if (startsWith(head, [0xff, 0xd8, 0xff])) return { format: 'jpeg' };
  if (startsWith(head, [0x52, 0x49, 0x46, 0x46]) && startsWith(head, [0x57, 0x45, 0x42, 0x50], 8))
    return { format: 'webp' };
  // Only the head is inflated: callers may pass a whole file, and a header is in its first bytes.
  const nifti =
    niftiHeader(head) ??
    (startsWith(head, [0x1f, 0x8b, 0x08]) ? niftiHeader(inflateHead(head.subarray(0, SNIFF_BYTES)), true) : null);
  if (nifti) return nifti;
  const transferSyntax = dataSetEncoding(head);
  if (transferSyntax) return { format: 'dicom', part10: false, transferSyntax, guessed: false };
  const claimed = formatOfFileName(fileName);
  if (claimed === 'dicom') return { format: 'dicom', part10: false, transferSyntax: IMPLICIT_LITTLE, guessed: true };
  return { format: 'unknown', claimed };
}

/** True for bytes of a DICOM Part 10 file: `DICM` after the 128-byte preamble. */
export function isDicomPart10(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && startsWith(bytes, [0x44, 0x49, 0x43, 0x4d], 128);
}

/** True for bytes that start like a TIFF or BigTIFF. */
export function isTiffBytes(bytes: Uint8Array): boolean {
  const little = bytes[0] === 0x49 && bytes[1] === 0x49 && (bytes[2] === 42 || bytes[2] === 43) && bytes[3] === 0;
  const big = bytes[0] === 0x4d && bytes[1] === 0x4d && bytes[2] === 0 && (bytes[3] === 42 || bytes[3] === 43);
  return bytes.length >= 8 && (little || big);
}

/**
 * The format to name when a file handed to sharp fails: what its bytes are, else what its
 * extension claims (`not a valid PNG: ...` for a broken `.png`), else `image`.
 */
export function namedFormat(head: Uint8Array, fileName: string): string {
  const sniffed = sniffFormat(head, fileName);
  return sniffed.format === 'unknown' ? (sniffed.claimed ?? 'image') : sniffed.format;
}

/** The NIfTI version and kind whose header the bytes start with, or null. */
function niftiHeader(bytes: Uint8Array, gzip = false): Extract<Sniffed, { format: 'nifti' }> | null {
  if (bytes.length < 348) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = view.getInt32(0, true);
  const swapped = view.getInt32(0, false);
  const magic = (at: number) =>
    String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!) + (bytes[at + 3] === 0 ? '' : '?');
  if (size === 348 || swapped === 348) {
    const found = magic(344);
    if (found === 'n+1' || found === 'ni1') return { format: 'nifti', version: 1, gzip, pair: found === 'ni1' };
  }
  if ((size === 540 || swapped === 540) && bytes.length >= 12) {
    const found = magic(4);
    if (found === 'n+2' || found === 'ni2') return { format: 'nifti', version: 2, gzip, pair: found === 'ni2' };
  }
  return null;
}

/** As much of a gzip stream as the bytes given inflate to (empty when they do not). */
function inflateHead(bytes: Uint8Array): Uint8Array {
  try {
    return new Uint8Array(gunzipSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH }));
  } catch {
    return new Uint8Array(0); // not gzip after all: nothing recognised, as for any unknown bytes
  }
}

function startsWith(bytes: Uint8Array, marker: readonly number[], at = 0): boolean {
  return bytes.length >= at + marker.length && marker.every((byte, index) => bytes[at + index] === byte);
}

// Value representations of PS3.5 table 6.2-1; the second set has a 4-byte length after 2 reserved bytes.
const VALUE_REPRESENTATIONS = new Set(
  'AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV'.split(' '),
);
const LONG_VALUE_REPRESENTATIONS = new Set('OB OD OF OL OV OW SQ SV UC UN UR UT UV'.split(' '));

/** Elements checked at most; explicit VR needs 2 to agree (their VR letters too), implicit 3. */
const ELEMENTS_TO_CHECK = 4;

/**
 * The transfer syntax in which the bytes parse as the start of a DICOM data set (no preamble,
 * no meta header), or null. Explicit encodings are tried first: their VR letters make them the
 * stronger evidence.
 */
export function dataSetEncoding(bytes: Uint8Array, offset = 0): string | null {
  if (elementsParsed(bytes, offset, true, true) >= 2) return EXPLICIT_LITTLE;
  if (elementsParsed(bytes, offset, true, false) >= 2) return EXPLICIT_BIG;
  if (elementsParsed(bytes, offset, false, true) >= 3) return IMPLICIT_LITTLE;
  return null;
}

/** How many elements in a row parse in this encoding, up to {@link ELEMENTS_TO_CHECK}. */
function elementsParsed(bytes: Uint8Array, offset: number, explicit: boolean, littleEndian: boolean): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let position = offset;
  let previous = -1;
  let parsed = 0;
  while (parsed < ELEMENTS_TO_CHECK && position + 8 <= bytes.length) {
    const group = view.getUint16(position, littleEndian);
    const element = view.getUint16(position + 2, littleEndian);
    const tag = group * 0x10000 + element;
    // A data set starts with an even, low group (meta, identification, patient) and ascends;
    // odd (private) groups have no elements below 0x0010 but their group length.
    if (parsed === 0 && (group % 2 !== 0 || group < 0x0002 || group > 0x0028)) return 0;
    if (tag <= previous || (group % 2 !== 0 && element !== 0 && element < 0x0010)) return parsed;
    previous = tag;
    let length: number;
    if (explicit) {
      const vr = String.fromCharCode(bytes[position + 4]!, bytes[position + 5]!);
      if (!VALUE_REPRESENTATIONS.has(vr)) return parsed;
      const long = LONG_VALUE_REPRESENTATIONS.has(vr);
      if (long && position + 12 > bytes.length) return parsed + 1;
      length = long ? view.getUint32(position + 8, littleEndian) : view.getUint16(position + 6, littleEndian);
      position += long ? 12 : 8;
    } else {
      length = view.getUint32(position + 4, littleEndian);
      position += 8;
    }
    parsed++;
    // A sequence of undefined length holds items next, not elements: what parsed so far counts.
    if (length === 0xffffffff) return parsed;
    // Values have even lengths; beyond the bytes given, the file (or the head read) has ended.
    if (length % 2 !== 0) return parsed - 1;
    position += length;
  }
  return parsed;
}
