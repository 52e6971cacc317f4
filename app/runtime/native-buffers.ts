/**
 * Output buffers of the `native` backend's kernels, recycled. An MAE step makes ~1300 kernel
 * outputs, most of them freed within the same step; as fresh zero-filled Float32Arrays they
 * cost the allocation, the zeroing and, above all, V8's garbage collections ("external memory
 * pressure"). `NativeBackend` hands each freed kernel output back to a per-size free list, and
 * the next kernel output of that size takes it.
 *
 * An array is recycled only when nothing outside the backend can still see it:
 *  - it was allocated here for a native kernel's output (user data and cpu-kernel outputs never are);
 *  - its one tensor data entry was deleted (refCount 0): reshapes, identities and variables
 *    share the data entry, so a tensor anyone keeps keeps the array out of the pool;
 *  - it never left through `readSync`/`read` (`dataSync()`, `data()`, moves to another backend
 *    return the backend's own array, which a caller may keep after the tensor is gone);
 *  - no second data entry was made on it or on a view of its buffer (a cpu kernel may wrap its
 *    input's values, as `Cast` float32→float32 or a contiguous `Slice` subarray do).
 * An array that fails any of these is left to the garbage collector, as before. Every native
 * kernel writes all of its output, so stale contents are never seen.
 */
import type { DataId, TensorInfo } from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

/** Default cap on the bytes the free lists hold (beyond it freed arrays go to the GC). */
export const DEFAULT_POOL_BYTES = 256 * 1024 * 1024;
/** Arrays shorter than this are V8 on-heap objects, as cheap to allocate as to pool. */
const MIN_POOLED_LENGTH = 16;

/** What the pool knows of one array it allocated. */
interface Allocation {
  /** The data entry holding it, null while it is free or not yet stored. */
  owner: DataId | null;
  /** Seen outside the backend: never recycled. */
  escaped: boolean;
}

/** Per-size free lists of float32 arrays, with the ownership checks above. */
export class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  private readonly allocations = new WeakMap<ArrayBuffer, Allocation>();
  private freeBytes = 0;
  /** Arrays handed out from a free list instead of allocated (for tests and benchmarks). */
  reused = 0;

  constructor(readonly capBytes = DEFAULT_POOL_BYTES) {}

  /** A float32 array of `length` elements with arbitrary contents, for a kernel to overwrite. */
  take(length: number): Float32Array {
    if (length < MIN_POOLED_LENGTH) return new Float32Array(length);
    const recycled = this.free.get(length)?.pop();
    if (recycled) {
      this.freeBytes -= recycled.byteLength;
      this.reused += 1;
      return recycled;
    }
    const array = new Float32Array(length);
    this.allocations.set(array.buffer, { owner: null, escaped: false });
    return array;
  }

  /** Records that data entry `dataId` now holds `values`; a second holder makes it escape. */
  stored(dataId: DataId, values: unknown): void {
    const allocation = this.allocationOf(values);
    if (!allocation) return;
    if (allocation.owner === null && !allocation.escaped) allocation.owner = dataId;
    else allocation.escaped = true;
  }

  /** `values` is visible outside the backend from now on. */
  escaped(values: unknown): void {
    const allocation = this.allocationOf(values);
    if (allocation) allocation.escaped = true;
  }

  /** Data entry `dataId`, which held `values`, was deleted: recycles the array if it may. */
  released(dataId: DataId, values: unknown): void {
    const allocation = this.allocationOf(values);
    if (!allocation || allocation.escaped || allocation.owner !== dataId) return;
    const array = values as Float32Array;
    allocation.owner = null;
    if (this.freeBytes + array.byteLength > this.capBytes) {
      allocation.escaped = true; // dropped: the GC takes it
      return;
    }
    let list = this.free.get(array.length);
    if (!list) this.free.set(array.length, (list = []));
    list.push(array);
    this.freeBytes += array.byteLength;
  }

  /** Whether `values` is an array of this pool that only data entry `dataId` holds and nothing outside has seen. */
  ownedBy(dataId: DataId, values: unknown): boolean {
    const allocation = this.allocationOf(values);
    return allocation !== undefined && !allocation.escaped && allocation.owner === dataId;
  }

  /** Bytes held in the free lists. */
  get pooledBytes(): number {
    return this.freeBytes;
  }

  /** Drops every free array. */
  clear(): void {
    this.free.clear();
    this.freeBytes = 0;
  }

  private allocationOf(values: unknown): Allocation | undefined {
    return ArrayBuffer.isView(values) ? this.allocations.get(values.buffer as ArrayBuffer) : undefined;
  }
}

/** The `native` backend's storage: MathBackendCPU's, with kernel outputs recycled through `buffers`. */
export class NativeBackend extends MathBackendCPU {
  readonly buffers = new BufferPool();

  override write(
    values: Parameters<MathBackendCPU['write']>[0],
    shape: number[],
    dtype: Parameters<MathBackendCPU['write']>[2],
  ): DataId {
    const dataId = super.write(values, shape, dtype);
    this.buffers.stored(dataId, values);
    return dataId;
  }

  override move(
    dataId: DataId,
    values: Parameters<MathBackendCPU['move']>[1],
    shape: number[],
    dtype: Parameters<MathBackendCPU['move']>[3],
    refCount: number,
  ): void {
    super.move(dataId, values, shape, dtype, refCount);
    this.buffers.escaped(values);
  }

  override readSync(dataId: DataId): ReturnType<MathBackendCPU['readSync']> {
    const values = super.readSync(dataId);
    this.buffers.escaped(values);
    return values;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const deleted = super.disposeData(dataId, force);
    if (deleted && values !== undefined && !this.data.has(dataId)) this.buffers.released(dataId, values);
    return deleted;
  }

  /**
   * The values of `t` if a kernel may overwrite them in place: a pool array that only `t`'s data
   * entry holds, with refCount 1 (one tensor, e.g. a variable, and no reshape, clone or saved copy
   * of it), never read out. Otherwise null, and the kernel writes a new array.
   */
  exclusiveValues(t: TensorInfo): Float32Array | null {
    if (t.dtype !== 'float32' || this.refCount(t.dataId) !== 1) return null;
    const values = this.data.get(t.dataId).values;
    return values instanceof Float32Array && this.buffers.ownedBy(t.dataId, values) ? values : null;
  }

  override dispose(): void {
    this.buffers.clear();
    super.dispose();
  }
}

/** An output array for a kernel on `backend`: recycled on the native backend, new elsewhere. */
export function outputArray(backend: MathBackendCPU, length: number): Float32Array {
  return backend instanceof NativeBackend ? backend.buffers.take(length) : new Float32Array(length);
}
