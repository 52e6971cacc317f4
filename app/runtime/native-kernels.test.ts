/**
 * Every kernel the `native` backend replaces, against the `cpu` backend's kernel of the same
 * name: forward and gradient (tf.grads through the op) on the cases of native-kernels.cases.ts,
 * and bit-identical results with 1 and several addon threads. The list of kernels comes from
 * the registration, so a kernel added without cases fails here.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../mae/rng';
import { AdamW } from '../train/adamw';
import { ADAMW_KERNEL, fusedAdamWAvailable } from './fused-adamw';
import { FUSED_KERNEL_NAMES } from './fused-ops';
import { ensureGradients } from './gradients';
import { loadNativeAddon, type NativeAddon } from './native-addon';
import { NATIVE_BACKEND, registerNativeBackend } from './native-backend';
import { NATIVE_KERNEL_NAMES } from './native-kernels';
import { kernelCases, type InputSpec, type KernelCase } from './native-kernels.cases';

/** |native − cpu| ≤ TOLERANCE · max(|cpu|, rms(cpu)): relative, except where a sum cancels to near 0. */
const TOLERANCE = 1e-5;
/** More threads than this box has cores, so tasks really interleave. */
const THREADS = 4;

const load = loadNativeAddon();
const addonCalls = new Map<string, number>();
/** The addon, counting calls of each function, so a case can tell whether the addon ran at all. */
const countingAddon: NativeAddon | null = load.ok
  ? new Proxy(load.addon, {
      get(target, key) {
        if (typeof key === 'string') addonCalls.set(key, (addonCalls.get(key) ?? 0) + 1);
        return Reflect.get(target, key) as unknown;
      },
    })
  : null;
const computeCalls = (): number =>
  [...addonCalls]
    .filter(([name]) => !['setThreads', 'threads', 'features'].includes(name))
    .reduce((sum, [, n]) => sum + n, 0);

interface Made {
  values: Float32Array | Int32Array;
  shape: number[];
  dtype: 'float32' | 'int32';
}
interface Output {
  shape: number[];
  values: Float32Array;
}

function seedOf(text: string): number {
  let hash = 17;
  for (const char of text) hash = (Math.imul(hash, 31) + char.charCodeAt(0)) | 0;
  return hash;
}

function make(spec: InputSpec, rng: Rng): Made {
  const size = spec.shape.reduce((product, n) => product * n, 1);
  const { fill } = spec;
  if (typeof fill === 'object' && 'indices' in fill)
    return {
      values: Int32Array.from({ length: size }, () => rng.int(fill.indices)),
      shape: spec.shape,
      dtype: 'int32',
    };
  const draw =
    typeof fill === 'object'
      ? (i: number) => fill.values[i]!
      : fill === 'positive'
        ? () => rng.uniformIn(0.25, 4)
        : fill === 'nonzero'
          ? () => (rng.uniform() < 0.5 ? -1 : 1) * rng.uniformIn(0.5, 2)
          : () => rng.normal();
  return { values: Float32Array.from({ length: size }, (_, i) => draw(i)), shape: spec.shape, dtype: 'float32' };
}

const read = (t: tf.Tensor): Output => ({
  shape: [...t.shape],
  values: Float32Array.from(t.dataSync() as Float32Array),
});

/**
 * Runs the case on the active backend (its `reference` op instead when `asReference`): its
 * outputs, then the gradients of its float inputs.
 */
function evaluate(
  kernelCase: KernelCase,
  data: Made[],
  seed: number,
  asReference = false,
): { outputs: Output[]; forwardCount: number; addonCalls: number } {
  const op = (asReference && kernelCase.reference) || kernelCase.op;
  tf.engine().startScope();
  try {
    const xs = data.map((d) => tf.tensor(d.values, d.shape, d.dtype));
    const before = computeCalls();
    const forward = [op(xs)].flat();
    const calls = computeCalls() - before;
    const outputs = forward.map(read);
    if (kernelCase.gradient !== false) {
      const wrt = data.flatMap((d, i) => (d.dtype === 'float32' ? [i] : []));
      const f = (...args: tf.Tensor[]): tf.Tensor => {
        const all = [...xs];
        wrt.forEach((index, j) => {
          all[index] = args[j]!;
        });
        const results = [op(all)].flat();
        return results.length === 1 ? results[0]! : tf.concat(results.map((r) => tf.reshape(r, [-1]))); // [Σ sizes]
      };
      const y = f(...wrt.map((i) => xs[i]!));
      const dyRng = Rng.fromSeed(seed + 1);
      const dy = tf.tensor(
        Float32Array.from({ length: y.size }, () => dyRng.normal()),
        y.shape,
      );
      outputs.push(
        ...tf
          .grads(f)(
            wrt.map((i) => xs[i]!),
            dy,
          )
          .map(read),
      );
    }
    return { outputs, forwardCount: forward.length, addonCalls: calls };
  } finally {
    tf.engine().endScope();
  }
}

/** The first disagreement beyond TOLERANCE, described, or null. */
function mismatch(actual: Output, expected: Output): string | null {
  if (actual.shape.join() !== expected.shape.join()) return `shape [${actual.shape}], expected [${expected.shape}]`;
  const finite = expected.values.filter(Number.isFinite);
  const rms = Math.sqrt(finite.reduce((sum, v) => sum + v * v, 0) / Math.max(finite.length, 1));
  for (let i = 0; i < expected.values.length; i++) {
    const a = actual.values[i]!;
    const e = expected.values[i]!;
    const same = Number.isFinite(e)
      ? Math.abs(a - e) <= TOLERANCE * Math.max(Math.abs(e), rms)
      : Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e));
    if (!same) return `element ${i} is ${a}, cpu gives ${e} (rms ${rms.toExponential(2)})`;
  }
  return null;
}

function bitwiseEqual(a: Output, b: Output): boolean {
  return a.shape.join() === b.shape.join() && Buffer.from(a.values.buffer).equals(Buffer.from(b.values.buffer));
}

if (!load.ok) {
  const reason =
    `native addon not built: ${load.why}; build it with ` + `\`node native/install.mjs\` (needs g++, make, Eigen)`;
  if (process.env.CI) {
    // CI installs the toolchain (.ci/run), so a missing addon there is a build failure, not a skip.
    it('has the native addon built in CI', () => expect.fail(reason));
  } else {
    describe.skip(`native kernels (skipped: ${reason})`, () => it('needs the addon', () => undefined));
  }
}

describe.runIf(load.ok)('native kernels', () => {
  const addon = load.ok ? load.addon : (null as never);
  const cases = kernelCases();

  beforeAll(async () => {
    await ensureGradients();
    registerNativeBackend(countingAddon!);
  });

  it('has cases, one of them threaded, for every kernel it replaces or adds', () => {
    const cpuKernels = new Map(tf.getKernelsForBackend('cpu').map((k) => [k.kernelName, k.kernelFunc]));
    const replaced = tf
      .getKernelsForBackend(NATIVE_BACKEND)
      .filter((k) => k.kernelFunc !== cpuKernels.get(k.kernelName))
      .map((k) => k.kernelName);
    expect(replaced.filter((name) => name !== ADAMW_KERNEL).sort()).toEqual(
      [...NATIVE_KERNEL_NAMES, ...FUSED_KERNEL_NAMES].sort(),
    );
    for (const name of replaced) {
      if (name === ADAMW_KERNEL) continue; // its own tests below
      expect(cases.get(name), `kernel ${name} has no cases in native-kernels.cases.ts`).toBeDefined();
      expect(
        cases.get(name)!.some((c) => c.threaded),
        `kernel ${name} has no threaded case`,
      ).toBe(true);
    }
    expect(replaced).toContain(ADAMW_KERNEL);
  });

  for (const [name, kernelCasesOfName] of cases) {
    describe(name, () => {
      for (const kernelCase of kernelCasesOfName) {
        const checked = kernelCase.gradient === false ? 'forward' : 'forward and gradient';
        it(`matches cpu, ${checked}, with 1 and ${THREADS} threads: ${kernelCase.label}`, async () => {
          const seed = seedOf(`${name} ${kernelCase.label}`);
          const data = kernelCase.inputs.map((spec, i) => make(spec, Rng.fromSeed(seed + 7 * i)));
          await tf.setBackend('cpu');
          const expected = evaluate(kernelCase, data, seed, true);
          await tf.setBackend(NATIVE_BACKEND);
          addon.setThreads(1);
          const single = evaluate(kernelCase, data, seed);
          addon.setThreads(THREADS);
          const threaded = evaluate(kernelCase, data, seed);
          addon.setThreads(0);
          await tf.setBackend('cpu');

          expect(
            single.addonCalls > 0,
            kernelCase.native === false
              ? 'should not reach the addon (cpu fallback or nothing to compute)'
              : 'should run in the addon',
          ).toBe(kernelCase.native !== false);
          expect(single.outputs).toHaveLength(expected.outputs.length);
          single.outputs.forEach((output, i) => {
            const what = i < single.forwardCount ? `output ${i}` : `gradient ${i - single.forwardCount}`;
            expect(mismatch(output, expected.outputs[i]!), what).toBeNull();
            expect(bitwiseEqual(threaded.outputs[i]!, output), `${what} differs between 1 and ${THREADS} threads`).toBe(
              true,
            );
          });
        });
      }
    });
  }
});

describe.runIf(load.ok)(`fused AdamW (${ADAMW_KERNEL})`, () => {
  const addon = load.ok ? load.addon : (null as never);
  /** A decayed matrix large enough for several tasks, a not-decayed bias, a 1-element token. */
  const SHAPES: Record<string, number[]> = {
    'blocks.0.mlp.fc1.weight': [257, 301],
    'blocks.0.mlp.fc1.bias': [301],
    cls_token: [1],
  };

  /** Three AdamW steps on the active backend; returns parameters and moments by name. */
  function threeSteps(): Map<string, Float32Array> {
    const rng = Rng.fromSeed(11);
    const params = new Map(
      Object.entries(SHAPES).map(([name, shape]) => [
        name,
        tf.variable(
          tf.tensor(
            Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
            shape,
          ),
        ),
      ]),
    );
    const optimizer = new AdamW(params);
    for (let step = 0; step < 3; step++) {
      const grads = new Map(
        [...params].map(([name, p]) => [
          name,
          tf.tensor(
            Float32Array.from({ length: p.size }, () => rng.normal() * 0.1),
            p.shape,
          ),
        ]),
      );
      optimizer.step(grads, 1e-3 * (step + 1));
      tf.dispose([...grads.values()]);
    }
    const state = new Map<string, Float32Array>();
    for (const [name, p] of params) {
      state.set(name, Float32Array.from(p.dataSync()));
      state.set(`${name}/m`, Float32Array.from(optimizer.firstMoments.get(name)!.dataSync()));
      state.set(`${name}/v`, Float32Array.from(optimizer.secondMoments.get(name)!.dataSync()));
    }
    optimizer.dispose();
    tf.dispose([...params.values()]);
    return state;
  }

  beforeAll(async () => {
    await ensureGradients();
    registerNativeBackend(countingAddon!);
  });

  it('matches the composite AdamW on cpu, and threads do not change it', async () => {
    await tf.setBackend('cpu');
    expect(fusedAdamWAvailable()).toBe(false);
    const composite = threeSteps();
    await tf.setBackend(NATIVE_BACKEND);
    expect(fusedAdamWAvailable()).toBe(true);
    const before = addonCalls.get('adamw') ?? 0;
    addon.setThreads(1);
    const single = threeSteps();
    addon.setThreads(THREADS);
    const threaded = threeSteps();
    addon.setThreads(0);
    await tf.setBackend('cpu');
    // 2 runs × 3 steps × 3 parameters
    expect((addonCalls.get('adamw') ?? 0) - before).toBe(2 * 3 * Object.keys(SHAPES).length);
    for (const [key, values] of composite) {
      expect(
        mismatch({ shape: [values.length], values: single.get(key)! }, { shape: [values.length], values }),
        key,
      ).toBeNull();
      expect(
        bitwiseEqual({ shape: [], values: threaded.get(key)! }, { shape: [], values: single.get(key)! }),
        `${key}: 1 vs ${THREADS} threads`,
      ).toBe(true);
    }
  });

  it('updates parameter and moments in place only where nothing else can see them', async () => {
    await tf.setBackend(NATIVE_BACKEND);
    const rng = Rng.fromSeed(5);
    const param = tf.variable(
      tf.tensor(
        Float32Array.from({ length: 257 * 3 }, () => rng.normal()),
        [257, 3],
      ),
    );
    const optimizer = new AdamW(new Map([['blocks.0.attn.qkv.weight', param]]));
    const m = optimizer.firstMoments.get('blocks.0.attn.qkv.weight')!;
    const step = (): void => {
      const grad = tf.tensor(
        Float32Array.from({ length: param.size }, () => rng.normal()),
        param.shape,
      );
      optimizer.step(new Map([['blocks.0.attn.qkv.weight', grad]]), 1e-2);
      grad.dispose();
    };
    step(); // from user data and zerosLike: new arrays
    const ids = [param.dataId, m.dataId];
    step();
    expect([param.dataId, m.dataId], "after the first step the state is the kernel's own: updated in place").toEqual(
      ids,
    );

    const kept = tf.clone(param); // shares the data entry: refCount 2
    const copy = tf.mul(param, 1); // read through a copy, so param's array itself is not handed out
    const keptValues = Float32Array.from(copy.dataSync());
    copy.dispose();
    const read = m.dataSync(); // the moment's own array, handed out
    const readValues = Float32Array.from(read);
    step();
    expect(param.dataId).not.toBe(ids[0]);
    expect(m.dataId).not.toBe(ids[1]);
    expect(kept.dataSync()).toEqual(keptValues);
    expect(read).toEqual(readValues);
    const updated = param.dataSync(); // hands out the parameter's new array
    expect(updated).not.toEqual(keptValues); // the step did update it

    const [paramId, momentId] = [param.dataId, m.dataId];
    step();
    expect(param.dataId, 'a parameter read out is not overwritten').not.toBe(paramId);
    expect(m.dataId, 'the new moment no one has seen is updated in place').toBe(momentId);
    expect(kept.dataSync()).toEqual(keptValues);
    kept.dispose();
    const again = [param.dataId, m.dataId];
    step();
    expect([param.dataId, m.dataId], 'new arrays no one has seen: in place again').toEqual(again);
    optimizer.dispose();
    param.dispose();
    await tf.setBackend('cpu');
  });

  it('throws naming a gradient whose shape differs from its parameter', async () => {
    await tf.setBackend(NATIVE_BACKEND);
    const [param, m, v, grad] = [tf.zeros([3, 2]), tf.zeros([3, 2]), tf.zeros([3, 2]), tf.zeros([2, 3])];
    expect(() =>
      tf
        .engine()
        .runKernel(
          ADAMW_KERNEL,
          { param: param!, m: m!, v: v!, grad: grad! },
          { lr: 1, beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0, correction1: 1, correction2: 1 },
        ),
    ).toThrow('gradient shape 2,3 differs from parameter 3,2');
    tf.dispose([param!, m!, v!, grad!]);
    await tf.setBackend('cpu');
  });
});
