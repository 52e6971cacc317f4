/**
 * The embedding map's worker thread (built as `map-worker.js` beside the CLI bundle): lays out the
 * matrix it is started with (`layoutRows`, on the native backend where it is built) and posts
 * progress, then the points or the error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { preferNativeBackend } from './compute';
import { layoutRows, type DEFAULT_LAYOUT } from './map-layout';
import type { FromMapWorker } from './map-projection';
import type { Matrix } from './npy';

if (!parentPort) throw new Error('map-worker.js runs as a worker thread of the embedding map, not on its own');
const port = parentPort;
const { matrix, seed, settings } = workerData as {
  matrix: Matrix;
  seed: number;
  settings: Partial<typeof DEFAULT_LAYOUT>;
};
const post = (message: FromMapWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

preferNativeBackend()
  .then(() =>
    layoutRows(matrix, { seed, settings, onProgress: (done, total) => post({ type: 'progress', done, total }) }),
  )
  .then(
    ({ points, fitted }) => post({ type: 'points', points, fitted }, [points.buffer as ArrayBuffer]),
    (error: unknown) => post({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
  );
