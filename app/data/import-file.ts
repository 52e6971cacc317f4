/**
 * Importing one file: stat, skip if unchanged, read, hash, look for a duplicate, decode once,
 * summarize, write the thumbnail. Any failure becomes a reason on the file's row.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { KnownFile, NewImage } from '../store/images';
import type { ContentIndex } from './content-index';
import { decodedBytes, decodeImage, DecodeError, probeImage } from './decode';
import { formatOfFileName } from './formats';
import type { MemoryBudget } from './memory-budget';
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
  contents: ContentIndex;
  /** Thumbnail folders already created during this import. */
  createdFolders: Set<string>;
  /** Longest side of thumbnails, in pixels. */
  thumbnailSize: number;
  /** Bounds the decoded pixels held at once. */
  memory: MemoryBudget;
  timings?: ImportTimings;
}

/** What happened to one file. */
export type FileOutcome =
  | { kind: 'unchanged' }
  | { kind: 'imported'; row: NewImage }
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

  let started = performance.now();
  let bytes: Buffer;
  try {
    // Synchronous on purpose: sharp keeps libuv's threadpool busy, and an async read would queue
    // four round trips behind it; one local read costs less (measured: ~0.5 ms CPU per file).
    const stats = fs.statSync(candidate.path);
    row.sizeBytes = stats.size;
    row.mtimeMs = Math.floor(stats.mtimeMs);
    const known = context.known.get(candidate.path);
    // Permissions change without touching size or mtime, so such files are always tried again.
    const unchanged = known && known.sizeBytes === row.sizeBytes && known.mtimeMs === row.mtimeMs;
    if (unchanged && known.error !== PERMISSION_DENIED) return { kind: 'unchanged' };
    if (stats.size === 0) return failed('empty file (0 bytes)');
    bytes = fs.readFileSync(candidate.path);
  } catch (error) {
    return failed(describeReadFailure(error));
  }
  if (timings) timings.read += performance.now() - started;

  started = performance.now();
  row.sha256 = createHash('sha256').update(bytes).digest('hex');
  if (timings) timings.hash += performance.now() - started;

  let claim = await context.contents.claimInOrder(row.sha256, candidate.path, index);
  while (!claim.first) {
    const originalPath = await claim.original;
    if (originalPath !== null) return { kind: 'duplicate', row, originalPath };
    // The first copy failed to import: try this one as if it were the first.
    claim = context.contents.claim(row.sha256, candidate.path);
  }

  let release = () => {};
  try {
    const expectedFormat = formatOfFileName(candidate.path) ?? 'image';
    started = performance.now();
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
      row: {
        ...row,
        width: image.width,
        height: image.height,
        channels: image.channels,
        bitDepth: image.bitDepth,
        format: image.format,
        stats: summary.stats,
        thumbnail: relative,
      },
    };
  } catch (error) {
    claim.settle(false);
    if (error instanceof DecodeError) return failed(error.message);
    // Not the file's fault (a full disk for thumbnails, a bug): the import stops and says so.
    throw error;
  } finally {
    release();
  }
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
  return `cannot be read: ${(error as Error).message}`;
}
