/**
 * The native backend recycles kernel outputs (native-buffers.ts): values a caller can still
 * see — a kept tensor, a variable, an array from dataSync(), a cpu kernel's view of a freed
 * output — must never be overwritten by a later kernel that reuses the array. Each test first
 * shows that reuse really happens in its scenario, so it would catch a pool that overwrote.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferPool, NativeBackend } from './native-buffers';
import { loadNativeAddon } from './native-addon';
import { NATIVE_BACKEND, registerNativeBackend } from './native-backend';

const load = loadNativeAddon();
const SIZE = 257; // odd, pooled

function pool(): BufferPool {
  const backend = tf.engine().findBackend(NATIVE_BACKEND);
  if (!(backend instanceof NativeBackend)) throw new Error('the native backend is not a NativeBackend');
  return backend.buffers;
}

/** Many same-size native kernel outputs, made and freed: each can take any free array. */
function churn(rounds = 20): void {
  for (let i = 0; i < rounds; i++) {
    tf.tidy(() => {
      const a = tf.fill([SIZE], 1000 + i);
      const b = tf.add(a, tf.scalar(1)); // native Add, SIZE floats
      tf.mul(b, tf.scalar(-3)); // native Multiply, SIZE floats
    });
  }
}

describe.runIf(load.ok)('native backend buffer recycling', () => {
  beforeAll(async () => {
    registerNativeBackend(load.ok ? load.addon : (null as never));
    await tf.setBackend(NATIVE_BACKEND);
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('reuses freed kernel outputs', () => {
    churn(2);
    const before = pool().reused;
    churn();
    expect(pool().reused - before).toBeGreaterThanOrEqual(20);
  });

  it('never overwrites a tensor the caller keeps across steps', () => {
    const kept = tf.tidy(() => tf.add(tf.range(0, SIZE), tf.scalar(0.5))); // a native output
    const expected = Float32Array.from({ length: SIZE }, (_, i) => i + 0.5);
    const before = pool().reused;
    for (let step = 0; step < 5; step++) {
      churn();
      // a reshape shares kept's data entry, then lets go of it
      tf.tidy(() => tf.sub(tf.reshape(kept, [1, SIZE]), tf.scalar(1)));
    }
    expect(pool().reused).toBeGreaterThan(before);
    expect(kept.dataSync()).toEqual(expected);
    kept.dispose();
  });

  it('never overwrites a variable assigned a kernel output', () => {
    const variable = tf.variable(tf.zeros([SIZE]));
    tf.tidy(() => variable.assign(tf.add(tf.range(0, SIZE), tf.scalar(2))));
    churn();
    expect(variable.dataSync()).toEqual(Float32Array.from({ length: SIZE }, (_, i) => i + 2));
    variable.dispose();
  });

  it('never reuses an array handed out by dataSync(), even after its tensor is gone', () => {
    const t = tf.tidy(() => tf.add(tf.range(0, SIZE), tf.scalar(7)));
    const values = t.dataSync();
    const copy = Float32Array.from(values);
    t.dispose();
    const before = pool().reused;
    churn();
    expect(pool().reused).toBeGreaterThan(before);
    expect(values).toEqual(copy);
  });

  it('never reuses an array under data.then() either', async () => {
    const t = tf.tidy(() => tf.add(tf.range(0, SIZE), tf.scalar(9)));
    const values = await t.data();
    const copy = Float32Array.from(values);
    t.dispose();
    churn();
    expect(values).toEqual(copy);
  });

  it('never reuses an output that a cpu kernel wrapped as a view (unstack keeps slices of it)', () => {
    const x = tf.tidy(() => tf.reshape(tf.add(tf.range(0, SIZE * 3), tf.scalar(1)), [3, SIZE])); // one native output
    const rows = tf.unstack(x); // the cpu Unpack kernel: its contiguous slices are subarrays of x's array
    x.dispose(); // nothing was read out: only the views hold the array now
    const before = pool().reused;
    churn(40);
    tf.tidy(() => tf.add(tf.range(0, SIZE * 3), tf.scalar(-1))); // an output of the size x had
    expect(pool().reused).toBeGreaterThan(before);
    rows.forEach((row, i) =>
      expect(row.dataSync()).toEqual(Float32Array.from({ length: SIZE }, (_, j) => i * SIZE + j + 1)),
    );
    tf.dispose(rows);
  });

  it('keeps no more than its cap in the free lists', () => {
    const small = new BufferPool(4 * SIZE * 2); // room for two arrays of SIZE floats
    const arrays = [small.take(SIZE), small.take(SIZE), small.take(SIZE)];
    const ids = arrays.map((_, i) => ({ id: i }));
    arrays.forEach((array, i) => small.stored(ids[i]!, array));
    arrays.forEach((array, i) => small.released(ids[i]!, array));
    expect(small.pooledBytes).toBe(4 * SIZE * 2);
    expect(small.take(SIZE)).toBe(arrays[1]);
  });

  it('recycles an array its one data entry released, and not one a second entry holds', () => {
    const small = new BufferPool();
    const [first, second] = [{ id: 1 }, { id: 2 }];
    const alone = small.take(SIZE);
    small.stored(first, alone);
    small.released(first, alone);
    expect(small.pooledBytes).toBe(4 * SIZE);
    const shared = small.take(SIZE + 1);
    small.stored(first, shared);
    small.stored(second, shared.subarray(3)); // e.g. a cpu kernel wrapped it
    small.released(first, shared);
    expect(small.pooledBytes).toBe(4 * SIZE);
  });
});
