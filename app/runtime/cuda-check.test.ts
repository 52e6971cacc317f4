import { describe, expect, it } from 'vitest';
import { libraryLoads, NEWEST_COMPUTE_CAPABILITY, TFJS_NODE_GPU_LIBRARIES, tfjsNodeGpuProblem } from './cuda-check';

const linux = process.platform === 'linux';

describe('tfjs-node-gpu checks', () => {
  it('refuses a GPU newer than CUDA 11.2 has kernels for, naming it and its compute capability', () => {
    const problem = tfjsNodeGpuProblem({ name: 'NVIDIA H100 80GB HBM3', computeCapability: 9.0 }, 'linux', () => true);
    expect(problem).toBe(
      `NVIDIA H100 80GB HBM3 (compute capability 9) is newer than ` +
        `tfjs-node-gpu's CUDA 11.2 kernels (up to ${NEWEST_COMPUTE_CAPABILITY})`,
    );
  });

  it('accepts an Ampere GPU when every CUDA 11 / cuDNN 8 library is found', () => {
    expect(tfjsNodeGpuProblem({ name: 'NVIDIA RTX A4000', computeCapability: 8.6 }, 'linux', () => true)).toBeNull();
  });

  it('names the first library the loader cannot find', () => {
    const problem = tfjsNodeGpuProblem(
      { name: 'Tesla T4', computeCapability: 7.5 },
      'win32',
      (library) => !library.startsWith('cudnn'),
    );
    expect(problem).toBe('cudnn64_8.dll not found: tfjs-node-gpu needs CUDA 11.2 and cuDNN 8.1 on the library path');
  });

  it.runIf(linux)('finds a library the loader has and not one it lacks', () => {
    expect(libraryLoads('libm.so.6')).toBe(true);
    expect(libraryLoads('libmae-studio-no-such-library.so.1')).toBe(false);
  });

  it.runIf(linux && !libraryLoads('libcudart.so.11.0'))(
    'on this machine without CUDA 11, names libcudart as missing',
    () => {
      expect(TFJS_NODE_GPU_LIBRARIES.linux).toContain('libcudart.so.11.0');
      expect(tfjsNodeGpuProblem({ name: 'NVIDIA GeForce RTX 3060', computeCapability: 8.6 })).toBe(
        'libcudart.so.11.0 not found: tfjs-node-gpu needs CUDA 11.2 and cuDNN 8.1 on the library path',
      );
    },
  );
});
