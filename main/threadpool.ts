/**
 * Sizes libuv's threadpool before anything uses it (imported first by `index.ts`): sharp decodes
 * and encodes there, and the import's worker threads (one per core) would otherwise share 4
 * threads. The CLI launcher does the same for the CLI and serve mode.
 */
import os from 'node:os';

if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(Math.max(4, os.availableParallelism()));
