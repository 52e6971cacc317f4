/**
 * The embedding map as stored and computed: one projection per embedding set and seed, in
 * `projects/<id>/embeddings/run-R-block-B-P-map-S.json` beside the set, valid while the set's
 * fingerprint is the one it was computed from. Computing runs in a worker thread
 * (`map-worker.js` beside the running bundle, or the path the host gives), so the studio keeps
 * serving; from source (tests) it runs on this thread, yielding between chunks of epochs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EmbeddingKey } from '../../contract';
import { writeFileAtomic } from '../../mae/weights/safetensors';
import type { Workspace } from '../../workspace';
import { preferNativeBackend } from './compute';
import { embeddingFiles } from './embedding-store';
import type { Matrix } from './npy';
import { layoutRows, type DEFAULT_LAYOUT, type Layout } from './map-layout';

/** Messages from the map's worker thread. */
export type FromMapWorker =
  | { type: 'progress'; done: number; total: number }
  | { type: 'points'; points: Float32Array; fitted: number }
  | { type: 'error'; message: string };

/** A stored projection: the points of `imageIds`, in that order. */
export interface StoredMap {
  format: 'mae-studio-embedding-map';
  version: 1;
  /** The fingerprint of the embedding set it projects. */
  fingerprint: string;
  seed: number;
  imageIds: number[];
  /** Interleaved x, y in [-1, 1] as little-endian float32, base64. */
  coordinates: string;
  seconds: number;
  createdAt: string;
  /** Images UMAP itself fitted (the rest were placed by their nearest fitted images); absent in older maps: all. */
  fitted?: number;
}

/** The built worker beside this bundle, or null from source or a bundle that cannot say where it is. */
export function defaultMapWorkerPath(): string | null {
  const url = import.meta.url as string | undefined;
  if (!url?.startsWith('file:')) return null;
  const beside = path.join(path.dirname(fileURLToPath(url)), 'map-worker.js');
  return fs.existsSync(beside) ? beside : null;
}

/** Where the map of a set and seed is stored. */
export function mapFile(workspace: Workspace, projectId: number, key: EmbeddingKey, seed: number): string {
  return embeddingFiles(workspace, projectId, key).json.replace(/\.json$/, `-map-${seed}.json`);
}

/** The stored map when it projects the set of `fingerprint` with `seed`; null otherwise. */
export function readStoredMap(file: string, fingerprint: string, seed: number): StoredMap | null {
  if (!fs.existsSync(file)) return null;
  const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<StoredMap>;
  const valid =
    stored.format === 'mae-studio-embedding-map' &&
    stored.version === 1 &&
    stored.fingerprint === fingerprint &&
    stored.seed === seed;
  return valid ? (stored as StoredMap) : null;
}

/** Stores a map (atomically: a reader sees the old one or the new one). */
export async function writeStoredMap(file: string, map: StoredMap): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, Buffer.from(JSON.stringify(map)));
}

/** Float32 values as base64 of their little-endian bytes. */
export function encodePoints(points: Float32Array): string {
  return Buffer.from(points.buffer, points.byteOffset, points.byteLength).toString('base64');
}

/**
 * Lays out `matrix` (`layoutRows`) in a worker thread at `workerPath` (on this thread when null);
 * `signal` stops it (the worker is terminated); `onProgress` hears the layout steps done of the
 * total; `settings` override `DEFAULT_LAYOUT` (tests).
 */
export function runProjection(
  matrix: Matrix,
  seed: number,
  workerPath: string | null,
  signal?: AbortSignal,
  onProgress: (done: number, total: number) => void = () => {},
  settings: Partial<typeof DEFAULT_LAYOUT> = {},
): Promise<Layout> {
  if (workerPath === null)
    return preferNativeBackend().then(() =>
      layoutRows(matrix, { seed, onProgress, settings, ...(signal && { signal }) }),
    );
  return new Promise((resolve, reject) => {
    // umap-js keeps about 70 KB per fitted image: the worker may use up to half the machine's
    // memory rather than V8's default heap limit.
    const heapMb = Math.max(2048, Math.floor(os.totalmem() / 2 / 2 ** 20));
    const worker = new Worker(workerPath, {
      workerData: { matrix, seed, settings },
      resourceLimits: { maxOldGenerationSizeMb: heapMb },
    });
    const stop = () => {
      void worker.terminate();
      reject(new Error('the embedding map was stopped'));
    };
    signal?.addEventListener('abort', stop, { once: true });
    const settle = () => signal?.removeEventListener('abort', stop);
    worker.on('message', (message: FromMapWorker) => {
      if (message.type === 'progress') return onProgress(message.done, message.total);
      settle();
      void worker.terminate();
      if (message.type === 'points') resolve({ points: message.points, fitted: message.fitted });
      else reject(new Error(`the embedding map could not be computed: ${message.message}`));
    });
    worker.on('error', (error) => {
      settle();
      reject(new Error(`the embedding map could not be computed: ${error.message}`));
    });
    // A worker that dies without a word (killed, out of memory) still settles the request.
    worker.on('exit', (code) => {
      settle();
      reject(
        new Error(
          `the embedding map could not be computed: its worker thread stopped (exit code ${code}) before it finished`,
        ),
      );
    });
  });
}
