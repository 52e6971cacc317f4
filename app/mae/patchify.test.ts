import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { patchify, unpatchify } from './patchify';
import { useCpuBackend } from './mae.fixtures';

beforeAll(useCpuBackend);

describe('patchify', () => {
  it.each([1, 3, 5])('round-trips through unpatchify with C = %i', (channels) => {
    const imgs = tf.randomNormal([2, channels, 12, 12]);
    const patches = patchify(imgs, 4);
    expect(patches.shape).toEqual([2, 9, channels * 16]);
    const back = unpatchify(patches, 4, channels);
    expect(Array.from(back.dataSync())).toEqual(Array.from(imgs.dataSync()));
    tf.dispose([imgs, patches, back]);
  });

  it('orders each patch (c, i, j) like a Conv2d weight [D, C, p, p]', () => {
    const [channels, size, p] = [2, 4, 2];
    const values = Float32Array.from({ length: channels * size * size }, (_, k) => k);
    const imgs = tf.tensor4d(values, [1, channels, size, size]);
    const patches = patchify(imgs, p).arraySync() as number[][][];
    // patch (row 1, column 0) = token 2; element (c=1, i=0, j=1) is at 1*4 + 0*2 + 1 = 5
    expect(patches[0]![2]![5]).toBe(values[1 * 16 + (1 * p + 0) * size + (0 * p + 1)]);
    imgs.dispose();
  });

  it('rejects an image not divisible by the patch size', () => {
    const imgs = tf.zeros([1, 1, 10, 10]);
    expect(() => patchify(imgs, 4)).toThrow('divisible by the patch size 4');
    imgs.dispose();
  });
});
