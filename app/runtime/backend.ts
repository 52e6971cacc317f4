/**
 * Chooses the TF.js backend a run uses. `auto` walks tfjs-node-gpu → webgpu → tfjs-node →
 * native → wasm → cpu and takes the first that works (webgpu only on a hardware adapter); a
 * forced choice that does not work throws, naming the backend and why. The optional packages
 * are loaded with a dynamic import so the studio builds and runs without them. The model code
 * never looks at the result.
 */
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_CHOICES } from '../contract';
import { ensureGradients } from './gradients';
import { loadNativeAddon } from './native-addon';
import { registerNativeBackend } from './native-backend';
import { nvidiaGpu, tfjsNodeGpuProblem } from './cuda-check';
import { attemptWebGpu, type WebGpuAdapter } from './webgpu';

/** What the user may ask for: one of the contract's `BACKEND_CHOICES`. */
export type BackendPreference = (typeof BACKEND_CHOICES)[number];

/**
 * The backends `auto` tries, fastest first: the contract's `BACKEND_CHOICES` after `auto`, in their
 * order. tfjs-node (libtensorflow on the CPU) stays ahead of native where it is installed, as before webgpu.
 */
export const BACKEND_ORDER: readonly Exclude<BackendPreference, 'auto'>[] = BACKEND_CHOICES.filter(
  (choice): choice is Exclude<BackendPreference, 'auto'> => choice !== 'auto',
);

/** The outcome of `selectBackend`. */
export interface BackendSelection {
  /** Which studio backend was chosen. */
  backend: Exclude<BackendPreference, 'auto'>;
  /** The TF.js backend name now active (`tensorflow`, `wasm`, `cpu`, ...). */
  tfBackend: string;
  /** Human description of the hardware. */
  device: string;
  /** Why this one: forced, or which faster ones were unavailable and why. */
  reason: string;
  /** The GPU adapter of the webgpu backend (vendor, architecture, graphics API, limits). */
  adapter?: WebGpuAdapter;
}

type Attempt = { ok: true; tfBackend: string; device: string; adapter?: WebGpuAdapter } | { ok: false; why: string };

/** Options for `selectBackend`. */
export interface SelectBackendOptions {
  /** Receives one line per unavailable backend and one for the choice (default: stderr). */
  log?: (line: string) => void;
  /** Path of the native addon's baseline build (default: `defaultAddonPaths()` in native-addon.ts). */
  nativeAddonPath?: string;
}

const moduleRequire = createRequire(import.meta.url);

function cpuDevice(): string {
  const list = cpus();
  return `CPU (${list[0]?.model.trim() ?? 'unknown'}, ${list.length} cores)`;
}

async function importOptional(name: string): Promise<{ ok: true } | { ok: false; why: string }> {
  try {
    await import(/* @vite-ignore */ name);
    return { ok: true };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { ok: false, why: `${name} could not be loaded (${message})` };
  }
}

/**
 * The cpu backend (and `native`, built on it) prints a banner advising tfjs-node on its first
 * tensor; the studio logs which backend it chose and why, so the banner only adds noise.
 */
export function silenceBackendBanner(): void {
  const backend = tf.backend() as { firstUse?: boolean };
  if (typeof backend.firstUse === 'boolean') backend.firstUse = false;
}

async function activate(tfBackend: string): Promise<boolean> {
  try {
    const ok = await tf.setBackend(tfBackend);
    if (ok) silenceBackendBanner();
    return ok;
  } catch {
    return false; // setBackend rejects when the backend's init fails
  }
}

/** Whether an optional package is installed, without loading it. */
function installed(name: string): boolean {
  try {
    moduleRequire.resolve(`${name}/package.json`);
    return true;
  } catch {
    return false;
  }
}

async function tryTfjsNode(gpu: boolean): Promise<Attempt> {
  const name = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  if (!installed(name)) return { ok: false, why: `${name} is not installed` };
  const nvidia = gpu ? nvidiaGpu() : null;
  if (gpu) {
    if (nvidia === null) return { ok: false, why: 'no NVIDIA GPU visible (nvidia-smi failed)' };
    const problem = tfjsNodeGpuProblem(nvidia); // before loading: libtensorflow would fall back to the CPU silently
    if (problem) return { ok: false, why: problem };
  }
  const loaded = await importOptional(name);
  if (!loaded.ok) return loaded;
  if (!(await activate('tensorflow'))) return { ok: false, why: 'the tensorflow backend did not initialise' };
  return {
    ok: true,
    tfBackend: 'tensorflow',
    device: gpu ? `GPU (${nvidia!.name}) via CUDA` : `${cpuDevice()} via libtensorflow`,
  };
}

/** Dawn + tfjs-backend-webgpu (webgpu.ts); `auto` refuses a software adapter. */
async function tryWebGpu(allowSoftware: boolean): Promise<Attempt> {
  const found = await attemptWebGpu({ allowSoftware });
  if (!found.ok) return found;
  if (!(await activate(found.tfBackend))) return { ok: false, why: 'the webgpu backend did not initialise' };
  return found;
}

/** The C++ addon of native/ behind a TF.js backend named `native` (app/runtime/native-*.ts). */
async function tryNative(addonPath: string | undefined): Promise<Attempt> {
  const load = loadNativeAddon(addonPath);
  if (!load.ok) return load;
  try {
    await import('@tensorflow/tfjs-backend-cpu'); // its kernels are the native backend's fallbacks
    const name = registerNativeBackend(load.addon);
    if (!(await activate(name))) return { ok: false, why: `native backend ${name} did not initialise` };
    const { isa } = load.addon.features();
    return {
      ok: true,
      tfBackend: name,
      device: `${cpuDevice()} via native kernels (${isa}, ${load.addon.threads()} threads)`,
    };
  } catch (error) {
    return {
      ok: false,
      why: `native backend failed to register (${error instanceof Error ? error.message : String(error)})`,
    };
  }
}

async function tryWasm(): Promise<Attempt> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const distFolder = join(dirname(moduleRequire.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
    wasm.setWasmPaths(`${distFolder}/`); // Node reads the .wasm files from the installed package
    if (!(await activate('wasm'))) return { ok: false, why: 'the wasm backend did not initialise' };
    return { ok: true, tfBackend: 'wasm', device: `${cpuDevice()} via WebAssembly (1 thread in Node)` };
  } catch (error) {
    return {
      ok: false,
      why: `@tensorflow/tfjs-backend-wasm failed (${error instanceof Error ? error.message : String(error)})`,
    };
  }
}

async function tryCpu(): Promise<Attempt> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await activate('cpu'))) return { ok: false, why: 'the cpu backend did not initialise' };
  return { ok: true, tfBackend: 'cpu', device: `${cpuDevice()} via plain JavaScript` };
}

function attempt(
  backend: Exclude<BackendPreference, 'auto'>,
  options: SelectBackendOptions,
  auto: boolean,
): Promise<Attempt> {
  switch (backend) {
    case 'tfjs-node-gpu':
      return tryTfjsNode(true);
    case 'webgpu':
      return tryWebGpu(!auto);
    case 'tfjs-node':
      return tryTfjsNode(false);
    case 'native':
      return tryNative(options.nativeAddonPath);
    case 'wasm':
      return tryWasm();
    case 'cpu':
      return tryCpu();
  }
}

/**
 * Activates a TF.js backend. `auto` takes the first of `BACKEND_ORDER` that works; a named
 * backend that is unavailable throws `backend <name> is unavailable: <why>`.
 */
export async function selectBackend(
  preference: BackendPreference = 'auto',
  options: SelectBackendOptions = {},
): Promise<BackendSelection> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (preference !== 'auto' && !(BACKEND_ORDER as readonly string[]).includes(preference)) {
    throw new Error(`backend must be one of auto, ${BACKEND_ORDER.join(', ')}, got ${String(preference)}`);
  }
  await ensureGradients(); // training needs them whatever the backend
  const candidates = preference === 'auto' ? BACKEND_ORDER : [preference];
  const skipped: string[] = [];
  for (const backend of candidates) {
    const result = await attempt(backend, options, preference === 'auto');
    if (result.ok) {
      const reason =
        preference === 'auto'
          ? skipped.length
            ? `auto: ${skipped.join('; ')}`
            : 'auto: fastest available'
          : 'requested';
      log(`backend: ${backend} on ${result.device} (${reason})`);
      return {
        backend,
        tfBackend: result.tfBackend,
        device: result.device,
        reason,
        ...(result.adapter ? { adapter: result.adapter } : {}),
      };
    }
    if (preference !== 'auto') throw new Error(`backend ${backend} is unavailable: ${result.why}`);
    log(`backend ${backend} unavailable: ${result.why}`);
    skipped.push(`${backend} unavailable (${result.why})`);
  }
  throw new Error(`no TF.js backend could be initialised: ${skipped.join('; ')}`);
}
