/**
 * Importing one file: stat, skip if unchanged, read, hash, look for a duplicate, decode once,
 * summarize, write the thumbnail. Any failure becomes a reason on the file's row.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { KnownFile, NewImage } from '../../store/images';
import type { ContentClaims } from './content-index';
import { decodedBytes, decodeImage, DecodeError, probeImage } from '../formats/decode';
import { namedFormat, sniffFormat } from '../formats/formats';
import { importSamples } from './import-sample-file';
import type { ByteBudget } from './memory-budget';
import { gzipNiftiBytes } from '../formats/nifti-file';
import { openOmeZarr } from '../formats/ome-zarr';
import { openSampleFile, type FileSource, type SampleFile } from '../formats/sample-files';
import { hashFolderImage, listFolderImage, type FolderImage } from './folder-image';
import { summarizePixels } from './stats';
import { thumbnailPath, writeThumbnail } from './thumbnail';
import type { Candidate } from './walk';

/** Milliseconds spent per stage, summed over files (stages of different files overlap). */
export interface ImportTimings {
  read: number;
  hash: number;
  decode: number;
  stats: number;
  thumbnail: number;
  database: number;
}

/** What one import shares between its files. */
export interface FileContext {
  projectId: number;
  projectDir: string;
  known: ReadonlyMap<string, KnownFile>;
  contents: ContentClaims;
  /** Thumbnail folders already created during this import. */
  createdFolders: Set<string>;
  /** Longest side of thumbnails, in pixels. */
  thumbnailSize: number;
  /** Bounds the decoded pixels held at once. */
  memory: ByteBudget;
  timings?: ImportTimings;
}

/** What happened to one file. */
export type FileOutcome =
  /** Same path, size and time as stored; `error` is the reason it failed then, if it did. */
  | { kind: 'unchanged'; error: string | null }
  /** One row per sample of the file (DICOM frames, OME (z, t) planes); most files have one. */
  | { kind: 'imported'; rows: NewImage[] }
  | { kind: 'duplicate'; row: NewImage; originalPath: string }
  | { kind: 'failed'; row: NewImage; reason: string };

/**
 * Imports the candidate at walk-order `index`; throws only for problems that are not the file's
 * (writing thumbnails).
 */
export async function importFile(candidate: Candidate, index: number, context: FileContext): Promise<FileOutcome> {
  try {
    return await importFileInTurn(candidate, index, context);
  } finally {
    // Whatever happened, later files must not wait for this one's claim.
    context.contents.pass(index);
  }
}

async function importFileInTurn(candidate: Candidate, index: number, context: FileContext): Promise<FileOutcome> {
  const row = emptyRow(candidate, context.projectId);
  const failed = (reason: string): FileOutcome => ({ kind: 'failed', row: { ...row, error: reason }, reason });
  const timings = context.timings;

  if (candidate.problem) return failed(candidate.problem);
  let started = performance.now();
  let source: FileSource | null = null;
  // An OME-Zarr image is a folder: its files' total size, latest time and hash stand for a file's.
  let folderImage: FolderImage | null = null;
  try {
    // Synchronous on purpose: sharp keeps libuv's threadpool busy, and an async read would queue
    // four round trips behind it; one local read costs less (measured: ~0.5 ms CPU per file).
    const stats = fs.statSync(candidate.path);
    if (stats.isDirectory()) folderImage = listFolderImage(candidate.path);
    row.sizeBytes = folderImage ? folderImage.size : stats.size;
    row.mtimeMs = Math.floor(folderImage ? folderImage.mtimeMs : stats.mtimeMs);
    const known = context.known.get(candidate.path);
    // Permissions change without touching size or mtime, so such files are always tried again.
    const unchanged = known && known.sizeBytes === row.sizeBytes && known.mtimeMs === row.mtimeMs;
    if (unchanged && known.error !== PERMISSION_DENIED) return { kind: 'unchanged', error: known.error };
    if (!folderImage) {
      if (stats.size === 0) return failed('empty file (0 bytes)');
      if (!stats.isFile()) return failed('not a regular file');
      source = readSource(candidate.path, stats.size);
    }
  } catch (error) {
    return failed(describeReadFailure(error));
  }
  if (timings) timings.read += performance.now() - started;

  started = performance.now();
  try {
    row.sha256 = folderImage ? hashFolderImage(candidate.path, folderImage) : hashSource(source!);
  } catch (error) {
    // A folder's files are read here, after it was listed: one may have gone meanwhile.
    return failed(describeReadFailure(error));
  }
  if (timings) timings.hash += performance.now() - started;

  let claim = await context.contents.claimInOrder(row.sha256, candidate.path, index);
  while (!claim.first) {
    const originalPath = await claim.original;
    if (originalPath !== null) return { kind: 'duplicate', row, originalPath };
    // The first copy failed to import: try this one as if it were the first.
    claim = await context.contents.claim(row.sha256, candidate.path);
  }

  let release = () => {};
  let samples: SampleFile | null = null;
  try {
    started = performance.now();
    samples = source ? await openSampleFile(source, candidate.path) : await openOmeZarr(candidate.path);
    if (samples) {
      const rows = await importSamples(samples, row, row.sha256, context);
      if (timings) timings.decode += performance.now() - started;
      claim.settle(true);
      return { kind: 'imported', rows };
    }
    if (!source?.bytes)
      throw new DecodeError(`file too large to read whole (${row.sizeBytes} bytes) and not a tiled TIFF`);
    const bytes = source.bytes;
    const expectedFormat = namedFormat(bytes, candidate.path);
    const layout = await probeImage(bytes, expectedFormat);
    // Raw pixels, plus the 8-bit copy a stretched thumbnail needs.
    release = await context.memory.reserve(decodedBytes(layout) + layout.width * layout.height * 3);
    const image = await decodeImage(bytes, expectedFormat, layout);
    if (timings) timings.decode += performance.now() - started;

    started = performance.now();
    const summary = summarizePixels(image.pixels, image.channels, image.bitDepth);
    if (timings) timings.stats += performance.now() - started;

    started = performance.now();
    const relative = thumbnailPath(row.sha256);
    const file = path.join(context.projectDir, relative);
    const folder = path.dirname(file);
    if (!context.createdFolders.has(folder)) {
      fs.mkdirSync(folder, { recursive: true });
      context.createdFolders.add(folder);
    }
    await writeThumbnail(image, summary, file, context.thumbnailSize);
    if (timings) timings.thumbnail += performance.now() - started;

    claim.settle(true);
    return {
      kind: 'imported',
      rows: [
        {
          ...row,
          width: image.width,
          height: image.height,
          channels: image.channels,
          bitDepth: image.bitDepth,
          format: image.format,
          stats: summary.stats,
          thumbnail: relative,
        },
      ],
    };
  } catch (error) {
    claim.settle(false);
    if (error instanceof DecodeError) return failed(error.message);
    // A read of a file opened by path (a huge TIFF's tiles) can fail like any read.
    if ((error as NodeJS.ErrnoException).code) return failed(describeReadFailure(error));
    // Not the file's fault (a full disk for thumbnails, a bug): the import stops and says so.
    throw error;
  } finally {
    release();
    await samples?.close();
  }
}

/** Files larger than this are not read whole: a TIFF among them is read by its header and tiles. */
export const LARGE_FILE_BYTES = 256 * 1024 * 1024;

function hashSource(source: FileSource): string {
  return source.bytes ? createHash('sha256').update(source.bytes).digest('hex') : headerHash(source.path, source.size);
}

/** Bytes hashed at each end of a large file. */
const HASHED_END_BYTES = 1024 * 1024;

function readSource(file: string, size: number): FileSource {
  if (size <= LARGE_FILE_BYTES) {
    const bytes = fs.readFileSync(file);
    // A small .nii.gz of a large volume is inflated to disk and read by offsets, not in memory.
    const sniffed = sniffFormat(bytes, file);
    if (sniffed.format === 'nifti' && sniffed.gzip && (gzipNiftiBytes(bytes) ?? 0) > LARGE_FILE_BYTES)
      return { bytes: null, head: bytes.subarray(0, HASHED_END_BYTES), path: file, size };
    return { bytes, path: file };
  }
  const head = readRange(file, 0, Math.min(size, HASHED_END_BYTES));
  // A large file that is not a TIFF or NIfTI (DICOM first: its preamble may look like one) is read
  // whole; sharp then refuses an image too large by its pixel count.
  if (!['tiff', 'nifti'].includes(sniffFormat(head, file).format)) return { bytes: fs.readFileSync(file), path: file };
  return { bytes: null, head, path: file, size };
}

function readRange(file: string, position: number, length: number): Uint8Array {
  const buffer = Buffer.alloc(length);
  const descriptor = fs.openSync(file, 'r');
  try {
    const read = fs.readSync(descriptor, buffer, 0, length, position);
    return buffer.subarray(0, read);
  } finally {
    fs.closeSync(descriptor);
  }
}

/**
 * The content hash of a file too large to hash whole in an import (a whole slide, a satellite
 * scene): sha256 of its size, first and last MiB. It tells changed and duplicate files apart in
 * practice, not against someone forging a collision.
 */
export function headerHash(file: string, size: number): string {
  const hash = createHash('sha256').update(`size:${size};`);
  hash.update(readRange(file, 0, Math.min(size, HASHED_END_BYTES)));
  hash.update(readRange(file, Math.max(0, size - HASHED_END_BYTES), Math.min(size, HASHED_END_BYTES)));
  return hash.digest('hex');
}

function emptyRow(candidate: Candidate, projectId: number): NewImage {
  return {
    projectId,
    path: candidate.path,
    sha256: null,
    sizeBytes: null,
    mtimeMs: null,
    width: null,
    height: null,
    channels: null,
    bitDepth: null,
    format: null,
    label: candidate.label,
    error: null,
    stats: null,
    thumbnail: null,
    duplicateOf: null,
  };
}

/** Reason of a file the importer may not read. */
export const PERMISSION_DENIED = 'permission denied';

/** Reasons for files that could not be read at all. */
export function describeReadFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return PERMISSION_DENIED;
  if (code === 'ENOENT') return 'file disappeared during the import';
  if (code === 'EISDIR') return 'is a folder, not a file';
  if (code === 'EIO') return 'read error (I/O error from the disk)';
  if (code === 'ELOOP') return 'symbolic link loop (the link leads back to itself)';
  return `cannot be read: ${(error as Error).message}`;
}
