/**
 * The embeddings service's worker thread (built as `embedding-worker.js` beside the CLI bundle):
 * runs the job it is started with (`embedding-jobs.ts`) and posts progress, then the result.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setVolumeCopies, volumeCopiesDir } from '../../data/cache/volume-copies';
import { serveJob, type EmbeddingJob } from './embedding-jobs';

if (!parentPort)
  throw new Error('embedding-worker.js runs as a worker thread of the embeddings service, not on its own');
const port = parentPort;
const job = workerData as EmbeddingJob;
// Inflated .nii.gz copies go to the workspace's cache, as the studio's do.
if (job.task === 'compute') setVolumeCopies(volumeCopiesDir(job.workspace));
void serveJob(job, (message, transfer = []) => port.postMessage(message, transfer));
