/**
 * The embeddings service's worker thread (built as `embedding-worker.js` beside the CLI bundle):
 * runs the job it is started with (`embedding-jobs.ts`) and posts progress, then the result.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { serveJob, type EmbeddingJob } from './embedding-jobs';

if (!parentPort)
  throw new Error('embedding-worker.js runs as a worker thread of the embeddings service, not on its own');
const port = parentPort;
void serveJob(workerData as EmbeddingJob, (message, transfer = []) => port.postMessage(message, transfer));
