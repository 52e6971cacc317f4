/** A checkpoint never holds a poisoned state: its tensors are checked before anything is written. */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from '../mae/mae.fixtures';
import { checkpointTensors } from './trainer-checkpoint';
import { NonFiniteLossError } from './trainer-errors';

beforeAll(useCpuBackend);

describe('checkpoint tensors', () => {
  it('names every tensor under its group prefix, and refuses NaN or infinity naming the tensor', async () => {
    const weights = new Map([['w', tf.variable(tf.tensor([1, 2, 3, 4], [2, 2]))]]);
    const moments = new Map([['w', tf.variable(tf.tensor([0.5, Number.NaN]))]]);
    try {
      const tensors = await checkpointTensors([[weights, 'model.']], 7, 1e-3);
      expect([...tensors.keys()]).toEqual(['model.w']);
      expect(tensors.get('model.w')).toEqual({ shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) });
      const refused = checkpointTensors(
        [
          [weights, 'model.'],
          [moments, 'optimizer.m.'],
        ],
        7,
        1e-3,
      );
      await expect(refused).rejects.toThrow(NonFiniteLossError);
      await expect(refused).rejects.toThrow('optimizer.m.w holds NaN or infinite values');
    } finally {
      tf.dispose([...weights.values(), ...moments.values()]);
    }
  });
});
