import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { randomMasking } from '../mae/masking';
import { createMae, disposeModel, forwardMae } from '../mae/model';
import { Rng } from '../mae/rng';
import { TINY_MAE } from '../mae/testing';
import { selectBackend } from './backend';

/** One loss and gradient norm of the tiny MAE on the active backend. */
function oneStep(): { loss: number; gradNorm: number } {
  const model = createMae({ ...TINY_MAE, imgSize: 16 }, 1);
  const rng = Rng.fromSeed(2);
  const imgs = tf.tensor4d(Float32Array.from({ length: 2 * 2 * 16 * 16 }, () => rng.normal()), [2, 2, 16, 16]);
  const masks = randomMasking({ batchSize: 2, gridSide: 4, maskRatio: 0.75 }, rng);
  const { value, grads } = tf.variableGrads(() => forwardMae(model, imgs, masks).loss, [...model.params.values()]);
  const loss = value.dataSync()[0]!;
  const gradNorm = Math.sqrt(Object.values(grads).reduce((total, g) => total + tf.tidy(() => tf.sum(tf.square(g)).dataSync()[0]!), 0));
  tf.dispose([value, imgs, ...Object.values(grads)]);
  disposeModel(model);
  return { loss, gradNorm };
}

describe('selectBackend', () => {
  it('activates a forced cpu backend', async () => {
    const selection = await selectBackend('cpu', { log: () => undefined });
    expect(selection).toMatchObject({ backend: 'cpu', tfBackend: 'cpu', reason: 'requested' });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('throws naming a forced backend that is unavailable and why', async () => {
    await expect(selectBackend('native', { log: () => undefined, nativeAddonPath: '/nonexistent/addon.node' }))
      .rejects.toThrow('backend native is unavailable: native addon not built (no /nonexistent/addon.node)');
  });

  it('falls through unavailable backends in auto, one log line each', async () => {
    const lines: string[] = [];
    const selection = await selectBackend('auto', { log: (line) => lines.push(line), nativeAddonPath: '/nonexistent/addon.node' });
    expect(['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu']).toContain(selection.backend);
    expect(lines.filter((line) => line.startsWith('backend native unavailable'))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/^backend: /);
  });

  it('rejects an unknown preference', async () => {
    await expect(selectBackend('gpu' as never)).rejects.toThrow('backend must be one of auto, tfjs-node-gpu');
  });

  it('gives the same loss and gradients on wasm as on cpu for one step', async () => {
    await selectBackend('cpu', { log: () => undefined });
    const onCpu = oneStep();
    try {
      await selectBackend('wasm', { log: () => undefined });
    } catch (error) {
      console.warn(`wasm comparison skipped: ${(error as Error).message}`);
      return;
    }
    expect(tf.getBackend()).toBe('wasm');
    const onWasm = oneStep();
    expect(onWasm.loss).toBeCloseTo(onCpu.loss, 4);
    expect(onWasm.gradNorm).toBeCloseTo(onCpu.gradNorm, 3);
    await selectBackend('cpu', { log: () => undefined });
  });
});
