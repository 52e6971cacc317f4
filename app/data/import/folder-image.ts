/**
 * An image that is a folder (OME-Zarr): its size, latest change and content hash, standing in for
 * a file's, so that a folder image is skipped when unchanged (listed, not read) and found again as
 * a duplicate.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** What the import stores of a folder image in place of a file's size and time. */
export interface FolderImage {
  /** Bytes of all its files. */
  size: number;
  /** Latest modification time of any of its files or folders. */
  mtimeMs: number;
  /** Its files, by path relative to the folder, sorted. */
  files: { relative: string; size: number }[];
}

/** Folders whose files add up to more than this are hashed by their names, sizes and metadata. */
export const HASHED_FOLDER_BYTES = 256 * 1024 * 1024;

/** Files hashed whole in a folder larger than {@link HASHED_FOLDER_BYTES}: Zarr metadata. */
const METADATA = new Set(['.zattrs', '.zarray', '.zgroup', 'zarr.json', '.zmetadata']);

/** Lists a folder image's files (no bytes read): its size and time decide whether it changed. */
export function listFolderImage(dir: string): FolderImage {
  const files: { relative: string; size: number }[] = [];
  let mtimeMs = fs.statSync(dir).mtimeMs;
  const visit = (folder: string, prefix: string): void => {
    const entries = fs
      .readdirSync(folder, { withFileTypes: true })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = path.join(folder, entry.name);
      const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
      const stats = fs.statSync(full);
      mtimeMs = Math.max(mtimeMs, stats.mtimeMs);
      if (stats.isDirectory()) visit(full, relative);
      else if (stats.isFile()) files.push({ relative, size: stats.size });
    }
  };
  visit(dir, '');
  return { size: files.reduce((sum, file) => sum + file.size, 0), mtimeMs, files };
}

/**
 * The content hash of a folder image: sha256 of every file's relative path, size and bytes; for a
 * folder over {@link HASHED_FOLDER_BYTES}, of every path and size and the metadata files' bytes
 * only (chunks of equal size and different values then hash alike: practical, not proof).
 */
export function hashFolderImage(dir: string, listing: FolderImage): string {
  const whole = listing.size <= HASHED_FOLDER_BYTES;
  const hash = createHash('sha256').update(whole ? 'folder;' : `large folder ${listing.size};`);
  for (const file of listing.files) {
    hash.update(`${file.relative}:${file.size};`);
    if (whole || METADATA.has(path.basename(file.relative)))
      hash.update(fs.readFileSync(path.join(dir, file.relative)));
  }
  return hash.digest('hex');
}
