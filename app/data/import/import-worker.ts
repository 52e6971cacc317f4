/**
 * An import worker thread (built as `import-worker.js` beside the CLI bundle): imports the files
 * the importing thread sends it with {@link importFile}, exactly as the importing thread would,
 * and asks that thread whenever a file needs the import as a whole: its turn to claim content
 * (so the first copy in walk order stays the original), and bytes of the memory budget.
 */
import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { setVolumeCopies } from '../cache/volume-copies';
import type { Claim, ContentClaims } from './content-index';
import { importFile, type FileContext, type ImportTimings } from './import-file';
import type { FILES_PER_WORKER, PoolSetup, ToPool, ToWorker } from './import-pool';
import type { ByteBudget } from './memory-budget';

if (!parentPort) throw new Error('import-worker.js runs as a worker thread of an import, not on its own');
const port = parentPort;
const setup = workerData as PoolSetup;
setVolumeCopies(setup.volumeCopies.dir, setup.volumeCopies.maxBytes);
// Each file is decoded once and never again: libvips' operation cache would only hold memory.
sharp.cache(false);

const timings: ImportTimings | undefined = setup.timings
  ? { read: 0, hash: 0, decode: 0, stats: 0, thumbnail: 0, database: 0 }
  : undefined;
let nextRequest = 0;
const claims = new Map<number, (claim: Claim) => void>();
const grants = new Map<number, () => void>();

/** Messages no one waits on (passes, settles, releases), sent with the next message or soon after. */
let deferred: ToPool[] = [];
let flushScheduled = false;

/** Sends `message` now, after whatever was deferred, as one batch: fewer messages, same order. */
function send(message: ToPool): void {
  if (deferred.length === 0) {
    port.postMessage(message);
    return;
  }
  const messages = [...deferred, message];
  deferred = [];
  port.postMessage({ type: 'batch', messages } satisfies ToPool);
}

/** Sends `message` with the next one (usually the file's outcome, a few microtasks later), or on the next turn. */
function sendSoon(message: ToPool): void {
  deferred.push(message);
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(() => {
    flushScheduled = false;
    if (deferred.length > 0) send(deferred.pop()!);
  });
}

function requestClaim(sha256: string, path: string, index: number | null): Promise<Claim> {
  const id = nextRequest++;
  send({ type: 'claim', id, sha256, path, index });
  return new Promise((resolve) => claims.set(id, resolve));
}

const contents: ContentClaims = {
  claimInOrder: (sha256, path, index) => requestClaim(sha256, path, index),
  claim: (sha256, path) => requestClaim(sha256, path, null),
  pass: (index) => sendSoon({ type: 'pass', index }),
};

/**
 * Reservations below this are not asked of the importing thread: such images are bounded by the
 * files in flight ({@link FILES_PER_WORKER} per worker), as the budget's own note says of small
 * images, and asking would cost two messages per file. Large and huge images reserve as before.
 */
const LOCAL_BYTES = 4 * 1024 * 1024;

const memory: ByteBudget = {
  async reserve(bytes) {
    if (bytes < LOCAL_BYTES) return () => {};
    const id = nextRequest++;
    send({ type: 'reserve', id, bytes });
    return new Promise((resolve) =>
      grants.set(id, () => {
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          sendSoon({ type: 'release', id });
        });
      }),
    );
  },
};

const createdFolders = new Set<string>();

async function run(message: Extract<ToWorker, { type: 'file' }>): Promise<void> {
  const context: FileContext = {
    projectId: setup.projectId,
    projectDir: setup.projectDir,
    known: message.known ? new Map([[message.candidate.path, message.known]]) : new Map(),
    contents,
    createdFolders,
    thumbnailSize: setup.thumbnailSize,
    memory,
    timings,
  };
  try {
    send({
      type: 'outcome',
      index: message.index,
      outcome: await importFile(message.candidate, message.index, context),
    });
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    send({ type: 'error', index: message.index, message: failure.message, stack: failure.stack ?? '' });
  }
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'file') {
    void run(message);
  } else if (message.type === 'claimed') {
    const resolve = claims.get(message.id)!;
    claims.delete(message.id);
    if (message.first) {
      resolve({ first: true, settle: (imported) => sendSoon({ type: 'settle', id: message.id, imported }) });
    } else {
      resolve({ first: false, original: Promise.resolve(message.original) });
    }
  } else if (message.type === 'granted') {
    const grant = grants.get(message.id)!;
    grants.delete(message.id);
    grant();
  } else {
    send({ type: 'timings', timings: timings ?? null });
  }
});
