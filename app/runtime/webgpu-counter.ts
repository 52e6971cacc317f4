/**
 * Counts what the webgpu backend does while a function runs: compute dispatches (every program
 * goes through the backend's `runWebGPUProgram`, the fused kernels' and the packed AdamW's too)
 * and GPU → CPU reads (`read` / `readSync` of a tensor whose values are not cached on the CPU
 * already). `tf.profile` counts kernels instead, which is not the same: one kernel can be several
 * dispatches, and the packed AdamW runs its program without a kernel. For the bench and tests.
 */
import * as tf from '@tensorflow/tfjs-core';

/** What `countGpuWork` counted. */
export interface GpuWork {
  dispatches: number;
  reads: number;
}

interface Countable {
  runWebGPUProgram: (...args: unknown[]) => unknown;
  read: (dataId: object) => Promise<unknown>;
  readSync: (dataId: object) => unknown;
  tensorMap: { get(dataId: object): { values: unknown } | undefined };
}

/** Runs `work` on the active webgpu backend and counts its dispatches and reads (throws on another backend). */
export async function countGpuWork<T>(work: () => T | Promise<T>): Promise<{ result: T; counted: GpuWork }> {
  if (tf.getBackend() !== 'webgpu')
    throw new Error(`countGpuWork needs the webgpu backend, the active one is ${tf.getBackend()}`);
  const backend = tf.backend() as unknown as Countable;
  const counted: GpuWork = { dispatches: 0, reads: 0 };
  const original = { runWebGPUProgram: backend.runWebGPUProgram, read: backend.read, readSync: backend.readSync };
  const downloads = (dataId: object): boolean => backend.tensorMap.get(dataId)?.values == null;
  backend.runWebGPUProgram = (...args) => {
    counted.dispatches += 1;
    return original.runWebGPUProgram.apply(backend, args);
  };
  backend.read = (dataId) => {
    if (downloads(dataId)) counted.reads += 1;
    return original.read.call(backend, dataId);
  };
  backend.readSync = (dataId) => {
    if (downloads(dataId)) counted.reads += 1;
    return original.readSync.call(backend, dataId);
  };
  try {
    return { result: await work(), counted };
  } finally {
    // the prototype's again
    for (const name of Object.keys(original)) delete (backend as unknown as Record<string, unknown>)[name];
  }
}
