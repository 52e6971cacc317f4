/**
 * Whether `@tensorflow/tfjs-node-gpu` can really use the GPU. It ships libtensorflow 2.9.1 built
 * for CUDA 11.2 and cuDNN 8.1: when those libraries are not on the loader's path, libtensorflow
 * still loads and quietly computes on the CPU; on a GPU newer than CUDA 11.2 knows (compute
 * capability above 8.6) its kernels are missing. Both are checked before the package is loaded,
 * so `auto` falls through to webgpu with one line naming what is missing.
 */
import { execFileSync } from 'node:child_process';

/** The CUDA 11.2 / cuDNN 8 libraries libtensorflow 2.9.1 opens, as each OS names them. */
export const TFJS_NODE_GPU_LIBRARIES: Partial<Record<NodeJS.Platform, readonly string[]>> = {
  linux: [
    'libcudart.so.11.0',
    'libcublas.so.11',
    'libcublasLt.so.11',
    'libcufft.so.10',
    'libcurand.so.10',
    'libcusolver.so.11',
    'libcusparse.so.11',
    'libcudnn.so.8',
  ],
  win32: [
    'cudart64_110.dll',
    'cublas64_11.dll',
    'cublasLt64_11.dll',
    'cufft64_10.dll',
    'curand64_10.dll',
    'cusolver64_11.dll',
    'cusparse64_11.dll',
    'cudnn64_8.dll',
  ],
};

/** The newest compute capability CUDA 11.2 (and so libtensorflow 2.9.1) has kernels for. */
export const NEWEST_COMPUTE_CAPABILITY = 8.6;

/** The first NVIDIA GPU's name and compute capability, or null without a driver. */
export interface NvidiaGpu {
  name: string;
  computeCapability: number | null;
}

/** Asks nvidia-smi for the first GPU (null when there is no driver or no GPU). */
export function nvidiaGpu(): NvidiaGpu | null {
  try {
    const output = execFileSync('nvidia-smi', ['--query-gpu=name,compute_cap', '--format=csv,noheader'], {
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const [name, capability] = (output.trim().split('\n')[0] ?? '').split(',').map((part) => part.trim());
    if (!name) return null;
    const computeCapability = Number.parseFloat(capability ?? '');
    return { name, computeCapability: Number.isFinite(computeCapability) ? computeCapability : null };
  } catch {
    return null;
  }
}

/**
 * Whether the dynamic loader finds `library`: Node's `process.dlopen` opens it (then complains
 * that it is no Node module, which means it was found) or fails with "cannot open shared object
 * file" / "could not be found".
 */
export function libraryLoads(library: string): boolean {
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, library);
    return true;
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    return !/cannot open shared object|no such file|could not be found|not found|image not found/i.test(text);
  }
}

/**
 * Why tfjs-node-gpu cannot use this GPU, or null when it can: the GPU is newer than its kernels,
 * or the first CUDA/cuDNN library the loader cannot find. `loads` is how a library is looked for.
 */
export function tfjsNodeGpuProblem(
  gpu: NvidiaGpu,
  platform: NodeJS.Platform = process.platform,
  loads: (library: string) => boolean = libraryLoads,
): string | null {
  if (gpu.computeCapability !== null && gpu.computeCapability > NEWEST_COMPUTE_CAPABILITY) {
    return (
      `${gpu.name} (compute capability ${gpu.computeCapability}) is newer than ` +
      `tfjs-node-gpu's CUDA 11.2 kernels (up to ${NEWEST_COMPUTE_CAPABILITY})`
    );
  }
  const libraries = TFJS_NODE_GPU_LIBRARIES[platform];
  if (!libraries) return `tfjs-node-gpu has no GPU build for ${platform}`;
  const missing = libraries.find((library) => !loads(library));
  return missing ? `${missing} not found: tfjs-node-gpu needs CUDA 11.2 and cuDNN 8.1 on the library path` : null;
}
