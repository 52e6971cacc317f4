/** Which files the importer takes: decided by extension, before any byte is read. */
import path from 'node:path';

/**
 * Image formats the importer decodes. TIFF covers GeoTIFF, OME-TIFF, BigTIFF and tiled huge
 * images; the content decides the reader, the extension only which files are looked at.
 */
export const SUPPORTED_FORMATS: readonly string[] = ['png', 'jpeg', 'webp', 'tiff', 'geotiff', 'ome-tiff', 'dicom'];

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
  '.dcm': 'dicom',
  '.dicom': 'dicom',
  '.ima': 'dicom',
};

/** True when a file name has an extension the importer reads, whatever its case. */
export function isImageFileName(name: string): boolean {
  return formatOfFileName(name) !== null;
}

/** The format a file name claims by its extension (`photo.JPG` → `jpeg`), or null. */
export function formatOfFileName(name: string): string | null {
  return EXTENSION_FORMATS[path.extname(name).toLowerCase()] ?? null;
}
