/**
 * Import on every core: a pool of worker threads (`import-worker.ts`) that read, hash, decode,
 * summarize and thumbnail files, while the importing thread keeps what the import shares — the
 * content index (claims in walk order), the memory budget — and writes the store. Files go out
 * in walk order; a worker takes a new file only once every file it holds has hashed, so a worker
 * stuck on a huge image never holds back the claims of the files after it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import sharp from 'sharp';
import type { KnownFile } from '../../store/images';
import type { ContentIndex } from './content-index';
import type { FileOutcome, ImportTimings } from './import-file';
import type { ByteBudget } from './memory-budget';
import type { Candidate } from './walk';

/** What every worker of one import is started with. */
export interface PoolSetup {
  projectId: number;
  projectDir: string;
  thumbnailSize: number;
  /** Whether workers time their stages (for the benchmark). */
  timings: boolean;
  /** Where the importing thread keeps inflated volume copies (workers keep theirs there too). */
  volumeCopies: { dir: string; maxBytes: number };
}

/** Messages from the importing thread to a worker. */
export type ToWorker =
  | { type: 'file'; index: number; candidate: Candidate; known: KnownFile | null }
  | { type: 'claimed'; id: number; first: true }
  | { type: 'claimed'; id: number; first: false; original: string | null }
  | { type: 'granted'; id: number }
  | { type: 'close' };

/** Messages from a worker to the importing thread. */
export type ToPool =
  | { type: 'claim'; id: number; sha256: string; path: string; index: number | null }
  | { type: 'pass'; index: number }
  | { type: 'settle'; id: number; imported: boolean }
  | { type: 'reserve'; id: number; bytes: number }
  | { type: 'release'; id: number }
  | { type: 'outcome'; index: number; outcome: FileOutcome }
  | { type: 'error'; index: number; message: string; stack: string }
  | { type: 'timings'; timings: ImportTimings | null }
  /** Several of the above, in the order they were sent. */
  | { type: 'batch'; messages: ToPool[] };

/** Files one worker holds at once: one in JavaScript, others in sharp's threads or waiting. */
export const FILES_PER_WORKER = 3;

/** Worker threads an import starts by default: one per core. */
export function defaultImportWorkers(): number {
  return os.availableParallelism();
}

/**
 * The built worker beside this bundle (`dist/cli/import-worker.js` beside `studio.js`, and the
 * same beside the benchmarks), or null when running from source (tests) or from a bundle that
 * cannot say where it is (Electron's CommonJS main passes the path explicitly).
 */
export function defaultImportWorkerPath(): string | null {
  const url = import.meta.url as string | undefined;
  if (!url?.startsWith('file:')) return null;
  const beside = path.join(path.dirname(fileURLToPath(url)), 'import-worker.js');
  return fs.existsSync(beside) ? beside : null;
}

interface Task {
  candidate: Candidate;
  index: number;
  known: KnownFile | null;
  resolve: (outcome: FileOutcome) => void;
  reject: (error: Error) => void;
}

interface PoolWorker {
  thread: Worker;
  /** Files in flight by walk index, and whether each has hashed (claimed or passed its turn). */
  tasks: Map<number, { task: Task; hashed: boolean }>;
  settles: Map<number, (imported: boolean) => void>;
  releases: Map<number, () => void>;
  /** Set once the thread died or was closed: nothing more is sent to it. */
  gone: boolean;
  timings: Promise<ImportTimings | null>;
}

/** Pools open now, and libvips' threads per image before the first of them set it to 1. */
let openPools = 0;
let vipsConcurrency = 0;

/**
 * While a pool runs, libvips uses one thread per image (it is process-wide): the pool already
 * decodes one file per core, and splitting each small image across threads only adds hand-offs
 * (measured on 2,000 256² PNGs, 2 workers, 5 runs each way on a loaded 2-core machine: 3.4 against
 * 3.7 CPU ms per file).
 */
function holdVipsToOneThread(): () => void {
  if (openPools++ === 0) {
    vipsConcurrency = sharp.concurrency();
    sharp.concurrency(1);
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--openPools === 0) sharp.concurrency(vipsConcurrency);
  };
}

/** Options of {@link ImportPool}. */
export interface ImportPoolOptions {
  workerPath: string;
  workers: number;
  setup: PoolSetup;
  contents: ContentIndex;
  memory: ByteBudget;
  known: ReadonlyMap<string, KnownFile>;
}

/** Worker threads importing files for one import; {@link ImportPool.run} one file at a time per caller. */
export class ImportPool {
  readonly #workers: PoolWorker[];
  readonly #queue: Task[] = [];
  readonly #options: ImportPoolOptions;
  readonly #releaseVips = holdVipsToOneThread();

  constructor(options: ImportPoolOptions) {
    this.#options = options;
    this.#workers = Array.from({ length: options.workers }, () => this.#start());
  }

  /** Imports one file in a worker; rejects for problems that are not the file's, as `importFile` throws. */
  run(candidate: Candidate, index: number): Promise<FileOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ candidate, index, known: this.#options.known.get(candidate.path) ?? null, resolve, reject });
      this.#dispatch();
    });
  }

  /** Ends every worker; resolves with their stage timings summed (null unless `setup.timings`). */
  async close(): Promise<ImportTimings | null> {
    for (const worker of this.#workers)
      if (!worker.gone) worker.thread.postMessage({ type: 'close' } satisfies ToWorker);
    const all = await Promise.all(this.#workers.map((worker) => worker.timings));
    for (const worker of this.#workers) {
      worker.gone = true;
      await worker.thread.terminate();
    }
    this.#releaseVips();
    const sum: ImportTimings = { read: 0, hash: 0, decode: 0, stats: 0, thumbnail: 0, database: 0 };
    for (const timings of all)
      for (const stage of Object.keys(sum) as (keyof ImportTimings)[]) sum[stage] += timings?.[stage] ?? 0;
    return this.#options.setup.timings ? sum : null;
  }

  #start(): PoolWorker {
    const thread = new Worker(this.#options.workerPath, { workerData: this.#options.setup });
    let reportTimings!: (timings: ImportTimings | null) => void;
    const worker: PoolWorker = {
      thread,
      tasks: new Map(),
      settles: new Map(),
      releases: new Map(),
      gone: false,
      timings: new Promise((resolve) => (reportTimings = resolve)),
    };
    const receive = (message: ToPool): void => {
      if (message.type === 'batch') message.messages.forEach(receive);
      else if (message.type === 'timings') reportTimings(message.timings);
      else this.#receive(worker, message);
    };
    thread.on('message', receive);
    thread.on('error', (error) => this.#lose(worker, error));
    thread.on('exit', (code) => {
      this.#lose(worker, new Error(`exited with code ${code}`));
      reportTimings(null);
    });
    return worker;
  }

  #receive(worker: PoolWorker, message: Exclude<ToPool, { type: 'timings' | 'batch' }>): void {
    const { contents, memory } = this.#options;
    switch (message.type) {
      case 'claim': {
        if (message.index !== null) this.#hashed(worker, message.index);
        const claimed =
          message.index === null
            ? Promise.resolve(contents.claim(message.sha256, message.path))
            : contents.claimInOrder(message.sha256, message.path, message.index);
        void claimed.then(async (claim) => {
          if (claim.first) {
            if (worker.gone) return claim.settle(false);
            worker.settles.set(message.id, claim.settle);
            this.#post(worker, { type: 'claimed', id: message.id, first: true });
          } else {
            this.#post(worker, { type: 'claimed', id: message.id, first: false, original: await claim.original });
          }
        });
        return;
      }
      case 'pass':
        contents.pass(message.index);
        this.#hashed(worker, message.index);
        return;
      case 'settle':
        worker.settles.get(message.id)?.(message.imported);
        worker.settles.delete(message.id);
        return;
      case 'reserve':
        void memory.reserve(message.bytes).then((release) => {
          if (worker.gone) return release();
          worker.releases.set(message.id, release);
          this.#post(worker, { type: 'granted', id: message.id });
        });
        return;
      case 'release':
        worker.releases.get(message.id)?.();
        worker.releases.delete(message.id);
        return;
      case 'outcome':
      case 'error': {
        const entry = worker.tasks.get(message.index);
        worker.tasks.delete(message.index);
        if (message.type === 'outcome') {
          entry?.task.resolve(message.outcome);
        } else {
          const error = new Error(message.message);
          error.stack = message.stack;
          entry?.task.reject(error);
        }
        this.#dispatch();
      }
    }
  }

  #hashed(worker: PoolWorker, index: number): void {
    const entry = worker.tasks.get(index);
    if (!entry || entry.hashed) return;
    entry.hashed = true;
    this.#dispatch();
  }

  #post(worker: PoolWorker, message: ToWorker): void {
    if (!worker.gone) worker.thread.postMessage(message);
  }

  /** Sends queued files, in walk order, to workers whose files have all hashed. */
  #dispatch(): void {
    while (this.#queue.length > 0) {
      const ready = this.#workers.filter(
        (worker) =>
          !worker.gone &&
          worker.tasks.size < FILES_PER_WORKER &&
          [...worker.tasks.values()].every((entry) => entry.hashed),
      );
      if (ready.length === 0) break;
      const worker = ready.reduce((least, candidate) => (candidate.tasks.size < least.tasks.size ? candidate : least));
      const task = this.#queue.shift()!;
      worker.tasks.set(task.index, { task, hashed: false });
      this.#post(worker, { type: 'file', index: task.index, candidate: task.candidate, known: task.known });
    }
    if (this.#workers.every((worker) => worker.gone)) {
      for (const task of this.#queue.splice(0))
        task.reject(new Error('import workers stopped before every file was sent to one'));
    }
  }

  /**
   * A worker died (out of memory, a crash) or was closed: its files fail the import with the
   * reason, and what they held — turns, first claims, reserved bytes — goes back, so the files
   * of the other workers never wait for them.
   */
  #lose(worker: PoolWorker, error: Error): void {
    if (worker.gone) return;
    worker.gone = true;
    const paths = [...worker.tasks.values()].map((entry) => entry.task.candidate.path);
    for (const [index, entry] of worker.tasks) {
      this.#options.contents.pass(index);
      entry.task.reject(new Error(`an import worker stopped (${error.message}) while importing ${paths.join(', ')}`));
    }
    worker.tasks.clear();
    for (const settle of worker.settles.values()) settle(false);
    worker.settles.clear();
    for (const release of worker.releases.values()) release();
    worker.releases.clear();
    this.#dispatch();
  }
}
