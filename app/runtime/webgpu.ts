/**
 * The `webgpu` backend: Dawn (the `webgpu` npm package) created in the training process, never
 * the window, and `@tensorflow/tfjs-backend-webgpu` on its adapter. Dawn is asked for each
 * graphics API this OS has, best first (Metal; D3D12 then Vulkan; Vulkan then OpenGL ES), at
 * the core feature level and then at the compatibility level (what an OpenGL ES driver offers).
 * A software adapter (Mesa's llvmpipe, SwiftShader, WARP) is slower than the `native` CPU
 * kernels, so `auto` refuses it and only a run that names `webgpu` trains on it. Both packages
 * are optional and loaded with a dynamic import: where Dawn cannot load, the studio still runs.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { registerWebGpuKernels } from './webgpu-kernels';

/** The TF.js name of the backend. */
export const WEBGPU_BACKEND = 'webgpu';

/** The graphics APIs Dawn offers, as users know them. */
export type GraphicsApi = 'Metal' | 'D3D12' | 'Vulkan' | 'OpenGL ES';

/** Dawn's `backend=` toggle of each API. */
const DAWN_TOGGLE: Record<GraphicsApi, string> = {
  Metal: 'metal',
  D3D12: 'd3d12',
  Vulkan: 'vulkan',
  'OpenGL ES': 'opengles',
};

/** The APIs tried on each OS, best first. */
export function graphicsApis(platform: NodeJS.Platform = process.platform): GraphicsApi[] {
  if (platform === 'darwin') return ['Metal'];
  if (platform === 'win32') return ['D3D12', 'Vulkan'];
  return ['Vulkan', 'OpenGL ES'];
}

/** What the run, the New-run dialog and the model card say about the adapter. */
export interface WebGpuAdapter {
  vendor: string;
  architecture: string;
  /** The driver's device name (`llvmpipe (LLVM 15.0.6, 256 bits)`, `Apple M2`, …). */
  deviceName: string;
  api: GraphicsApi;
  featureLevel: 'core' | 'compatibility';
  /** A CPU rasteriser pretending to be a GPU. */
  software: boolean;
  /** The adapter's limits that bound one tensor (bytes). */
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

/** The adapter info fields Dawn reports. */
interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

const SOFTWARE_NAMES = /llvmpipe|lavapipe|softpipe|swiftshader|basic render driver|\bwarp\b/i;

/** Whether an adapter is a software rasteriser (by Dawn's flag or its well-known names). */
export function isSoftwareAdapter(info: AdapterInfoLike): boolean {
  return (
    info.isFallbackAdapter === true ||
    SOFTWARE_NAMES.test(`${info.device ?? ''} ${info.description ?? ''} ${info.vendor ?? ''}`)
  );
}

/** One line naming the adapter: `GPU (apple metal-3, Apple M2) via Metal`. */
export function describeAdapter(adapter: WebGpuAdapter): string {
  const maker = [adapter.vendor, adapter.architecture].filter(Boolean).join(' ');
  const name = [maker, adapter.deviceName].filter(Boolean).join(', ') || 'unnamed adapter';
  const level = adapter.featureLevel === 'compatibility' ? ', compatibility level' : '';
  return `${adapter.software ? 'software GPU' : 'GPU'} (${name}) via ${adapter.api}${level}`;
}

interface Found {
  adapter: WebGpuAdapter;
  device: GPUDevice;
  info: AdapterInfoLike;
}
type Discovery = { ok: true; found: Found } | { ok: false; why: string };

let discovery: Promise<Discovery> | null = null;
/** Dawn instances must outlive their devices: held here for the process's lifetime. */
const instances: GPU[] = [];
let deviceError: string | null = null;

function message(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

async function requestAdapter(
  gpu: GPU,
): Promise<{ adapter: GPUAdapter; featureLevel: 'core' | 'compatibility' } | null> {
  const core = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (core) return { adapter: core, featureLevel: 'core' };
  const compatibility = await gpu.requestAdapter({
    powerPreference: 'high-performance',
    featureLevel: 'compatibility',
  } as GPURequestAdapterOptions);
  return compatibility ? { adapter: compatibility, featureLevel: 'compatibility' } : null;
}

async function openDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    requiredLimits: {
      // the largest the adapter allows: tensors are storage buffers
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    },
  });
  device.addEventListener('uncapturederror', (event) => {
    const error = (event as GPUUncapturedErrorEvent).error;
    deviceError ??=
      `${error.constructor.name === 'GPUOutOfMemoryError' ? 'out of GPU memory' : 'GPU error'}: ` +
      `${error.message.split('\n')[0]}`;
  });
  return device;
}

/** Finds the best adapter (hardware before software) over this OS's APIs, once per process. */
function discover(): Promise<Discovery> {
  discovery ??= (async (): Promise<Discovery> => {
    let dawn: typeof import('webgpu');
    try {
      dawn = await import('webgpu');
    } catch (error) {
      return { ok: false, why: `the webgpu package (Dawn) could not be loaded (${message(error)})` };
    }
    // Linux without a display (CI, a server, the utility process): EGL then needs no window system.
    if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY)
      process.env.EGL_PLATFORM ??= 'surfaceless';
    const tried: string[] = [];
    let software: Found | null = null;
    for (const api of graphicsApis()) {
      try {
        const gpu = dawn.create([`backend=${DAWN_TOGGLE[api]}`]);
        const requested = await requestAdapter(gpu);
        if (!requested) {
          tried.push(`${api}: no adapter`);
          continue;
        }
        const info = requested.adapter.info as AdapterInfoLike;
        const adapter: WebGpuAdapter = {
          vendor: info.vendor ?? '',
          architecture: info.architecture ?? '',
          deviceName: info.device || info.description || '',
          api,
          featureLevel: requested.featureLevel,
          software: isSoftwareAdapter(info),
          maxBufferSize: requested.adapter.limits.maxBufferSize,
          maxStorageBufferBindingSize: requested.adapter.limits.maxStorageBufferBindingSize,
        };
        if (adapter.software && software) continue;
        instances.push(gpu);
        const found = { adapter, device: await openDevice(requested.adapter), info };
        if (!adapter.software) return { ok: true, found };
        software = found;
        tried.push(`${api}: only the software adapter ${adapter.deviceName}`);
      } catch (error) {
        tried.push(`${api}: ${message(error)}`);
      }
    }
    if (software) return { ok: true, found: software };
    return { ok: false, why: `Dawn found no GPU adapter (${tried.join('; ')})` };
  })();
  return discovery;
}

/** The adapter the `webgpu` backend runs on, once it has been found (else null). */
let active: WebGpuAdapter | null = null;

/** The adapter of the registered `webgpu` backend, or null before one was found. */
export function webGpuAdapter(): WebGpuAdapter | null {
  return active;
}

/** The first error the GPU device reported (out of memory, validation), or null. */
export function webGpuDeviceError(): string | null {
  return deviceError;
}

let registered = false;

async function registerBackend(found: Found): Promise<void> {
  if (registered) return;
  const globals = (await import('webgpu')).globals as Record<string, unknown>;
  for (const [name, value] of Object.entries(globals)) (globalThis as Record<string, unknown>)[name] ??= value;
  const { WebGPUBackend, webgpu_util } = await import('@tensorflow/tfjs-backend-webgpu');
  // Its import registers a factory of its own where `navigator.gpu` exists; that one asks for a
  // core adapter of the default API. Ours is the device found above.
  if (tf.findBackendFactory(WEBGPU_BACKEND)) tf.removeBackend(WEBGPU_BACKEND);
  // tfjs-backend-webgpu checks `navigator.gpu` before it will construct.
  const navigatorObject = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: unknown };
  if (!navigatorObject.gpu)
    Object.defineProperty(navigatorObject, 'gpu', { value: instances.at(-1), configurable: true });
  registerWebGpuKernels(webgpu_util);
  tf.registerBackend(WEBGPU_BACKEND, () => new WebGPUBackend(found.device, found.info as GPUAdapterInfo), 0);
  registered = true;
}

/** True when the Vulkan loader is where the dynamic linker would find it (LD_LIBRARY_PATH or the ldconfig cache). */
export function hasVulkanLoader(env: NodeJS.ProcessEnv = process.env): boolean {
  const dirs = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  if (dirs.some((dir) => fs.existsSync(path.join(dir, 'libvulkan.so.1')))) return true;
  const cache = spawnSync('ldconfig', ['-p'], {
    encoding: 'utf8',
    env: { ...env, PATH: `${env.PATH ?? ''}:/sbin:/usr/sbin` },
  });
  if (cache.status === 0) return /\blibvulkan\.so\.1\b/.test(cache.stdout);
  return ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib64', '/lib'].some(
    (dir) => fs.existsSync(path.join(dir, 'libvulkan.so.1')),
  );
}

/** The outcome of `attemptWebGpu`, in `selectBackend`'s shape. */
export type WebGpuAttempt =
  | { ok: true; tfBackend: string; device: string; adapter: WebGpuAdapter }
  | { ok: false; why: string };

/**
 * Finds an adapter, registers the `webgpu` TF.js backend on it and returns what to activate.
 * `allowSoftware` false (auto) refuses a software adapter, naming it.
 */
export async function attemptWebGpu(options: { allowSoftware: boolean }): Promise<WebGpuAttempt> {
  // A Linux GPU reaches Dawn through Vulkan. Without its loader Dawn could only find Mesa's
  // software rasteriser, which auto refuses anyway, and would print its own warnings on stderr
  // on every command: say it in one line instead, and leave Dawn unloaded.
  if (!options.allowSoftware && process.platform === 'linux' && !hasVulkanLoader()) {
    const why =
      'no Vulkan loader (libvulkan.so.1) on this machine: ' +
      "install the GPU's Vulkan driver to train on it (docs/GPU.md)";
    return { ok: false, why };
  }
  const found = await discover();
  if (!found.ok) return found;
  const { adapter } = found.found;
  if (adapter.software && !options.allowSoftware) {
    return {
      ok: false,
      why:
        `only a software adapter (${adapter.deviceName} via ${adapter.api}), ` +
        `slower than the CPU backends; ask for webgpu by name to use it`,
    };
  }
  try {
    await import('@tensorflow/tfjs-backend-cpu'); // tfjs-backend-webgpu imports its shared kernels
    await registerBackend(found.found);
  } catch (error) {
    return { ok: false, why: `@tensorflow/tfjs-backend-webgpu could not be loaded (${message(error)})` };
  }
  active = adapter;
  return { ok: true, tfBackend: WEBGPU_BACKEND, device: describeAdapter(adapter), adapter };
}
