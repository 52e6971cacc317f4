/**
 * Importing folders of images into a project: walk, then process files with bounded
 * concurrency (sharp runs in libuv's threadpool), write rows in batched transactions, and report
 * throttled progress. Cancelling keeps what is already stored.
 */
import os from 'node:os';
import sharp from 'sharp';
import type { ImportDuplicate, ImportFailure, ImportProgress, ImportResult, ImportSkip } from '../../contract';
import type { ImageStore } from '../../store/images';
import { BatchWriter } from './batch-writer';
import { ContentIndex } from './content-index';
import { importFile, type FileContext, type ImportTimings } from './import-file';
import { defaultMemoryBudget, MemoryBudget } from './memory-budget';
import { ProgressReporter } from './progress';
import { THUMBNAIL_SIZE } from './thumbnail';
import { checkFolders, findImageFiles } from './walk';
import { assembleProjectSeries } from '../volumes/dicom-series';

export { SUPPORTED_FORMATS, isImageFileName } from '../formats/formats';
export type { ImportTimings } from './import-file';

/** Why a file found again with the same path, size and modification time is not read again. */
export const UNCHANGED = 'unchanged since it was last imported (same path, size and modification time)';

/** Rows per database transaction. */
export const BATCH_SIZE = 200;

/** Options of {@link importFolders}. */
export interface ImportOptions {
  importId: string;
  projectId: number;
  folders: string[];
  images: ImageStore;
  /** The project's folder; thumbnails go under `thumbs/`. */
  projectDir: string;
  signal?: AbortSignal;
  onProgress?: (progress: ImportProgress) => void;
  /** Files in flight at once; defaults to {@link defaultConcurrency}. */
  concurrency?: number;
  /** Longest side of thumbnails; defaults to {@link THUMBNAIL_SIZE}. */
  thumbnailSize?: number;
  /** Bytes of decoded pixels held at once; defaults to {@link defaultMemoryBudget}. */
  memoryBudget?: number;
  /** When given, filled with the time spent per stage (for the benchmark). */
  timings?: ImportTimings;
}

/**
 * Files processed at once: enough to keep libuv's threadpool (where sharp decodes and encodes)
 * busy while the main thread hashes and counts, without holding many decoded images in memory.
 */
export function defaultConcurrency(): number {
  const threadpool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(2, Math.min(threadpool, os.availableParallelism()) * 2);
}

/**
 * Imports every supported image under `folders` (recursively) into a project. Throws
 * INVALID_ARGUMENT before importing anything when a folder is missing or not a folder; a file
 * that cannot be read or decoded gets a row with its reason and the import goes on.
 */
export async function importFolders(options: ImportOptions): Promise<ImportResult> {
  const started = performance.now();
  const roots = await checkFolders(options.folders);
  // Each file is decoded once and never again: libvips' operation cache would only hold memory.
  sharp.cache(false);

  const progress = new ProgressReporter(options.importId, options.projectId, options.onProgress);
  progress.startWalking();
  const candidates = await findImageFiles(roots, { signal: options.signal, onFound: (found) => progress.found(found) });
  progress.startImporting(candidates.length);

  const existing = options.images.hashes(options.projectId);
  const writer = new BatchWriter(options.images, new Map([...existing.values()].map((image) => [image.path, image.id])), BATCH_SIZE);
  const context: FileContext = {
    projectId: options.projectId,
    projectDir: options.projectDir,
    known: options.images.knownFiles(options.projectId),
    contents: new ContentIndex(existing),
    createdFolders: new Set(),
    thumbnailSize: options.thumbnailSize ?? THUMBNAIL_SIZE,
    memory: new MemoryBudget(options.memoryBudget ?? defaultMemoryBudget()),
    timings: options.timings,
  };
  const duplicates: ImportDuplicate[] = [];
  const errors: ImportFailure[] = [];
  const skippedFiles: ImportSkip[] = [];
  let samples = 0;
  const counts = progress.counts;
  // Stops the other workers when one hits a problem that is not a file's (so it propagates).
  const stop = new AbortController();
  let next = 0;

  async function work(): Promise<void> {
    while (next < candidates.length && !options.signal?.aborted && !stop.signal.aborted) {
      const index = next++;
      const candidate = candidates[index]!;
      const outcome = await importFile(candidate, index, context);
      counts.processed++;
      if (outcome.kind === 'unchanged') {
        counts.skipped++;
        skippedFiles.push({ path: candidate.path, reason: outcome.error ? `${UNCHANGED}; it failed then: ${outcome.error}` : UNCHANGED });
      } else if (outcome.kind === 'duplicate') {
        counts.duplicates++;
        duplicates.push({ path: candidate.path, duplicateOf: outcome.originalPath });
        writer.addDuplicate({ row: outcome.row, originalPath: outcome.originalPath });
      } else if (outcome.kind === 'failed') {
        counts.failed++;
        errors.push({ path: candidate.path, reason: outcome.reason });
        writer.add(outcome.row);
      } else {
        counts.imported++;
        samples += outcome.rows.length;
        for (const row of outcome.rows) writer.add(row);
      }
      progress.update();
    }
  }

  const concurrency = Math.max(1, options.concurrency ?? defaultConcurrency());
  const workers = Array.from({ length: concurrency }, () =>
    work().catch((error: unknown) => {
      stop.abort();
      throw error;
    }),
  );
  const settled = await Promise.allSettled(workers);
  // What finished is stored even when the import stops on an error or is cancelled.
  writer.flush();
  if (options.timings) options.timings.database += writer.databaseMs;
  const failure = settled.find((result) => result.status === 'rejected');
  if (failure) throw failure.reason;
  if (writer.pending > 0) throw new Error(`import ${options.importId}: ${writer.pending} rows were never written`);

  // Series may span folders and imports: every series of the project is assembled again.
  const volumes = assembleProjectSeries(options.images, options.projectId);
  progress.done();
  return {
    ...(volumes.length > 0 && { volumes }),
    importId: options.importId,
    projectId: options.projectId,
    filesSeen: candidates.length,
    imported: counts.imported,
    samples,
    skipped: counts.skipped,
    skippedFiles,
    duplicates,
    errors,
    seconds: (performance.now() - started) / 1000,
    cancelled: options.signal?.aborted === true,
  };
}
