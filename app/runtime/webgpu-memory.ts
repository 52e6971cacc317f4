/**
 * GPU memory on the webgpu backend. Every TF.js tensor there is one storage buffer, and an
 * adapter caps the size of one (`maxBufferSize`, and `maxStorageBufferBindingSize` for one bound
 * to a shader: 128 MiB on many), so the largest batch is set by the largest tensor of a step (the
 * attention scores, [B, heads, N, N]) as much as by total memory; `train/webgpu-batch-limit.ts`
 * sizes that for an MAE. A step that allocates past either makes Dawn report an error rather than
 * throw; `openGpuErrorScope` / `closeGpuErrorScope` catch those around a step's forward and
 * backward pass, before the optimizer touches the weights.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Bytes of GPU buffers the webgpu backend holds for live tensors (null on other backends). */
export function gpuBytesInUse(): number | null {
  const memory = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
  return tf.getBackend() === 'webgpu' && typeof memory.numBytesInGPU === 'number' ? memory.numBytesInGPU : null;
}

/** The webgpu backend's device and command queue, as tfjs-backend-webgpu exposes them. */
interface WebGpuBackendLike {
  device: GPUDevice;
  commandEncoder: GPUCommandEncoder | null;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

/** Submits the commands the backend has recorded but not yet sent (it batches them). */
function flush(backend: WebGpuBackendLike): void {
  if (!backend.commandEncoder) return;
  backend.endComputePassEncoder();
  backend.submitQueue();
}

function activeWebGpu(): WebGpuBackendLike | null {
  return tf.getBackend() === 'webgpu' ? (tf.backend() as unknown as WebGpuBackendLike) : null;
}

/**
 * Starts catching the device's out-of-memory and validation errors (a tensor over the binding
 * limit) on the webgpu backend; a no-op elsewhere. Commands queued before are submitted first,
 * so an error cannot throw away the previous step's update with them.
 */
export function openGpuErrorScope(): boolean {
  const backend = activeWebGpu();
  if (!backend) return false;
  flush(backend);
  backend.device.pushErrorScope('validation');
  backend.device.pushErrorScope('out-of-memory');
  return true;
}

/** Ends the scope `openGpuErrorScope` opened; the first error it caught, or null. */
export async function closeGpuErrorScope(): Promise<string | null> {
  const backend = activeWebGpu();
  if (!backend) return null;
  flush(backend); // errors of commands still queued belong to this scope too
  const outOfMemory = await backend.device.popErrorScope();
  const validation = await backend.device.popErrorScope();
  if (outOfMemory) return `out of GPU memory (${outOfMemory.message.split('\n')[0]})`;
  if (validation) return `a GPU buffer over the adapter's limits (${validation.message.split('\n')[0]})`;
  return null;
}
