/**
 * Loading the C++ addon built from native/ (`npm ci` runs node-gyp there; see native/README.md).
 * There are two builds of it: a baseline one, and on x64 one for AVX2+FMA CPUs, taken when the
 * baseline build reports that the CPU has them. Packaged Electron apps keep the addon outside
 * the asar archive (electron-builder.yml asarUnpack), so `app.asar` paths map to `app.asar.unpacked`.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The functions the addon exports (native/src/addon.cc). Outputs are caller-allocated. */
export interface NativeAddon {
  matMul(
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    m: number,
    k: number,
    n: number,
    transposeA: boolean,
    transposeB: boolean,
    aOffsets: Int32Array,
    bOffsets: Int32Array,
  ): void;
  binary(
    op: number,
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    shape: Int32Array,
    aStrides: Int32Array,
    bStrides: Int32Array,
  ): void;
  unary(op: number, x: Float32Array, out: Float32Array): void;
  reduce(op: number, x: Float32Array, out: Float32Array, outer: number, reduced: number, inner: number): void;
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /** Softmax's gradient: dx = dy·y − (Σ_row dy·y)·y over rows of [rows, cols]. */
  softmaxGrad(dy: Float32Array, y: Float32Array, dx: Float32Array, rows: number, cols: number): void;
  stridedCopy(
    src: Float32Array,
    srcOffset: number,
    dst: Float32Array,
    dstOffset: number,
    shape: Int32Array,
    srcStrides: Int32Array,
    dstStrides: Int32Array,
  ): void;
  gather(x: Float32Array, indices: Int32Array, out: Float32Array, outer: number, rows: number, inner: number): void;
  /** Writes the updated parameter and moments to the three out arrays (see fused-adamw.ts for the scalars). */
  adamw(
    param: Float32Array,
    m: Float32Array,
    v: Float32Array,
    grad: Float32Array,
    outParam: Float32Array,
    outM: Float32Array,
    outV: Float32Array,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    rootCorrection2: number,
    epsilon: number,
    decayFactor: number,
    stepSize: number,
  ): void;
  /** y [rows, out] = x [rows, in] · weight [in, out] + bias [out]. */
  linear(
    x: Float32Array,
    weight: Float32Array,
    bias: Float32Array,
    y: Float32Array,
    rows: number,
    inDim: number,
    outDim: number,
  ): void;
  /** linear's gradients: dy·weightᵀ, xᵀ·dy and Σ_rows dy. */
  linearGrad(
    dy: Float32Array,
    x: Float32Array,
    weight: Float32Array,
    dx: Float32Array,
    dweight: Float32Array,
    dbias: Float32Array,
    rows: number,
    inDim: number,
    outDim: number,
  ): void;
  /** LayerNorm over the rows of x [rows, cols]; writes y and each row's mean and 1/√(var + ε). */
  layerNorm(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    y: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    rows: number,
    cols: number,
    epsilon: number,
  ): void;
  /** LayerNorm's gradients from dy, x and the forward's mean and rstd. */
  layerNormGrad(
    dy: Float32Array,
    x: Float32Array,
    gamma: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    rows: number,
    cols: number,
  ): void;
  /** Exact GELU, x·Φ(x). */
  gelu(x: Float32Array, y: Float32Array): void;
  /** GELU's gradient, dy·(Φ(x) + x·φ(x)). */
  geluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  /** Sets the thread count (the calling thread included); 0 = all cores or MAE_STUDIO_THREADS. */
  setThreads(count: number): void;
  threads(): number;
  features(): { cpuAvx2: boolean; isa: string };
}

/** A loaded addon, or why none could be loaded. */
export type AddonLoad = { ok: true; addon: NativeAddon; path: string; baseline: string } | { ok: false; why: string };

const BASELINE = 'mae_studio_native.node';
const AVX2 = 'mae_studio_native_avx2.node';
const moduleRequire = createRequire(import.meta.url);

/** Where the baseline addon may be: next to the sources (dev, CLI) or the unpacked app (Electron). */
export function defaultAddonPaths(): string[] {
  const here = dirname(fileURLToPath(import.meta.url)); // app/runtime, or dist/cli once bundled
  const paths = [resolve(here, '../../native/build/Release', BASELINE), resolve('native/build/Release', BASELINE)];
  return [...new Set(paths.map((path) => path.replace(`${sep}app.asar${sep}`, `${sep}app.asar.unpacked${sep}`)))];
}

let loaded: AddonLoad | null = null;

/**
 * Loads the addon once per process: `path` names the baseline build (default: the first of
 * `defaultAddonPaths` that exists); its AVX2 sibling is used instead when the CPU supports it,
 * unless MAE_STUDIO_NATIVE_BASELINE=1 (to test or rule out the AVX2 build).
 */
export function loadNativeAddon(path?: string): AddonLoad {
  // another path is tried, not answered from the cache
  if (loaded?.ok && (path === undefined || resolve(path) === loaded.baseline)) return loaded;
  const candidates = path ? [path] : defaultAddonPaths();
  const baseline = candidates.find(existsSync);
  if (!baseline) return { ok: false, why: `native addon not built (no ${candidates[0]})` };
  try {
    let addon = moduleRequire(baseline) as NativeAddon;
    let chosen = baseline;
    const faster = join(dirname(baseline), AVX2);
    if (addon.features().cpuAvx2 && existsSync(faster) && process.env.MAE_STUDIO_NATIVE_BASELINE !== '1') {
      addon = moduleRequire(faster) as NativeAddon;
      chosen = faster;
    }
    loaded = { ok: true, addon, path: chosen, baseline: resolve(baseline) };
    return loaded;
  } catch (error) {
    return {
      ok: false,
      why: `native addon ${baseline} failed to load (${error instanceof Error ? error.message : String(error)})`,
    };
  }
}
