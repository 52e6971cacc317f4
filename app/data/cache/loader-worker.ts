/**
 * The loader's worker thread: reads cached records by offset, crops, flips and normalises them
 * while the training step runs on the main thread. The thread runs the source of the functions
 * below (`loaderWorkerSource`), so it needs no file of its own in any bundle; they are written
 * self-contained for that (no closure, no import).
 */
import { Worker } from 'node:worker_threads';
import { resizeBox, type CropBox } from '../augment';
import type { PreparedType } from './prepared';

/** One sample of a job: where its record lies and how to crop it. */
export interface WorkerPick {
  file: string;
  offset: number;
  byteLength: number;
  channels: number;
  height: number;
  width: number;
  sampleType: PreparedType;
  box: CropBox;
  flip: boolean;
}

/** A batch (or part of one) for the worker. */
export interface WorkerJob {
  id: number;
  imgSize: number;
  center: number[];
  inverse: number[];
  picks: WorkerPick[];
}

/** The worker's answer: the picks' samples back to back, [n, C, imgSize, imgSize]. */
export type WorkerReply = { id: number; images: Float32Array } | { id: number; error: string };

/** x = (v − center) · inverse per channel plane, in place. */
export function normalisePlanes(
  sample: Float32Array,
  center: readonly number[],
  inverse: readonly number[],
  plane: number,
): void {
  for (let c = 0; c < center.length; c++) {
    const offset = center[c]!;
    const factor = inverse[c]!;
    for (let k = c * plane; k < (c + 1) * plane; k++) sample[k] = (sample[k]! - offset) * factor;
  }
}

/** The worker's loop; `port`, `fs`, `resize` and `normalise` are passed in by the thread's source. */
function loaderWorkerMain(
  port: {
    on(event: 'message', listener: (job: WorkerJob) => void): void;
    postMessage(reply: WorkerReply, transfer?: ArrayBuffer[]): void;
  },
  files: {
    openSync(file: string, flags: string): number;
    readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  },
  resize: typeof resizeBox,
  normalise: typeof normalisePlanes,
): void {
  const descriptors = new Map<string, number>();
  let scratch = new ArrayBuffer(1 << 20);
  port.on('message', (job) => {
    try {
      const plane = job.imgSize * job.imgSize;
      const channels = job.center.length;
      const images = new Float32Array(job.picks.length * channels * plane);
      job.picks.forEach((pick, index) => {
        let descriptor = descriptors.get(pick.file);
        if (descriptor === undefined) {
          descriptor = files.openSync(pick.file, 'r');
          descriptors.set(pick.file, descriptor);
        }
        if (scratch.byteLength < pick.byteLength) scratch = new ArrayBuffer(pick.byteLength);
        const bytes = new Uint8Array(scratch, 0, pick.byteLength);
        for (let read = 0; read < pick.byteLength; ) {
          const got = files.readSync(descriptor, bytes, read, pick.byteLength - read, pick.offset + read);
          if (got === 0) throw new Error(`${pick.file} ends before byte ${pick.offset + pick.byteLength}`);
          read += got;
        }
        const count = pick.channels * pick.height * pick.width;
        const data =
          pick.sampleType === 'uint8'
            ? new Uint8Array(scratch, 0, count)
            : pick.sampleType === 'uint16'
              ? new Uint16Array(scratch, 0, count)
              : new Float32Array(scratch, 0, count);
        const sample = images.subarray(index * channels * plane, (index + 1) * channels * plane);
        resize(
          { data, channels: pick.channels, height: pick.height, width: pick.width },
          pick.box,
          job.imgSize,
          job.imgSize,
          pick.flip,
          sample,
        );
        normalise(sample, job.center, job.inverse, plane);
      });
      port.postMessage({ id: job.id, images }, [images.buffer as ArrayBuffer]);
    } catch (error) {
      port.postMessage({ id: job.id, error: error instanceof Error ? error.message : String(error) });
    }
  });
}

/** The thread's whole program: the three functions above and the call that wires them. */
export function loaderWorkerSource(): string {
  return [
    resizeBox.toString(),
    normalisePlanes.toString(),
    loaderWorkerMain.toString(),
    `${loaderWorkerMain.name}(require('node:worker_threads').parentPort, ` +
      `require('node:fs'), ${resizeBox.name}, ${normalisePlanes.name});`,
  ].join('\n');
}

/** A started loader thread: `run` sends a job and resolves with its samples. */
export class LoaderThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<
    number,
    { resolve: (images: Float32Array) => void; reject: (error: Error) => void }
  >();
  private nextId = 0;
  private failure: Error | null = null;

  constructor() {
    this.worker = new Worker(loaderWorkerSource(), { eval: true });
    this.worker.unref(); // a run's end never waits for the loader
    this.worker.on('message', (reply: WorkerReply) => {
      const waiting = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if ('error' in reply) waiting?.reject(new Error(reply.error));
      else waiting?.resolve(reply.images);
    });
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', () => this.fail(new Error('the data loader thread ended')));
  }

  /** Crops and normalises `job`'s picks on the thread. */
  run(job: Omit<WorkerJob, 'id'>): Promise<Float32Array> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...job, id });
    });
  }

  /** Ends the thread; jobs still running are rejected. */
  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.waiting.values()) waiting.reject(this.failure);
    this.waiting.clear();
  }
}
