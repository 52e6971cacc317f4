/**
 * The heavy work of the embeddings service — computing a set (every image through the encoder),
 * the suspect list and the median nearest-neighbour distance (every row against every row) — as
 * jobs that run in a worker thread (`embedding-worker.js` beside the running bundle, or the path
 * the host gives), so the studio's process keeps answering while they run; from source (tests),
 * or with a null path, they run on this thread. A job reports progress and stops on its signal
 * (the worker is terminated).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Workspace } from '../../workspace';
import { computeEmbeddings, preferNativeBackend } from './compute';
import type { EmbeddingMeta, EmbeddingTarget } from './embedding-store';
import { findSuspects, medianNearestDistance, type SuspectSearch, type UnitRows } from './neighbours';
import type { Matrix } from './npy';

/** One job: what it works on. */
export type EmbeddingJob =
  | { task: 'compute'; workspace: string; target: EmbeddingTarget; batchSize?: number }
  | { task: 'suspects'; unit: UnitRows; labels: number[]; classes: number; k: number }
  | { task: 'median'; unit: UnitRows };

/** What a job resolves with. */
export type EmbeddingJobResult<J extends EmbeddingJob> = J extends { task: 'compute' }
  ? { meta: EmbeddingMeta; matrix: Matrix }
  : J extends { task: 'suspects' }
    ? SuspectSearch
    : number;

/** Messages from the worker thread. */
export type FromEmbeddingWorker =
  | { type: 'progress'; done: number; total: number }
  | { type: 'result'; result: unknown }
  | { type: 'error'; message: string };

/** The built worker beside this bundle, or null from source or a bundle that cannot say where it is. */
export function defaultEmbeddingWorkerPath(): string | null {
  const url = import.meta.url as string | undefined;
  if (!url?.startsWith('file:')) return null;
  const beside = path.join(path.dirname(fileURLToPath(url)), 'embedding-worker.js');
  return fs.existsSync(beside) ? beside : null;
}

/**
 * Runs a job on this thread: the worker's body, and the studio's where no worker is built. A
 * compute job opens its own handle on the workspace (closed when it ends).
 */
export async function runJobHere<J extends EmbeddingJob>(
  job: J,
  onProgress: (done: number, total: number) => void = () => {},
  signal?: AbortSignal,
): Promise<EmbeddingJobResult<J>> {
  await preferNativeBackend();
  if (job.task === 'compute') {
    const workspace = new Workspace(job.workspace);
    try {
      return (await computeEmbeddings(workspace, job.target, {
        onProgress,
        ...(signal && { signal }),
        ...(job.batchSize && { batchSize: job.batchSize }),
      })) as EmbeddingJobResult<J>;
    } finally {
      workspace.close();
    }
  }
  if (job.task === 'suspects') return findSuspects(job.unit, job.labels, job.classes, job.k) as EmbeddingJobResult<J>;
  return medianNearestDistance(job.unit) as EmbeddingJobResult<J>;
}

/** Buffers a result may hand over without a copy. */
function transferables(result: unknown): ArrayBuffer[] {
  const matrix = (result as { matrix?: Matrix } | null)?.matrix;
  return matrix ? [matrix.values.buffer as ArrayBuffer] : [];
}

/** The worker thread's side: runs the job it was started with and posts progress, then the result or the error. */
export function serveJob(job: EmbeddingJob, post: (message: FromEmbeddingWorker, transfer?: ArrayBuffer[]) => void) {
  return runJobHere(job, (done, total) => post({ type: 'progress', done, total })).then(
    (result) => post({ type: 'result', result }, transferables(result)),
    (error: unknown) => post({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
  );
}

/**
 * Runs `job` in a worker thread at `workerPath` (on this thread when null). `signal` stops it;
 * a worker that fails or dies without a word rejects, saying what it was doing.
 */
export function runEmbeddingJob<J extends EmbeddingJob>(
  job: J,
  workerPath: string | null,
  signal?: AbortSignal,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<EmbeddingJobResult<J>> {
  if (workerPath === null) return runJobHere(job, onProgress, signal);
  const what =
    job.task === 'compute'
      ? 'computing the embeddings'
      : job.task === 'suspects'
        ? 'finding the suspect images'
        : 'measuring nearest-neighbour distances';
  return new Promise((resolve, reject) => {
    const heapMb = Math.max(2048, Math.floor(os.totalmem() / 2 / 2 ** 20));
    const worker = new Worker(workerPath, { workerData: job, resourceLimits: { maxOldGenerationSizeMb: heapMb } });
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', stop);
      void worker.terminate();
      outcome();
    };
    const stop = () => settle(() => reject(new Error(`${what} was stopped`)));
    if (signal?.aborted) return stop();
    signal?.addEventListener('abort', stop, { once: true });
    worker.on('message', (message: FromEmbeddingWorker) => {
      if (message.type === 'progress') return onProgress(message.done, message.total);
      if (message.type === 'result') settle(() => resolve(message.result as EmbeddingJobResult<J>));
      else settle(() => reject(new Error(`${what} failed: ${message.message}`)));
    });
    worker.on('error', (error) => settle(() => reject(new Error(`${what} failed: ${error.message}`))));
    worker.on('exit', (code) =>
      settle(() =>
        reject(new Error(`${what} failed: its worker thread stopped (exit code ${code}) before it finished`)),
      ),
    );
  });
}
