import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { randomMasking } from '../mae/masking';
import { createMae, disposeModel, forwardMae } from '../mae/model';
import { Rng } from '../mae/rng';
import { TINY_MAE } from '../mae/mae.fixtures';
import { selectBackend } from './backend';
import { loadNativeAddon } from './native-addon';

/** One loss and gradient norm of the tiny MAE on the active backend. */
function oneStep(): { loss: number; gradNorm: number } {
  const model = createMae({ ...TINY_MAE, imgSize: 16 }, 1);
  const rng = Rng.fromSeed(2);
  const imgs = tf.tensor4d(
    Float32Array.from({ length: 2 * 2 * 16 * 16 }, () => rng.normal()),
    [2, 2, 16, 16],
  );
  const masks = randomMasking({ batchSize: 2, gridSide: 4, maskRatio: 0.75 }, rng);
  const { value, grads } = tf.variableGrads(() => forwardMae(model, imgs, masks).loss, [...model.params.values()]);
  const loss = value.dataSync()[0]!;
  const gradNorm = Math.sqrt(
    Object.values(grads).reduce((total, g) => total + tf.tidy(() => tf.sum(tf.square(g)).dataSync()[0]!), 0),
  );
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
    await expect(
      selectBackend('native', { log: () => undefined, nativeAddonPath: '/nonexistent/addon.node' }),
    ).rejects.toThrow('backend native is unavailable: native addon not built (no /nonexistent/addon.node)');
  });

  it('falls through unavailable backends in auto, one log line each', async () => {
    const lines: string[] = [];
    const selection = await selectBackend('auto', {
      log: (line) => lines.push(line),
      nativeAddonPath: '/nonexistent/addon.node',
    });
    expect(['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu']).toContain(selection.backend);
    expect(lines.filter((line) => line.startsWith('backend native unavailable'))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/^backend: /);
  });

  it('falls back in auto with one log line when the addon is there but does not load', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'mae-native-'));
    const broken = join(folder, 'mae_studio_native.node');
    writeFileSync(broken, 'not a shared object'); // e.g. built for another Node ABI or truncated
    try {
      const lines: string[] = [];
      const selection = await selectBackend('auto', { log: (line) => lines.push(line), nativeAddonPath: broken });
      expect(selection.backend).not.toBe('native');
      const nativeLines = lines.filter((line) => line.startsWith('backend native'));
      expect(nativeLines).toHaveLength(1);
      expect(nativeLines[0]).toContain(`backend native unavailable: native addon ${broken} failed to load (`);
      await expect(selectBackend('native', { log: () => undefined, nativeAddonPath: broken })).rejects.toThrow(
        `backend native is unavailable: native addon ${broken} failed to load`,
      );
    } finally {
      rmSync(folder, { recursive: true });
    }
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

  it.runIf(loadNativeAddon().ok)(
    'takes native in auto when the addon is built, with the same loss and gradients as cpu',
    async () => {
      await selectBackend('cpu', { log: () => undefined });
      const onCpu = oneStep();
      const lines: string[] = [];
      const selection = await selectBackend('auto', { log: (line) => lines.push(line) });
      // only those come first
      if (selection.backend !== 'native') expect(['tfjs-node-gpu', 'webgpu', 'tfjs-node']).toContain(selection.backend);
      await selectBackend('native', { log: () => undefined });
      expect(tf.getBackend()).toBe('native');
      const onNative = oneStep();
      expect(Math.abs(onNative.loss - onCpu.loss)).toBeLessThan(1e-5 * Math.abs(onCpu.loss));
      expect(Math.abs(onNative.gradNorm - onCpu.gradNorm)).toBeLessThan(1e-4 * onCpu.gradNorm);
      await selectBackend('cpu', { log: () => undefined });
    },
  );
});
