/**
 * The embedding map's worker thread (built as `map-worker.js` beside the CLI bundle): projects the
 * matrix it is started with (`projectRows`) and posts progress, then the points or the error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Matrix } from './npy';
import { projectRows } from './projection';
import type { FromMapWorker } from './map-projection';

if (!parentPort) throw new Error('map-worker.js runs as a worker thread of the embedding map, not on its own');
const port = parentPort;
const { matrix, seed } = workerData as { matrix: Matrix; seed: number };
const post = (message: FromMapWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

projectRows(matrix, { seed, onProgress: (done, total) => post({ type: 'progress', done, total }) }).then(
  (points) => post({ type: 'points', points }, [points.buffer as ArrayBuffer]),
  (error: unknown) => post({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
);
