/**
 * The one-dispatch AdamW on webgpu gives the cpu AdamW's parameters and moments over several
 * steps, decays only the decayed group, and picks up a parameter re-assigned between steps. Runs
 * on Mesa's llvmpipe in CI; where Dawn finds no adapter the file prints one line and skips.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../mae/rng';
import { AdamW } from '../train/adamw';
import { selectBackend } from './backend';
import { attemptWebGpu } from './webgpu';
import { packedAdamWFits } from './webgpu-adamw';
import { countGpuWork } from './webgpu-counter';

const quiet = { log: () => undefined };
const probe = await attemptWebGpu({ allowSoftware: true });
if (!probe.ok) console.log(`webgpu AdamW tests skipped: ${probe.why}`);

/** Decayed (a matrix, a patch embedding) and not decayed (bias, norm weight, token) parameters. */
const SHAPES: Record<string, number[]> = {
  'blocks.0.attn.qkv.weight': [12, 36],
  'blocks.0.attn.qkv.bias': [36],
  'blocks.0.norm1.weight': [12],
  'patch_embed.proj.weight': [12, 2, 2, 2],
  cls_token: [1, 1, 12],
};
const STEPS = 4;

interface Final {
  params: Map<string, Float32Array>;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
  dispatches: number[];
}

/** Runs STEPS AdamW steps with seeded gradients on `backend`; at step 3 re-assigns one parameter, as a resume does. */
async function train(backend: 'cpu' | 'webgpu'): Promise<Final> {
  await selectBackend(backend, quiet);
  const rng = Rng.fromSeed(21);
  const values = (shape: number[]): Float32Array =>
    Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => rng.normal());
  const params = new Map(
    Object.entries(SHAPES).map(([name, shape]) => [
      name,
      tf.tidy(() => tf.variable(tf.tensor(values(shape), shape), true, `${backend}-${name}`)),
    ]),
  );
  const optimizer = new AdamW(params);
  const dispatches: number[] = [];
  for (let step = 1; step <= STEPS; step++) {
    if (step === 3)
      params
        .get('blocks.0.attn.qkv.weight')!
        .assign(tf.tensor(values(SHAPES['blocks.0.attn.qkv.weight']!), SHAPES['blocks.0.attn.qkv.weight']));
    const grads = new Map(Object.entries(SHAPES).map(([name, shape]) => [name, tf.tensor(values(shape), shape)]));
    const before = tf.memory().numTensors;
    if (backend === 'webgpu')
      dispatches.push((await countGpuWork(() => optimizer.step(grads, 0.02 / step))).counted.dispatches);
    else optimizer.step(grads, 0.02 / step);
    if (step > 1) expect(tf.memory().numTensors).toBe(before); // the first step packs the state (2 tensors on webgpu)
    tf.dispose([...grads.values()]);
  }
  const read = async (variables: Map<string, tf.Variable>): Promise<Map<string, Float32Array>> =>
    new Map(
      await Promise.all(
        [...variables].map(async ([name, variable]) => [name, (await variable.data()) as Float32Array] as const),
      ),
    );
  const final = {
    params: await read(params),
    m: await read(optimizer.firstMoments),
    v: await read(optimizer.secondMoments),
    dispatches,
  };
  const held = tf.memory().numTensors;
  optimizer.dispose();
  tf.dispose([...params.values()]);
  // nothing else is left behind
  expect(held - tf.memory().numTensors).toBe(3 * params.size + (backend === 'webgpu' ? 2 : 0));
  return final;
}

/** Largest |a − b| / max(|b|, 1e-3) over the elements. */
function worstRelative(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), 1e-3));
  return worst;
}

describe.runIf(probe.ok)('AdamW in one webgpu dispatch', () => {
  afterAll(() => selectBackend('cpu', quiet));

  it("gives the cpu AdamW's parameters and moments to 1e-5 relative over steps, one dispatch per step", async () => {
    const onCpu = await train('cpu');
    const onGpu = await train('webgpu');
    expect(packedAdamWFits(1000)).toBe(true);
    expect(onGpu.dispatches).toEqual(Array(STEPS).fill(1));
    for (const part of ['params', 'm', 'v'] as const) {
      for (const [name, expected] of onCpu[part])
        expect(worstRelative(onGpu[part].get(name)!, expected), `${part} ${name}`).toBeLessThan(1e-5);
    }
  });

  it('decays the weight-decay group only', async () => {
    await selectBackend('webgpu', quiet);
    // A zero gradient leaves Adam's step at 0, so what changes is the decay alone: (1 − lr·wd).
    const params = new Map([
      ['head.weight', tf.variable(tf.ones([4, 4]))],
      ['head.bias', tf.variable(tf.ones([4]))],
    ]);
    const optimizer = new AdamW(params, { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.5 });
    const grads = new Map([
      ['head.weight', tf.zeros([4, 4])],
      ['head.bias', tf.zeros([4])],
    ]);
    optimizer.step(grads, 0.1);
    expect([...(await params.get('head.weight')!.data())]).toEqual(Array(16).fill(Math.fround(1 - 0.1 * 0.5)));
    expect([...(await params.get('head.bias')!.data())]).toEqual(Array(4).fill(1));
    tf.dispose([...grads.values(), ...params.values()]);
    optimizer.dispose();
  });
});
