/**
 * Importing folders of images into a project: walk, then process files on every core (a pool of
 * worker threads, `import-pool.ts`; in this thread when there is no built worker or `workers` is
 * 0), write rows from this thread in batched transactions in walk order, and report throttled
 * progress. Cancelling keeps what is already stored.
 */
import { volumeCopies } from '../cache/volume-copies';
import os from 'node:os';
import sharp from 'sharp';
import type { ImportDuplicate, ImportFailure, ImportProgress, ImportResult, ImportSkip } from '../../contract';
import type { ImageStore } from '../../store/images';
import { BatchWriter } from './batch-writer';
import { ContentIndex } from './content-index';
import { importFile, type FileContext, type FileOutcome, type ImportTimings } from './import-file';
import { defaultImportWorkerPath, defaultImportWorkers, FILES_PER_WORKER, ImportPool } from './import-pool';
import { InWalkOrder } from './in-walk-order';
import { defaultMemoryBudget, MemoryBudget } from './memory-budget';
import { ProgressReporter } from './progress';
import { THUMBNAIL_SIZE } from './thumbnail';
import { checkFolders, findImageFiles, type Candidate } from './walk';
import { assembleProjectSeries } from '../volumes/dicom-series';

export { SUPPORTED_FORMATS, isImageFileName } from '../formats/formats';
export type { ImportTimings } from './import-file';
export { defaultImportWorkers } from './import-pool';

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
  /**
   * Worker threads decoding, hashing, summarizing and thumbnailing; defaults to one per core
   * ({@link defaultImportWorkers}). 0 imports in this thread, as does a missing worker script.
   */
  workers?: number;
  /** The built `import-worker.js`; defaults to the one beside this bundle ({@link defaultImportWorkerPath}). */
  workerPath?: string | null;
  /** Files in flight at once when importing in this thread; defaults to {@link defaultConcurrency}. */
  concurrency?: number;
  /** Longest side of thumbnails; defaults to {@link THUMBNAIL_SIZE}. */
  thumbnailSize?: number;
  /** Bytes of decoded pixels held at once; defaults to {@link defaultMemoryBudget}. */
  memoryBudget?: number;
  /** When given, filled with the time spent per stage (for the benchmark). */
  timings?: ImportTimings;
}

/** How {@link importFolders} runs files: where, and how many at once. */
export interface ImportMode {
  /** Worker threads, or 0 for this thread. */
  workers: number;
  /** Files in flight at once. */
  concurrency: number;
  workerPath: string | null;
}

/** Where an import with these options runs its files: worker threads when there is a built worker. */
export function importMode(options: Pick<ImportOptions, 'workers' | 'workerPath' | 'concurrency'>): ImportMode {
  const workers = options.workers ?? defaultImportWorkers();
  if (!Number.isInteger(workers) || workers < 0)
    throw new Error(`workers must be a whole number of threads (0 for none), got ${workers}`);
  const workerPath = options.workerPath === undefined ? defaultImportWorkerPath() : options.workerPath;
  if (workers === 0 || workerPath === null)
    return { workers: 0, concurrency: Math.max(1, options.concurrency ?? defaultConcurrency()), workerPath: null };
  return { workers, concurrency: workers * FILES_PER_WORKER, workerPath };
}

/**
 * Files processed at once in this thread: enough to keep libuv's threadpool (where sharp decodes and encodes)
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
  const mode = importMode(options);
  // Each file is decoded once and never again: libvips' operation cache would only hold memory.
  sharp.cache(false);

  const progress = new ProgressReporter(options.importId, options.projectId, options.onProgress);
  progress.startWalking();
  const candidates = await findImageFiles(roots, { signal: options.signal, onFound: (found) => progress.found(found) });
  progress.startImporting(candidates.length);

  const existing = options.images.hashes(options.projectId);
  const writer = new BatchWriter(
    options.images,
    new Map([...existing.values()].map((image) => [image.path, image.id])),
    BATCH_SIZE,
  );
  const contents = new ContentIndex(existing);
  const context: FileContext = {
    projectId: options.projectId,
    projectDir: options.projectDir,
    known: options.images.knownFiles(options.projectId),
    contents,
    createdFolders: new Set(),
    thumbnailSize: options.thumbnailSize ?? THUMBNAIL_SIZE,
    memory: new MemoryBudget(options.memoryBudget ?? defaultMemoryBudget()),
    timings: options.timings,
  };
  const pool =
    mode.workerPath === null || candidates.length === 0
      ? null
      : new ImportPool({
          workerPath: mode.workerPath,
          // No more threads than files: a small import does not start a thread per core.
          workers: Math.min(mode.workers, candidates.length),
          setup: {
            projectId: context.projectId,
            projectDir: context.projectDir,
            thumbnailSize: context.thumbnailSize,
            timings: options.timings !== undefined,
            volumeCopies: volumeCopies(),
          },
          contents,
          memory: context.memory,
          known: context.known,
        });
  const runFile = (candidate: Candidate, index: number): Promise<FileOutcome> =>
    pool ? pool.run(candidate, index) : importFile(candidate, index, context);

  const duplicates: ImportDuplicate[] = [];
  const errors: ImportFailure[] = [];
  const skippedFiles: ImportSkip[] = [];
  let samples = 0;
  const counts = progress.counts;
  // Rows and lists follow walk order whatever order files finish in, so ids and reports do not
  // depend on timing or on the number of workers.
  const inOrder = new InWalkOrder<{ candidate: Candidate; outcome: FileOutcome }>(({ candidate, outcome }) => {
    if (outcome.kind === 'unchanged') {
      skippedFiles.push({
        path: candidate.path,
        reason: outcome.error ? `${UNCHANGED}; it failed then: ${outcome.error}` : UNCHANGED,
      });
    } else if (outcome.kind === 'duplicate') {
      duplicates.push({ path: candidate.path, duplicateOf: outcome.originalPath });
      writer.addDuplicate({ row: outcome.row, originalPath: outcome.originalPath });
    } else if (outcome.kind === 'failed') {
      errors.push({ path: candidate.path, reason: outcome.reason });
      writer.add(outcome.row);
    } else {
      for (const row of outcome.rows) writer.add(row);
    }
  });
  // Stops the other loops when one hits a problem that is not a file's (so it propagates).
  const stop = new AbortController();
  let next = 0;

  async function work(): Promise<void> {
    while (next < candidates.length && !options.signal?.aborted && !stop.signal.aborted) {
      const index = next++;
      const candidate = candidates[index]!;
      const outcome = await runFile(candidate, index);
      counts.processed++;
      if (outcome.kind === 'unchanged') counts.skipped++;
      else if (outcome.kind === 'duplicate') counts.duplicates++;
      else if (outcome.kind === 'failed') counts.failed++;
      else {
        counts.imported++;
        samples += outcome.rows.length;
      }
      inOrder.add(index, { candidate, outcome });
      progress.update();
    }
  }

  const loops = Array.from({ length: mode.concurrency }, () =>
    work().catch((error: unknown) => {
      stop.abort();
      throw error;
    }),
  );
  const settled = await Promise.allSettled(loops);
  const workerTimings = await pool?.close();
  // What finished is stored even when the import stops on an error or is cancelled.
  inOrder.drain();
  writer.flush();
  if (options.timings) {
    options.timings.database += writer.databaseMs;
    if (workerTimings)
      for (const stage of ['read', 'hash', 'decode', 'stats', 'thumbnail'] as const)
        options.timings[stage] += workerTimings[stage];
  }
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
